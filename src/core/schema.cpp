#include "rtml/core/schema.h"

#include "rtml/core/binary_io.h"
#include "rtml/core/hash.h"

namespace rtml {

size_t StringHash::operator()(std::string_view s) const noexcept { return hash64(s); }

uint32_t Schema::intern(std::string_view name) {
  if (auto it = index_.find(name); it != index_.end()) return it->second;
  auto id = static_cast<uint32_t>(names_.size());
  names_.emplace_back(name);
  index_.emplace(names_.back(), id);
  return id;
}

std::optional<uint32_t> Schema::find(std::string_view name) const {
  if (auto it = index_.find(name); it != index_.end()) return it->second;
  return std::nullopt;
}

std::optional<uint32_t> Schema::CategoryTable::find(std::string_view value, uint64_t hash) const {
  if (slots.empty()) return std::nullopt;
  const size_t mask = slots.size() - 1;
  const uint64_t tag = hash << 32;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const uint64_t s = slots[i];
    if (s == 0) return std::nullopt;
    if ((s & ~uint64_t{0xffffffff}) == tag) {
      const auto id = static_cast<uint32_t>(s) - 1;
      if (names[id] == value) return id;
    }
  }
}

uint32_t Schema::CategoryTable::add(std::string_view value, uint64_t hash) {
  if ((names.size() + 1) * 2 > slots.size()) {
    // Grow to keep at most half the slots used, re-placing every entry by its tag.
    std::vector<uint64_t> old(slots.empty() ? 16 : slots.size() * 2, 0);
    old.swap(slots);
    const size_t mask = slots.size() - 1;
    for (uint64_t s : old) {
      if (s == 0) continue;
      size_t i = (s >> 32) & mask;
      while (slots[i] != 0) i = (i + 1) & mask;
      slots[i] = s;
    }
  }
  const auto id = static_cast<uint32_t>(names.size());
  names.emplace_back(value);
  const size_t mask = slots.size() - 1;
  size_t i = hash & mask;
  while (slots[i] != 0) i = (i + 1) & mask;
  slots[i] = (hash << 32) | (uint64_t{id} + 1);
  return id;
}

uint32_t Schema::intern_category(uint32_t column, std::string_view value) {
  if (column >= categories_.size()) categories_.resize(column + 1);
  auto& table = categories_[column];
  const uint64_t hash = hash64_short(value) & 0xffffffffu;
  if (auto id = table.find(value, hash)) return *id;
  return table.add(value, hash);
}

std::optional<uint32_t> Schema::intern_category(uint32_t column, std::string_view value,
                                                size_t limit) {
  if (column < categories_.size()) {
    const auto& table = categories_[column];
    if (auto id = table.find(value, hash64_short(value) & 0xffffffffu)) return id;
    if (table.names.size() >= limit) return std::nullopt;
  } else if (limit == 0) {
    return std::nullopt;
  }
  return intern_category(column, value);
}

std::optional<uint32_t> Schema::find_category(uint32_t column, std::string_view value) const {
  if (column >= categories_.size()) return std::nullopt;
  return categories_[column].find(value, hash64_short(value) & 0xffffffffu);
}

const std::string& Schema::category_name(uint32_t column, uint32_t id) const {
  return categories_.at(column).names.at(id);
}

size_t Schema::category_count(uint32_t column) const {
  return column < categories_.size() ? categories_[column].names.size() : 0;
}

void Schema::save(BinaryWriter& out) const {
  out.put<uint64_t>(names_.size());
  for (const auto& n : names_) out.put_string(n);
  out.put<uint64_t>(categories_.size());
  for (const auto& t : categories_) {
    out.put<uint64_t>(t.names.size());
    for (const auto& n : t.names) out.put_string(n);
  }
}

void Schema::load(BinaryReader& in) {
  *this = Schema();
  auto n = in.get<uint64_t>();
  for (uint64_t i = 0; i < n; ++i) intern(in.get_string());
  auto columns = in.get<uint64_t>();
  if (columns > n + 1) in.fail("schema category table count");
  for (uint64_t c = 0; c < columns; ++c) {
    auto k = in.get<uint64_t>();
    for (uint64_t i = 0; i < k; ++i) intern_category(static_cast<uint32_t>(c), in.get_string());
  }
  if (categories_.size() < columns) categories_.resize(columns);
}

std::string feature_name(const Schema& schema, uint32_t index) {
  if (index < schema.size()) return schema.name(index);
  return "#" + std::to_string(index);
}

}  // namespace rtml
