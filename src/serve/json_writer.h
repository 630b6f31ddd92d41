// JsonWriter: appends many small pieces of JSON to a string through a buffer.
#pragma once

#include <fmt/compile.h>

#include <cmath>
#include <cstring>
#include <string>
#include <string_view>

#include "rtml/runtime/json_text.h"

namespace rtml::serve {

// Writes pieces (punctuation, texts, numbers) into a buffer of its own and appends the
// buffer to out when it is full and at flush(): a batch answer of a thousand
// predictions is some ten thousand pieces, and appending each to a std::string costs a
// call and a capacity check per piece. Texts that need escaping go through
// append_json_text. Flushes when destroyed. Not thread-safe (one per answer).
class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}
  ~JsonWriter() { flush(); }
  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;

  // Raw bytes (JSON the caller knows to be valid).
  void raw(std::string_view bytes) {
    if (bytes.size() > kSize - used_) {
      flush();
      if (bytes.size() > kSize) {
        out_.append(bytes);
        return;
      }
    }
    std::memcpy(buf_ + used_, bytes.data(), bytes.size());
    used_ += bytes.size();
  }
  void raw(char c) {
    if (used_ == kSize) flush();
    buf_[used_++] = c;
  }
  // text as a JSON string.
  void text(std::string_view t) {
    if (!runtime::is_plain_json_text(t)) {
      flush();
      runtime::append_json_text(out_, t);
      return;
    }
    raw('"');
    raw(t);
    raw('"');
  }
  // A number in its shortest exact form; null if it is not finite.
  void number(double v) {
    if (!std::isfinite(v)) return raw("null");
    if (kSize - used_ < 32) flush();
    used_ = static_cast<size_t>(fmt::format_to(buf_ + used_, FMT_COMPILE("{}"), v) - buf_);
  }
  // Appends what the buffer holds to out.
  void flush() {
    out_.append(buf_, used_);
    used_ = 0;
  }

 private:
  static constexpr size_t kSize = 4096;
  std::string& out_;
  size_t used_ = 0;
  char buf_[kSize];
};

}  // namespace rtml::serve
