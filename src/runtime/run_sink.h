// The sinks of rtml run: JSON Lines files (or stdout) that a resumed run cuts back.
// Private to the runtime module.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "rtml/core/error.h"
#include "rtml/runtime/json_text.h"

namespace rtml::runtime::detail {

// A JSON Lines sink: a file, standard output ("-"), or nothing (""). A file sink resumed
// from a checkpoint is cut back to the size it had then, so that what the run writes
// again after a crash appears once (as a streaming file sink rolls back an in-progress
// part file).
class Sink {
 public:
  static constexpr uint64_t kFresh = UINT64_MAX;
  Sink(const std::string& path, const std::string& what, uint64_t resume_at = kFresh) {
    if (path.empty()) return;
    if (path == "-") {
      f_ = stdout;
      return;
    }
    struct stat st;
    if (resume_at != kFresh && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      // Shorter than the checkpoint says: its tail was lost (a power loss before it
      // reached the disk); cutting "back" would pad it with zeros.
      if (static_cast<uint64_t>(st.st_size) < resume_at) {
        throw Error(path + ": the " + what + " sink holds " + std::to_string(st.st_size) +
                    " bytes, fewer than the " + std::to_string(resume_at) +
                    " the checkpoint recorded: it was cut or replaced");
      }
      f_ = std::fopen(path.c_str(), "r+");
      if (f_ && (::ftruncate(::fileno(f_), static_cast<off_t>(resume_at)) != 0 ||
                 std::fseek(f_, 0, SEEK_END) != 0)) {
        throw Error(path + ": cannot cut the " + what + " sink back to its checkpointed " +
                    std::to_string(resume_at) + " bytes: " + std::strerror(errno));
      }
    }
    if (!f_) f_ = std::fopen(path.c_str(), "w");
    if (!f_) throw Error(path + ": cannot create the " + what + " sink: " + std::strerror(errno));
    owned_ = true;
  }
  ~Sink() {
    if (owned_) std::fclose(f_);
  }
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;

  FILE* file() const { return f_; }
  void line(const std::string& text) {
    if (!f_) return;
    std::fwrite(text.data(), 1, text.size(), f_);
    std::fputc('\n', f_);
  }
  void flush() {
    if (f_) std::fflush(f_);
  }
  // Flushes to the OS and, for a file, to the disk (a checkpoint records the size);
  // returns the bytes written so far: 0 for stdout, a FIFO or none, which a resumed run
  // cannot cut back (their lines after the last checkpoint come again).
  uint64_t durable_bytes() {
    if (!f_) return 0;
    if (std::fflush(f_) != 0) {
      throw Error(std::string("cannot write a sink: ") + std::strerror(errno));
    }
    if (!owned_) return 0;
    long at = std::ftell(f_);
    if (at < 0) return 0;
    ::fsync(::fileno(f_));
    return static_cast<uint64_t>(at);
  }

 private:
  FILE* f_ = nullptr;
  bool owned_ = false;
};

using rtml::runtime::append_json_text;
using rtml::runtime::json_text;

}  // namespace rtml::runtime::detail
