// Entity: one entity's features packed in a single heap block, so that a number costs
// 14 bytes (2 for the feature id, 8 for the value, 4 for the write time) and an entity
// one allocation. Private to the store.
#pragma once

#include <bit>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include "atomic_words.h"
#include "rtml/store/types.h"

namespace rtml::store::detail {

// Blocks in the store are 8-byte aligned and written only through atomic_words.h (see
// there); make() builds a block in private memory.
// Layout (version 2): an 8-byte header (u32 block size, u16 slots, u16 key length with
// two flags in its top bits), the key, uint16 feature ids[n], uint64 values[n] (8-
// aligned), uint32 times[n], then a data region for category text and vectors. A value
// of a category or vector holds (offset << 32 | length in bytes) into the data region.
// What a number read needs (header, key, ids, values) comes first and together: 96
// bytes for an integer key and 8 numbers, two cache lines where the block starts in the
// first half of a line; every line a read touches costs it (measured on a minimal get
// over 1M entities: reading the header's line besides the values' two, 140 -> 200 ns).
class Entity {
 public:
  struct Slot {
    uint16_t feature;
    uint32_t time;
    FeatureType type;
    double number;
    std::string_view data;  // category text or vector bytes
  };

  // The size of the block make() builds.
  static size_t size_for(std::string_view key, std::span<const Slot> slots);
  // Builds a block for key with slots (sorted by feature id) in memory of size_for()
  // bytes.
  static Entity* make(void* memory, std::string_view key, bool key_is_int,
                      std::span<const Slot> slots);

  std::string_view key() const { return {base() + sizeof(Header), key_len()}; }
  bool key_is_int() const { return h().key & kIntKey; }
  uint16_t size() const { return h().n; }
  uint16_t feature(size_t i) const { return features()[i]; }
  uint32_t time(size_t i) const { return times()[i]; }
  // Index of the slot of feature f, or -1.
  int find(uint16_t f) const {
    const uint16_t* ids = features();
    for (int i = 0; i < h().n; ++i) {
      if (ids[i] == f) return i;
    }
    return -1;
  }
  // find(f), trying slot `hint` first: readers ask for features in the order of their
  // ids more often than not, and then each is found in one compare.
  int find(uint16_t f, int hint) const {
    if (hint < h().n && features()[hint] == f) return hint;
    return find(f);
  }
  double number(size_t i) const {
    double d;
    std::memcpy(&d, &values()[i], 8);
    return d;
  }
  std::string_view data(size_t i) const {
    uint64_t v = values()[i];
    return {data_region() + (v >> 32), static_cast<size_t>(v & 0xffffffffu)};
  }
  // Overwrites a number in place (the slot must hold a number). Lock-free readers may
  // be copying the block, so each changed word is stored whole and atomically.
  void set_number(size_t i, double v, uint32_t time) {
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    store_word(&values()[i], bits);
    // A time is 4-aligned, so it lies inside one 8-byte word of the (8-aligned) block.
    size_t at = times_offset() + 4 * i;
    char* word = base() + (at & ~size_t{7});
    uint64_t w;
    std::memcpy(&w, word, 8);
    std::memcpy(reinterpret_cast<char*>(&w) + (at & 7), &time, 4);
    store_word(word, w);
  }
  size_t bytes() const { return h().bytes; }
  // The header's key field: the key's length in its low bits, and two flags.
  static constexpr uint16_t kKeyLengthMask = 0x1fff;
  static constexpr uint16_t kIntKey = 0x8000;
  // Every slot holds a number: number readers need no type lookups.
  static constexpr uint16_t kAllNumbers = 0x4000;
  // The offsets of a block's parts, from its header's slot count and key length.
  struct Offsets {
    size_t ids, values, times, data;
    Offsets(size_t n, size_t key_len) {
      ids = align(8 + key_len, 2);
      values = align(ids + 2 * n, 8);
      times = values + 8 * n;
      data = times + 4 * n;
    }
  };

  // All slots, with types looked up by type_of(feature id).
  template <typename TypeOf>
  void slots(std::vector<Slot>& out, TypeOf type_of) const {
    out.clear();
    for (size_t i = 0; i < size(); ++i) {
      Slot s{feature(i), time(i), type_of(feature(i)), 0.0, {}};
      if (s.type == FeatureType::kNumber) {
        s.number = number(i);
      } else {
        s.data = data(i);
      }
      out.push_back(s);
    }
  }

 private:
  struct Header {
    uint32_t bytes;
    uint16_t n;
    uint16_t key;  // length | kIntKey | kAllNumbers
  };
  static size_t align(size_t v, size_t a) { return (v + a - 1) & ~(a - 1); }
  const char* base() const { return reinterpret_cast<const char*>(this); }
  char* base() { return reinterpret_cast<char*>(this); }
  const Header& h() const { return *reinterpret_cast<const Header*>(this); }
  size_t key_len() const { return h().key & kKeyLengthMask; }
  Offsets offsets() const { return Offsets(h().n, key_len()); }
  const uint16_t* features() const {
    return reinterpret_cast<const uint16_t*>(base() + offsets().ids);
  }
  size_t times_offset() const { return offsets().times; }
  const uint32_t* times() const {
    return reinterpret_cast<const uint32_t*>(base() + times_offset());
  }
  const uint64_t* values() const {
    return reinterpret_cast<const uint64_t*>(base() + offsets().values);
  }
  uint64_t* values() { return reinterpret_cast<uint64_t*>(base() + offsets().values); }
  const char* data_region() const { return base() + offsets().data; }
};

inline size_t Entity::size_for(std::string_view key, std::span<const Slot> slots) {
  size_t total = Offsets(slots.size(), key.size()).data;
  for (const auto& s : slots) total += s.type == FeatureType::kNumber ? 0 : s.data.size();
  return total;
}

inline Entity* Entity::make(void* memory, std::string_view key, bool key_is_int,
                            std::span<const Slot> slots) {
  size_t n = slots.size();
  Offsets at(n, key.size());
  bool all_numbers = true;
  for (const auto& s : slots) all_numbers &= s.type == FeatureType::kNumber;
  auto* e = static_cast<Entity*>(memory);
  char* b = reinterpret_cast<char*>(e);
  Header h{static_cast<uint32_t>(size_for(key, slots)), static_cast<uint16_t>(n),
           static_cast<uint16_t>(key.size() | (key_is_int ? kIntKey : 0) |
                                 (all_numbers ? kAllNumbers : 0))};
  std::memcpy(b, &h, sizeof(h));
  std::memcpy(b + sizeof(Header), key.data(), key.size());
  size_t used = 0;
  for (size_t i = 0; i < n; ++i) {
    const Slot& s = slots[i];
    std::memcpy(b + at.ids + 2 * i, &s.feature, 2);
    std::memcpy(b + at.times + 4 * i, &s.time, 4);
    uint64_t v;
    if (s.type == FeatureType::kNumber) {
      std::memcpy(&v, &s.number, 8);
    } else {
      // An empty vector's data() may be null, which memcpy must not get even for 0 bytes.
      if (!s.data.empty()) std::memcpy(b + at.data + used, s.data.data(), s.data.size());
      v = (static_cast<uint64_t>(used) << 32) | s.data.size();
      used += s.data.size();
    }
    std::memcpy(b + at.values + 8 * i, &v, 8);
  }
  return e;
}

// A reading of an entity block that a writer may be changing, for lock-free readers
// (see MemoryStore): every access is an aligned 8-byte atomic load, and offsets come
// from the first word alone, which is always some block's consistent header, so a read
// never leaves the memory of the block the caller was pointed to. What it returns means
// something only if the caller's version check then holds.
class EntityWords {
 public:
  explicit EntityWords(const char* block) : block_(block) {
    uint64_t w = load_word(block);
    bytes_ = static_cast<uint32_t>(w);
    n_ = static_cast<uint16_t>(w >> 32);
    key_ = static_cast<uint16_t>(w >> 48);
    key_len_ = key_ & Entity::kKeyLengthMask;
    Entity::Offsets at(n_, key_len_);
    ids_ = at.ids;
    values_ = at.values;
    times_ = at.times;
    ok_ = at.data <= bytes_;
  }
  // False if the first word is not the header of a block with this layout (then the
  // block is being rewritten, and the version check will fail).
  bool ok() const { return ok_; }
  // The block's size in bytes, from its header.
  size_t bytes() const { return bytes_; }
  bool key_is_int() const { return key_ & Entity::kIntKey; }
  // Whether the header says every slot holds a number (Entity::kAllNumbers).
  bool all_numbers() const { return key_ & Entity::kAllNumbers; }
  // The number of slots.
  uint16_t size() const { return n_; }
  // Whether the stored key has these bytes (and kind).
  bool key_equals(std::string_view key, bool is_int) const {
    if (key.size() != key_len_ || key_is_int() != is_int) return false;
    return key_bytes_equal(block_, key);
  }
  // Whether the key bytes of the block at `block` (whose header gives key.size() as the
  // key's length) equal key.
  static bool key_bytes_equal(const char* block, std::string_view key) {
    const size_t n = key.size();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      uint64_t want;
      std::memcpy(&want, key.data() + i, 8);
      if (load_word(block + kKeyAt + i) != want) return false;
    }
    if (i == n) return true;
    // The last, partial word. From a key of 8 bytes or more, the 8 bytes ending at its
    // end, shifted; from a shorter one, gathered byte by byte (a memcpy of variable
    // length would be a call).
    size_t rest = n - i;
    uint64_t want = 0;
    if (n >= 8) {
      std::memcpy(&want, key.data() + n - 8, 8);
      want >>= 8 * (8 - rest);
    } else {
      for (size_t j = 0; j < rest; ++j)
        want |= static_cast<uint64_t>(static_cast<uint8_t>(key[i + j])) << (8 * j);
    }
    uint64_t mask = ~uint64_t{0} >> (8 * (8 - rest));
    return (load_word(block + kKeyAt + i) & mask) == want;
  }
  uint16_t feature(size_t i) const { return part<uint16_t>(ids_ + 2 * i); }
  uint32_t time(size_t i) const { return part<uint32_t>(times_ + 4 * i); }
  double number(size_t i) const {
    uint64_t w = load_word(block_ + values_ + 8 * i);
    double d;
    std::memcpy(&d, &w, 8);
    return d;
  }
  // Whether the slots hold exactly these feature ids, in this order (size() must equal
  // ids.size()); see ids_equal_at.
  bool ids_equal(std::span<const uint16_t> ids) const { return ids_equal_at(block_ + ids_, ids); }
  // Index of feature f's slot, or -1, trying slot `hint` first (see Entity::find).
  int find(uint16_t f, int hint) const {
    if (hint < n_ && feature(hint) == f) return hint;
    for (int i = 0; i < n_; ++i) {
      if (feature(i) == f) return i;
    }
    return -1;
  }

 private:
  static constexpr size_t kKeyAt = 8;  // after the header
  // The T at byte `at` (aligned to sizeof(T), so within one word).
  // Shifted out of the word rather than copied out of it: a copy at a variable offset
  // goes through the stack, and stores are what a get must not spend (see MemoryStore).
  template <typename T>
  T part(size_t at) const {
    static_assert(std::endian::native == std::endian::little);
    uint64_t w = load_word(block_ + (at & ~size_t{7}));
    return static_cast<T>(w >> (8 * (at & 7)));
  }

  const char* block_;
  uint32_t bytes_;
  uint16_t n_, key_, key_len_;
  size_t ids_, values_, times_;
  bool ok_;
};

}  // namespace rtml::store::detail
