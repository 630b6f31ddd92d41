// BadLineReporter: how rtml eval tells about the lines it skipped.
#pragma once

#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>

namespace rtml::cli {

// Prints the first few bad lines to stderr and counts the rest. Thread-safe.
class BadLineReporter {
 public:
  BadLineReporter(std::string source, size_t limit) : source_(std::move(source)), limit_(limit) {}
  void report(uint64_t line, const std::string& reason) {
    std::lock_guard lock(mu_);
    if (++count_ <= limit_) {
      std::fprintf(stderr, "rtml: %s:%llu: skipped: %s\n", source_.c_str(),
                   static_cast<unsigned long long>(line), reason.c_str());
    }
  }
  void summary() {
    std::lock_guard lock(mu_);
    if (count_ > limit_) {
      std::fprintf(stderr, "rtml: %s: %llu more lines skipped\n", source_.c_str(),
                   static_cast<unsigned long long>(count_ - limit_));
    }
  }

 private:
  std::mutex mu_;
  std::string source_;
  size_t limit_;
  uint64_t count_ = 0;
};

}  // namespace rtml::cli
