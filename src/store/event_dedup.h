// EventDedup: the ids of the most recent events, so that an event resent after a crash
// or a retry is applied once. Private to the store.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rtml/core/binary_io.h"
#include "rtml/core/hash.h"
#include "rtml/store/types.h"

namespace rtml::store::detail {

// A set of non-zero 64-bit hashes in one open-addressing table (linear probing,
// backward-shift deletion): no allocation per insert, unlike a node-based set, once the
// table has grown to the ring's size. Not thread-safe.
class HashSet64 {
 public:
  bool contains(uint64_t h) const {
    if (slots_.empty()) return false;
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      if (slots_[i] == h) return true;
      if (slots_[i] == 0) return false;
    }
  }
  // False if h was already there.
  bool insert(uint64_t h) {
    if ((count_ + 1) * 2 > slots_.size()) grow();
    size_t i = h & mask_;
    for (; slots_[i] != 0; i = (i + 1) & mask_) {
      if (slots_[i] == h) return false;
    }
    slots_[i] = h;
    ++count_;
    return true;
  }
  void erase(uint64_t h) {
    if (slots_.empty()) return;
    size_t i = h & mask_;
    for (; slots_[i] != h; i = (i + 1) & mask_) {
      if (slots_[i] == 0) return;
    }
    // Close the gap: move back any later member of the run whose home is at or before it.
    for (size_t j = (i + 1) & mask_; slots_[j] != 0; j = (j + 1) & mask_) {
      size_t home = slots_[j] & mask_;
      bool movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
      if (movable) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i] = 0;
    --count_;
  }
  void clear() {
    slots_.clear();
    count_ = 0;
    mask_ = 0;
  }

 private:
  void grow() {
    std::vector<uint64_t> old;
    old.swap(slots_);
    slots_.assign(old.empty() ? 64 : old.size() * 2, 0);
    mask_ = slots_.size() - 1;
    count_ = 0;
    for (uint64_t h : old) {
      if (h != 0) insert(h);
    }
  }
  std::vector<uint64_t> slots_;
  size_t count_ = 0, mask_ = 0;
};

// Remembers the last `capacity` (entity key, event id) pairs as 64-bit hashes; older
// ones are forgotten first in, first out. Not thread-safe: the store's event lock guards it.
class EventDedup {
 public:
  explicit EventDedup(size_t capacity = size_t{1} << 20) : capacity_(capacity) {}

  // Never 0, which the set uses for an empty slot.
  static uint64_t hash(const EntityKey& key, std::string_view id) {
    uint64_t h = hash64(id, key.hash());
    return h != 0 ? h : 1;
  }
  bool contains(uint64_t h) const { return set_.contains(h); }
  void add(uint64_t h) {
    if (!set_.insert(h)) return;
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
    for (uint64_t h : ring_) {
      if (h == 0) in.fail("event id hash");
      set_.insert(h);
    }
  }

 private:
  size_t capacity_;
  std::vector<uint64_t> ring_;
  size_t next_ = 0;
  HashSet64 set_;
};

}  // namespace rtml::store::detail
