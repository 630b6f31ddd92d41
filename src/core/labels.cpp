#include "rtml/core/labels.h"

#include "rtml/core/binary_io.h"
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

void Labels::set_binary(std::string_view negative, std::string_view positive) {
  *this = Labels();
  names_ = {std::string(negative), std::string(positive)};
  index_.emplace(names_[0], 0);
  index_.emplace(names_[1], 1);
}

void Labels::set_positive(std::string_view positive) {
  *this = Labels();
  pending_positive_ = std::string(positive);
}

std::optional<uint32_t> Labels::find(std::string_view value) const {
  if (auto it = index_.find(value); it != index_.end()) return it->second;
  return std::nullopt;
}

std::optional<uint32_t> Labels::intern(std::string_view value, bool binary) {
  if (auto it = index_.find(value); it != index_.end()) return it->second;
  if (binary && pending_positive_) {
    // The positive class is index 1 whatever the order in which the values appear;
    // an empty name marks a slot not yet seen.
    if (names_.size() < 2) names_.resize(2);
    uint32_t slot = value == *pending_positive_ ? 1 : 0;
    if (!names_[slot].empty()) return std::nullopt;
    names_[slot] = std::string(value);
    index_.emplace(names_[slot], slot);
    // Both classes known: the same labels as set_binary() gives (and saves).
    if (!names_[0].empty() && !names_[1].empty()) pending_positive_.reset();
    return slot;
  }
  if (binary && names_.size() >= 2) return std::nullopt;
  auto id = static_cast<uint32_t>(names_.size());
  names_.emplace_back(value);
  index_.emplace(names_.back(), id);
  return id;
}

void Labels::save(BinaryWriter& out) const {
  out.put<uint64_t>(names_.size());
  for (const auto& n : names_) out.put_string(n);
  out.put<uint8_t>(pending_positive_.has_value());
  if (pending_positive_) out.put_string(*pending_positive_);
}

void Labels::load(BinaryReader& in) {
  *this = Labels();
  auto n = in.get<uint64_t>();
  for (uint64_t i = 0; i < n; ++i) {
    names_.push_back(in.get_string());
    if (!names_.back().empty()) index_.emplace(names_.back(), static_cast<uint32_t>(i));
  }
  if (in.get<uint8_t>()) pending_positive_ = in.get_string();
}

}  // namespace rtml
