// KeyIndex: entity keys to dense ids, for the per-entity arrays of streaming aggregates.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rtml/core/huge_page_allocator.h"

namespace rtml::features {

// Maps keys to ids 0, 1, 2, ... in order of first appearance; ids never change. An
// open-addressing table of 32-byte slots holding the key's hash, its id and, for keys
// of up to 19 bytes, the key itself: a lookup of such a key reads one slot, where a
// std::unordered_map reads a bucket and then a node elsewhere, and under a large
// working set (aggregate rings of 100,000 entities) each of those is a cache and TLB
// miss. Slots sit on huge pages (HugePageAllocator). Longer keys are compared with
// their copy in names(). Not thread-safe.
class KeyIndex {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;
  static constexpr size_t kInlineKey = 19;

  // The id of key, or kNone.
  uint32_t find(std::string_view key) const;
  // The id of key, which gets the next id if new.
  uint32_t intern(std::string_view key);
  // Every key, by id.
  const std::vector<std::string>& names() const { return names_; }
  size_t size() const { return names_.size(); }
  void clear();

 private:
  struct Slot {
    uint64_t hash = 0;
    uint32_t id = kNone;  // kNone: empty
    uint8_t length = 0;   // of the key when inline, else kLong
    char text[kInlineKey] = {};
  };
  static_assert(sizeof(Slot) == 32);
  static constexpr uint8_t kLong = 0xff;

  bool holds(const Slot& s, uint64_t hash, std::string_view key) const;
  // The slot holding key, or the empty one where it would go (slots_ not empty).
  size_t probe(uint64_t hash, std::string_view key) const;
  void grow();

  std::vector<Slot, HugePageAllocator<Slot>> slots_;  // a power of two, at most half full
  std::vector<std::string> names_;
};

}  // namespace rtml::features
