// EventDedup: the ids of the most recent events, so that an event resent after a crash
// or a retry is applied once. Private to the store.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "rtml/core/binary_io.h"
#include "rtml/core/hash.h"
#include "rtml/store/types.h"

namespace rtml::store::detail {

// Remembers the last `capacity` (entity key, event id) pairs as 64-bit hashes; older
// ones are forgotten first in, first out. Not thread-safe: the store's event lock guards it.
class EventDedup {
 public:
  explicit EventDedup(size_t capacity = size_t{1} << 20) : capacity_(capacity) {}

  static uint64_t hash(const EntityKey& key, std::string_view id) { return hash64(id, key.hash()); }
  bool contains(uint64_t h) const { return set_.count(h) > 0; }
  void add(uint64_t h) {
    if (!set_.insert(h).second) return;
    if (ring_.size() < capacity_) {
      ring_.push_back(h);
      return;
    }
    set_.erase(ring_[next_]);
    ring_[next_] = h;
    next_ = (next_ + 1) % capacity_;
  }
  void save(BinaryWriter& out) const {
    out.put<uint64_t>(next_);
    out.put_vector(ring_);
  }
  void load(BinaryReader& in) {
    next_ = in.get<uint64_t>();
    ring_ = in.get_vector<uint64_t>();
    if (ring_.size() > capacity_ || (next_ && next_ >= ring_.size())) in.fail("event id ring");
    set_.clear();
    set_.insert(ring_.begin(), ring_.end());
  }

 private:
  size_t capacity_;
  std::vector<uint64_t> ring_;
  size_t next_ = 0;
  std::unordered_set<uint64_t> set_;
};

}  // namespace rtml::store::detail
