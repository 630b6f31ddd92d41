// The hashing trick: feature names hashed into a fixed number of slots.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "rtml/learn/model.h"

namespace rtml {

class ParamSet;

// Maps each numeric feature "name" to slot hash(name) mod 2^bits (XXH64 with a seed) and
// each categorical feature to slot category_hash(column, value) mod 2^bits with value 1
// (XXH3 of the value under a key from the column's name and the seed). Colliding
// features add up. With alternate_sign, a second hash bit gives each name a sign, so
// collisions cancel out in expectation. Defaults: bits 20, seed 0, alternate_sign false.
//
// Categories should come hashed (Features::add_hashed_category, as Pipeline::add_category
// does when this step is the first to read categories): their slot is then taken from the
// hash alone and nothing is kept per category, so a stream of values that never repeat
// costs nothing here. Interned categories (column, id) are hashed once per id and cached,
// as are numeric feature names (one per schema name), when learned; a name not learned
// yet is hashed at each prediction.
class FeatureHasher final : public Transformer {
 public:
  static std::unique_ptr<Transformer> make(ParamSet& params);
  FeatureHasher(int bits, uint64_t seed, bool alternate_sign);

  std::string_view kind() const override { return "feature_hasher"; }
  void transform(const Features& in, Features& out, const Schema& schema) const override;
  // Caches the slots of the event's names (hashing a name is then done once).
  void learn(const Features& in, Schema& schema) override;
  // The seed that categories given hashed must be hashed with.
  uint64_t seed() const { return seed_; }
  // True for a step loaded from a model file before version 4, whose categories were
  // hash64("column=value", seed): categories given hashed must then be hashed that way
  // (Pipeline::add_category asks), and the step keeps doing so when saved again.
  bool legacy_category_hash() const { return legacy_category_hash_; }
  // The 64-bit hash of category value of column, under this step's scheme and seed.
  uint64_t category_hash(std::string_view column, std::string_view value) const;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;

 private:
  // Slot and sign of a hash: slot in the low bits, sign in bit 31.
  uint32_t code(uint64_t h) const;
  // The code of a name.
  uint32_t hash(std::string_view name) const;
  // The codes of a numeric feature and of an interned category (cached or not).
  uint32_t numeric_code(const Schema& schema, uint32_t index) const;
  uint32_t category_code(const Schema& schema, uint32_t column, uint32_t id) const;
  int bits_;
  uint64_t seed_;
  bool alternate_sign_;
  bool legacy_category_hash_ = false;
  std::vector<uint32_t> numeric_;                // by feature index: hash + 1 (0 = unset)
  std::vector<std::vector<uint32_t>> category_;  // [column][id]: hash + 1
};

}  // namespace rtml
