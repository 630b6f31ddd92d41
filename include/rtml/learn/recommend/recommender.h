// Recommender: a model over (user, item) events that ranks items for a user, and the
// index that gives users and items dense slots.
#pragma once

#include <bit>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "rtml/core/binary_io.h"
#include "rtml/core/features.h"
#include "rtml/learn/workspace.h"

namespace rtml {

// The key of a user or item: the category id of its column's value (the usual case), or
// the value itself when the column holds numbers (tagged apart by the top bit).
struct EntityKey {
  static constexpr uint64_t kCategoryTag = 1ull << 63;
  // Finds the value of column in x; false if x does not have it.
  static bool of(const Features& x, uint32_t column, uint64_t& key) {
    for (const auto& c : x.categories()) {
      if (c.column == column) {
        key = kCategoryTag | c.id;
        return true;
      }
    }
    for (const auto& f : x.numbers()) {
      if (f.index == column) {
        double v = f.value == 0 ? 0.0 : f.value;  // -0 and 0 are one user
        key = std::bit_cast<uint64_t>(v) >> 1;    // the top bit is the category tag
        return true;
      }
    }
    return false;
  }
  static bool is_category(uint64_t key) { return (key & kCategoryTag) != 0; }
  static uint32_t category(uint64_t key) { return static_cast<uint32_t>(key); }
  static double number(uint64_t key) { return std::bit_cast<double>(key << 1); }
};

// Dense slots 0, 1, 2, ... for entity keys, in order of first appearance. Looking up a
// known key allocates nothing. Not thread-safe.
class EntityIndex {
 public:
  std::optional<uint32_t> find(uint64_t key) const {
    auto it = slots_.find(key);
    if (it == slots_.end()) return std::nullopt;
    return it->second;
  }
  // The slot of key, added if new (then `added` is set).
  uint32_t find_or_add(uint64_t key, bool& added) {
    auto [it, inserted] = slots_.try_emplace(key, static_cast<uint32_t>(keys_.size()));
    added = inserted;
    if (inserted) keys_.push_back(key);
    return it->second;
  }
  uint64_t key(uint32_t slot) const { return keys_[slot]; }
  size_t size() const { return keys_.size(); }

  void save(BinaryWriter& out) const { out.put_vector(keys_); }
  void load(BinaryReader& in) {
    keys_ = in.get_vector<uint64_t>();
    slots_.clear();
    for (uint32_t i = 0; i < keys_.size(); ++i) {
      if (!slots_.emplace(keys_[i], i).second) in.fail("duplicate entity key");
    }
  }

 private:
  std::unordered_map<uint64_t, uint32_t> slots_;
  std::vector<uint64_t> keys_;
};

// One item of a top-k answer: its key (see EntityKey) and predicted score.
struct ScoredItem {
  uint64_t item;
  double score;
};

// A model that can rank every item it knows for a user. Not thread-safe.
class Recommender {
 public:
  virtual ~Recommender() = default;
  // Feature indices of the user and item columns.
  virtual uint32_t user_column() const = 0;
  virtual uint32_t item_column() const = 0;
  // Writes to out the k known items with the highest score for the user (and any other
  // context) in x, best first; x's item feature, if any, is ignored. Thread safety as
  // Model::predict with a workspace.
  virtual void top_k(const Features& x, size_t k, std::vector<ScoredItem>& out,
                     Workspace& workspace) const = 0;
};

}  // namespace rtml
