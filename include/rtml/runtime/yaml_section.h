// YamlSection: reads one mapping of a YAML config file (rtml run's, rtml serve's) with
// messages that name the file, the line and the key.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "rtml/core/error.h"

namespace rtml::runtime {

// text with each ${NAME} replaced by the environment variable NAME, and each
// ${NAME:-default} by NAME or, when it is unset or empty, default (as a shell does), so
// that one config file serves every worker. Throws Error naming file and line for an
// unset variable without a default or an unclosed ${.
inline std::string expand_environment(const std::string& text, const std::string& file) {
  std::string out;
  size_t line = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') ++line;
    if (text[i] != '$' || i + 1 >= text.size() || text[i + 1] != '{') {
      out += text[i];
      continue;
    }
    const size_t close = text.find('}', i + 2);
    if (close == std::string::npos || text.find('\n', i) < close) {
      throw Error(file + ":" + std::to_string(line) + ": '${' without its '}'");
    }
    std::string inner = text.substr(i + 2, close - i - 2);
    std::string fallback;
    bool has_fallback = false;
    if (size_t d = inner.find(":-"); d != std::string::npos) {
      fallback = inner.substr(d + 2);
      inner.resize(d);
      has_fallback = true;
    }
    const char* value = std::getenv(inner.c_str());
    if (value && *value) {
      out += value;
    } else if (has_fallback) {
      out += fallback;
    } else {
      throw Error(file + ":" + std::to_string(line) + ": the environment variable " + inner +
                  " is not set (write ${" + inner + ":-default} to give a default)");
    }
    i = close;
  }
  return out;
}

// Reads one YAML mapping, refusing keys it does not know (check_all_read). Every reader
// throws Error naming the file, the line and the key. Not thread-safe.
class YamlSection {
 public:
  YamlSection(const std::string& file, const YAML::Node& node, std::string name)
      : file_(file), node_(node), name_(std::move(name)) {
    if (!node_.IsMap()) fail(node_, "'" + name_ + "' must be a mapping of keys to values");
  }

  // Throws for any key that was not read.
  void check_all_read() const {
    for (const auto& kv : node_) {
      if (!kv.first.IsScalar()) {
        fail(kv.first, name_.empty() ? std::string("a key must be a name")
                                     : "a key of '" + name_ + "' must be a name");
      }
      std::string key = kv.first.as<std::string>();
      if (!read_.count(key)) {
        std::string known;
        for (const auto& k : read_) known += (known.empty() ? "" : ", ") + k;
        fail(kv.first, "unknown key '" + path(key) + "' (known here: " + known + ")");
      }
    }
  }

  std::string text(const std::string& key, bool required = false) {
    read_.insert(key);
    YAML::Node v = node_[key];
    if (!v) {
      if (required) fail(node_, "missing key '" + path(key) + "'");
      return "";
    }
    if (!v.IsScalar()) fail(v, "'" + path(key) + "' must be a single value");
    return v.as<std::string>();
  }

  // One of choices, or "" if absent.
  std::string choice(const std::string& key, const std::vector<std::string>& choices) {
    std::string t = text(key);
    if (t.empty()) return t;
    for (const auto& c : choices) {
      if (t == c) return t;
    }
    std::string list;
    for (const auto& c : choices) list += (list.empty() ? "'" : ", '") + c + "'";
    fail(node_[key], "'" + path(key) + "' must be one of " + list + ", got '" + t + "'");
  }

  std::vector<std::string> list(const std::string& key) {
    read_.insert(key);
    YAML::Node v = node_[key];
    std::vector<std::string> out;
    if (!v) return out;
    if (v.IsScalar()) return {v.as<std::string>()};
    if (!v.IsSequence()) fail(v, "'" + path(key) + "' must be a list of names");
    for (const auto& item : v) {
      if (!item.IsScalar()) fail(item, "'" + path(key) + "' must be a list of names");
      out.push_back(item.as<std::string>());
    }
    return out;
  }

  double number(const std::string& key, double fallback, double min, double max) {
    std::string t = text(key);
    if (t.empty()) return fallback;
    size_t used = 0;
    double x = 0;
    try {
      x = std::stod(t, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != t.size() || !(x >= min && x <= max)) {
      fail(node_[key], "'" + path(key) + "' must be a number from " + fmt(min) + " to " + fmt(max) +
                           ", got '" + t + "'");
    }
    return x;
  }

  // A mapping of names to single values under key, into out (nothing if absent).
  void text_map(const std::string& key, std::map<std::string, std::string>& out) {
    read_.insert(key);
    YAML::Node v = node_[key];
    if (!v) return;
    if (!v.IsMap()) fail(v, "'" + path(key) + "' must be a mapping of names to values");
    for (const auto& kv : v) {
      if (!kv.first.IsScalar() || !kv.second.IsScalar()) {
        fail(kv.first, "'" + path(key) + "' must map names to single values");
      }
      out[kv.first.as<std::string>()] = kv.second.as<std::string>();
    }
  }

  // The mappings of a list under key (each read as a YamlSection).
  std::vector<YamlSection> sections(const std::string& key) {
    read_.insert(key);
    YAML::Node v = node_[key];
    std::vector<YamlSection> out;
    if (!v) return out;
    if (!v.IsSequence()) fail(v, "'" + path(key) + "' must be a list");
    for (size_t i = 0; i < v.size(); ++i) {
      out.emplace_back(file_, v[i], path(key) + "[" + std::to_string(i) + "]");
    }
    return out;
  }

  std::optional<YamlSection> section(const std::string& key) {
    read_.insert(key);
    YAML::Node v = node_[key];
    if (!v) return std::nullopt;
    return YamlSection(file_, v, path(key));
  }

  // The raw value of key (marked read), or a null node: for shapes the readers above
  // do not cover.
  YAML::Node raw(const std::string& key) {
    read_.insert(key);
    return node_[key];
  }
  // The key as messages name it ("store.aggregates").
  std::string path(const std::string& key) const { return name_.empty() ? key : name_ + "." + key; }

  [[noreturn]] void fail(const YAML::Node& at, const std::string& what) const {
    throw Error(file_ + ":" + std::to_string(at.Mark().line + 1) + ": " + what);
  }

 private:
  static std::string fmt(double x) {
    if (std::isinf(x)) return "infinity";
    char b[32];
    std::snprintf(b, sizeof(b), "%g", x);
    return b;
  }

  std::string file_;
  YAML::Node node_;
  std::string name_;
  std::set<std::string> read_;
};

}  // namespace rtml::runtime
