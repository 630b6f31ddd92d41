#include "rtml/core/params.h"

#include <charconv>
#include <cmath>

#include "rtml/core/error.h"

namespace rtml {

const std::string* ParamSet::lookup(const std::string& name) {
  auto it = given_.find(name);
  return it == given_.end() ? nullptr : &it->second;
}

namespace {
std::string format_number(double v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}
}  // namespace

double ParamSet::number(const std::string& name, double fallback) {
  double v = fallback;
  if (const auto* s = lookup(name)) {
    auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
    if (ec != std::errc() || p != s->data() + s->size() || !std::isfinite(v)) {
      throw Error(component_ + ": parameter '" + name + "' expects a number, got '" + *s + "'");
    }
  }
  used_.emplace_back(name, format_number(v));
  return v;
}

int64_t ParamSet::integer(const std::string& name, int64_t fallback) {
  int64_t v = fallback;
  if (const auto* s = lookup(name)) {
    auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
    if (ec != std::errc() || p != s->data() + s->size()) {
      throw Error(component_ + ": parameter '" + name + "' expects an integer, got '" + *s + "'");
    }
  }
  used_.emplace_back(name, std::to_string(v));
  return v;
}

bool ParamSet::boolean(const std::string& name, bool fallback) {
  bool v = fallback;
  if (const auto* s = lookup(name)) {
    if (*s == "true" || *s == "1") {
      v = true;
    } else if (*s == "false" || *s == "0") {
      v = false;
    } else {
      throw Error(component_ + ": parameter '" + name + "' expects true or false, got '" + *s +
                  "'");
    }
  }
  used_.emplace_back(name, v ? "true" : "false");
  return v;
}

std::string ParamSet::text(const std::string& name, const std::string& fallback) {
  std::string v = fallback;
  if (const auto* s = lookup(name)) v = *s;
  // Quoted in canonical() when it would not read back as one bare value.
  bool bare = !v.empty() && v.find_first_of(",() \t'\"") == std::string::npos;
  char quote = v.find('\'') == std::string::npos ? '\'' : '"';
  used_.emplace_back(name, bare ? v : quote + v + quote);
  return v;
}

std::string ParamSet::choice(const std::string& name, const std::string& fallback,
                             const std::vector<std::string>& choices) {
  std::string v = fallback;
  if (const auto* s = lookup(name)) {
    v = *s;
    bool ok = false;
    for (const auto& c : choices) ok = ok || c == v;
    if (!ok) {
      std::string list;
      for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
      throw Error(component_ + ": parameter '" + name + "' must be one of " + list + ", got '" + v +
                  "'");
    }
  }
  used_.emplace_back(name, v);
  return v;
}

std::string ParamSet::expression(const std::string& name, const std::string& fallback) {
  std::string v = fallback;
  if (const auto* s = lookup(name)) v = *s;
  used_.emplace_back(name, v);
  return v;
}

void ParamSet::set_canonical(const std::string& name, std::string text) {
  for (auto& u : used_) {
    if (u.first == name) u.second = std::move(text);
  }
}

void ParamSet::finish() const {
  for (const auto& [k, v] : given_) {
    bool known = false;
    for (const auto& u : used_) known = known || u.first == k;
    if (!known) {
      std::string valid;
      for (const auto& u : used_) valid += (valid.empty() ? "" : ", ") + u.first;
      throw Error(component_ + ": unknown parameter '" + k +
                  "' (valid: " + (valid.empty() ? std::string("none") : valid) + ")");
    }
  }
}

std::string ParamSet::canonical() const {
  if (used_.empty()) return component_;
  std::string s = component_ + "(";
  for (size_t i = 0; i < used_.size(); ++i) {
    if (i) s += ", ";
    s += used_[i].first + "=" + used_[i].second;
  }
  return s + ")";
}

}  // namespace rtml
