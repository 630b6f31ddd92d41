#include "rtml/core/labels.h"

#include <charconv>
#include <cmath>

#include "rtml/core/binary_io.h"
#include "rtml/core/error.h"
#include "rtml/core/target.h"

namespace rtml {

std::string_view task_name(Task task) {
  switch (task) {
    case Task::kBinary:
      return "binary";
    case Task::kMulticlass:
      return "multiclass";
    case Task::kRegression:
      return "regression";
  }
  return "unknown";
}

namespace {

// A class value that is wholly a finite number.
bool as_number(std::string_view text, double& out) {
  if (text.size() > 1 && text[0] == '+' && text[1] != '-') text.remove_prefix(1);  // "+1"
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && std::isfinite(out);
}

}  // namespace

bool class_value_less(std::string_view a, std::string_view b) {
  double x, y;
  if (as_number(a, x) && as_number(b, y)) return x < y;
  return a < b;
}

void Labels::set_binary(std::string_view negative, std::string_view positive) {
  *this = Labels();
  names_ = {std::string(negative), std::string(positive)};
  index_.emplace(names_[0], 0);
  index_.emplace(names_[1], 1);
  positive_ = std::string(positive);
  update_positive_index();
}

void Labels::set_positive(std::string_view positive) {
  *this = Labels();
  positive_ = std::string(positive);
}

void Labels::name_positive(std::string_view positive, std::string_view what) {
  if (names_.empty() && !positive_) {
    set_positive(positive);
    return;
  }
  if (positive_ == positive) return;
  const bool known = positive_index_ < names_.size() && !names_[positive_index_].empty();
  // Two classes seen: the positive one is decided; fewer: only a named one is.
  if (known && names_.size() >= 2 && names_[positive_index_] == positive) return;
  std::string classes;
  for (const auto& n : names_) {
    if (!n.empty()) classes += (classes.empty() ? "'" : ", '") + n + "'";
  }
  throw Error(std::string(what) + " " + std::string(positive) +
              ": the loaded model knows the classes " +
              (classes.empty() ? std::string("(none)") : classes) +
              (positive_ ? " and its positive class is '" + *positive_ + "'"
               : names_.size() >= 2
                   ? " and its positive class is '" + names_[positive_index_] + "'"
                   : " and its positive class is not decided: it is the greater of the first two"));
}

void Labels::update_positive_index() {
  if (positive_) {
    auto i = find(*positive_);
    positive_index_ = i ? *i : 1;
  } else {
    positive_index_ = names_.size() >= 2 && class_value_less(names_[1], names_[0]) ? 0 : 1;
  }
}

std::optional<uint32_t> Labels::find(std::string_view value) const {
  if (auto it = index_.find(value); it != index_.end()) return it->second;
  return std::nullopt;
}

std::optional<uint32_t> Labels::intern(std::string_view value, bool binary) {
  if (auto it = index_.find(value); it != index_.end()) return it->second;
  uint32_t id = positive_ && value == *positive_ ? 1 : 0;
  if (positive_ && (names_.size() < 2 || names_[id].empty())) {
    // The named positive class is index 1 whatever the order in which the values
    // appear, and the first other value index 0; an empty name marks a slot not yet
    // seen. (A multiclass target numbers the values after those two as they come.)
    if (names_.size() < 2) names_.resize(2);
    names_[id] = std::string(value);
  } else {
    if (binary && names_.size() >= 2) return std::nullopt;
    id = static_cast<uint32_t>(names_.size());
    names_.emplace_back(value);
  }
  index_.emplace(names_[id], id);
  if (names_.size() <= 2) update_positive_index();
  return id;
}

void Labels::save(BinaryWriter& out) const {
  out.put<uint64_t>(names_.size());
  for (const auto& n : names_) out.put_string(n);
  out.put<uint8_t>(positive_.has_value());
  if (positive_) out.put_string(*positive_);
  out.put(static_cast<uint8_t>(class_type_));
}

void Labels::load(BinaryReader& in) {
  *this = Labels();
  auto n = in.get<uint64_t>();
  for (uint64_t i = 0; i < n; ++i) {
    names_.push_back(in.get_string());
    if (!names_.back().empty()) index_.emplace(names_.back(), static_cast<uint32_t>(i));
  }
  if (in.get<uint8_t>()) positive_ = in.get_string();
  // Before version 3 of the model file, class 1 was the positive class of two.
  if (in.version() < 3 && !positive_ && names_.size() == 2) positive_ = names_[1];
  // Version 5 keeps the type the classes were given as (Python's values).
  if (in.version() >= 5) {
    const auto type = in.get<uint8_t>();
    if (type > static_cast<uint8_t>(ClassType::kFloat)) in.fail("class type");
    class_type_ = static_cast<ClassType>(type);
  }
  update_positive_index();
}

}  // namespace rtml
