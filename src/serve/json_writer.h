// JsonWriter: appends many small pieces of JSON to a string through a buffer.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
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
    if (!plain(t)) {
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
    auto [end, ec] = std::to_chars(buf_ + used_, buf_ + used_ + 32, v);
    if (ec == std::errc()) used_ = static_cast<size_t>(end - buf_);
  }
  // A whole number.
  void number(uint64_t v) {
    if (kSize - used_ < 24) flush();
    used_ = static_cast<size_t>(std::to_chars(buf_ + used_, buf_ + used_ + 24, v).ptr - buf_);
  }
  // Appends what the buffer holds to out.
  void flush() {
    out_.append(buf_, used_);
    used_ = 0;
  }

 private:
  // True if t is printable ASCII without a quote or a backslash (written as it is). Eight
  // bytes at a time: an event id is checked at every prediction. May say false for a
  // plain text (then escaped by the slow road, to the same JSON), never true for another.
  static bool plain(std::string_view t) {
    constexpr uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    auto zero_byte = [](uint64_t v) { return (v - ones) & ~v & highs; };
    size_t i = 0;
    for (; i + 8 <= t.size(); i += 8) {
      uint64_t v;
      std::memcpy(&v, t.data() + i, 8);
      // A byte below 0x20, at or above 0x7f, a quote or a backslash.
      const uint64_t bad = ((v - ones * 0x20) | (v + ones * 0x01) | v) & highs;
      if (bad | zero_byte(v ^ (ones * '"')) | zero_byte(v ^ (ones * '\\'))) return false;
    }
    for (; i < t.size(); ++i) {
      auto u = static_cast<unsigned char>(t[i]);
      if (u < 0x20 || u >= 0x7f || u == '"' || u == '\\') return false;
    }
    return true;
  }

  static constexpr size_t kSize = 4096;
  std::string& out_;
  size_t used_ = 0;
  char buf_[kSize];
};

}  // namespace rtml::serve
