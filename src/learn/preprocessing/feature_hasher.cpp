#include "rtml/learn/preprocessing/feature_hasher.h"

#include <string>

#include "rtml/core/binary_io.h"
#include "rtml/core/error.h"
#include "rtml/core/hash.h"
#include "rtml/core/params.h"

namespace rtml {

std::unique_ptr<Transformer> FeatureHasher::make(ParamSet& p) {
  auto bits = p.integer("bits", 20);
  if (bits < 1 || bits > 30) throw Error("feature_hasher: bits must be in [1, 30]");
  auto seed = p.integer("seed", 0);
  bool sign = p.boolean("alternate_sign", false);
  return std::make_unique<FeatureHasher>(static_cast<int>(bits), static_cast<uint64_t>(seed), sign);
}

FeatureHasher::FeatureHasher(int bits, uint64_t seed, bool alternate_sign)
    : bits_(bits), seed_(seed), alternate_sign_(alternate_sign) {}

uint32_t FeatureHasher::code(uint64_t h) const {
  uint32_t slot = static_cast<uint32_t>(h & ((uint64_t{1} << bits_) - 1));
  if (alternate_sign_ && (h >> 63)) slot |= 0x80000000u;
  return slot;
}

uint32_t FeatureHasher::hash(std::string_view name) const { return code(hash64(name, seed_)); }

uint64_t FeatureHasher::category_hash(std::string_view column, std::string_view value) const {
  if (legacy_category_hash_) {
    std::string buffer;
    return rtml::legacy_category_hash(buffer, column, value, seed_);
  }
  return rtml::category_hash(category_column_key(column, seed_), value);
}

void FeatureHasher::save(BinaryWriter& out) const {
  out.put<uint8_t>(legacy_category_hash_ ? 0 : 1);
}

void FeatureHasher::load(BinaryReader& in) {
  // Files before version 4 kept nothing for this step and hashed "column=value".
  if (in.version() < 4) {
    legacy_category_hash_ = true;
    return;
  }
  auto scheme = in.get<uint8_t>();
  if (scheme > 1) in.fail("feature_hasher category hash scheme");
  legacy_category_hash_ = scheme == 0;
}

uint32_t FeatureHasher::numeric_code(const Schema& schema, uint32_t index) const {
  if (index < numeric_.size() && numeric_[index] != 0) return numeric_[index] - 1;
  return hash(feature_name(schema, index));
}

uint32_t FeatureHasher::category_code(const Schema& schema, uint32_t column, uint32_t id) const {
  if (column < category_.size() && id < category_[column].size() && category_[column][id] != 0) {
    return category_[column][id] - 1;
  }
  return code(category_hash(schema.name(column), schema.category_name(column, id)));
}

void FeatureHasher::transform(const Features& in, Features& out, const Schema& schema) const {
  out.clear();
  auto emit = [&](uint32_t code, double value) {
    bool negative = code & 0x80000000u;
    out.add(code & 0x7fffffffu, negative ? -value : value);
  };
  for (const auto& f : in.numbers()) emit(numeric_code(schema, f.index), f.value);
  for (const auto& c : in.categories()) emit(category_code(schema, c.column, c.id), 1.0);
  for (uint64_t h : in.hashed_categories()) emit(code(h), 1.0);
}

void FeatureHasher::learn(const Features& in, Schema& schema) {
  for (const auto& f : in.numbers()) {
    if (f.index >= numeric_.size()) numeric_.resize(f.index + 1, 0);
    uint32_t& slot = numeric_[f.index];
    if (slot == 0) slot = hash(feature_name(schema, f.index)) + 1;
  }
  for (const auto& c : in.categories()) {
    if (c.column >= category_.size()) category_.resize(c.column + 1);
    auto& table = category_[c.column];
    if (c.id >= table.size()) table.resize(c.id + 1, 0);
    uint32_t& slot = table[c.id];
    if (slot == 0) {
      slot = code(category_hash(schema.name(c.column), schema.category_name(c.column, c.id))) + 1;
    }
  }
}

}  // namespace rtml
