// Text as a JSON string, for the JSON that rtml writes (prediction sinks, HTTP answers).
#pragma once

#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace rtml::runtime {

// True if text is printable ASCII without a quote or a backslash: its JSON string is
// the text quoted as it is. Eight bytes at a time (an event id is checked at every
// prediction answered).
inline bool is_plain_json_text(std::string_view text) {
  constexpr uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  auto zero_byte = [](uint64_t v) { return (v - ones) & ~v & highs; };
  size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    uint64_t v;
    std::memcpy(&v, text.data() + i, 8);
    // A byte below 0x20, at or above 0x7f (a borrow or carry between bytes only comes
    // from such a byte), a quote or a backslash.
    const uint64_t bad = ((v - ones * 0x20) | (v + ones * 0x01) | v) & highs;
    if (bad | zero_byte(v ^ (ones * '"')) | zero_byte(v ^ (ones * '\\'))) return false;
  }
  for (; i < text.size(); ++i) {
    auto u = static_cast<unsigned char>(text[i]);
    if (u < 0x20 || u >= 0x7f || u == '"' || u == '\\') return false;
  }
  return true;
}

// Appends text to out as a JSON string: quoted as it is when it is plain (event ids,
// class names), else through nlohmann (escapes, invalid UTF-8 replaced).
inline void append_json_text(std::string& out, std::string_view text) {
  if (!is_plain_json_text(text)) {
    out += nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return;
  }
  out += '"';
  out += text;
  out += '"';
}

inline std::string json_text(std::string_view text) {
  std::string out;
  append_json_text(out, text);
  return out;
}

}  // namespace rtml::runtime
