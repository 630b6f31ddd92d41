// BadLineReporter: how rtml eval tells about the lines it skipped.
#pragma once

#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <utility>

namespace rtml::cli {

// Prints the first `limit` bad lines to stderr and counts the rest; keeps the first one's
// line and reason, which an error can quote when no line was good. Thread-safe: the
// decoding thread and the learning thread both report.
class BadLineReporter {
 public:
  BadLineReporter(std::string source, size_t limit) : source_(std::move(source)), limit_(limit) {}
  void report(uint64_t line, const std::string& reason) {
    std::lock_guard lock(mu_);
    if (count_ == 0) {
      first_line_ = line;
      first_reason_ = reason;
    }
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
  // How many lines were reported, and the first of them (0 and "" if none).
  uint64_t count() {
    std::lock_guard lock(mu_);
    return count_;
  }
  std::pair<uint64_t, std::string> first() {
    std::lock_guard lock(mu_);
    return {first_line_, first_reason_};
  }

 private:
  std::mutex mu_;
  std::string source_;
  size_t limit_;
  uint64_t count_ = 0;
  uint64_t first_line_ = 0;
  std::string first_reason_;
};

}  // namespace rtml::cli
