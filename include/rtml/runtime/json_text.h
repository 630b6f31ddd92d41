// Text as a JSON string, for the JSON that rtml writes (prediction sinks, HTTP answers).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace rtml::runtime {

// Appends text to out as a JSON string: quoted as it is when it holds only printable
// ASCII without quotes or backslashes (event ids, class names), else through nlohmann
// (escapes, invalid UTF-8 replaced).
inline void append_json_text(std::string& out, std::string_view text) {
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '"' || c == '\\') {
      out += nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      return;
    }
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
