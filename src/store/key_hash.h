// The hash of an entity key. Private to the store.
#pragma once

#include <xxhash.h>

#include <cstdint>
#include <cstring>
#include <string_view>

namespace rtml::store::detail {

// XXH64 of exactly 8 bytes (an integer key), written out so that it inlines into a get.
// A get spends its time waiting on memory, and the less work it does besides, the more
// the processor overlaps the next get's loads with this one's: in a stripped-down get
// without a lock, this and comparing keys as one word took a random get over 1M
// entities from 425-433 to 265-312 ns (in the full get the change is within noise).
// Equal to XXH64(bytes, 8, seed); a test checks it.
inline uint64_t xxh64_of_8_bytes(const char* bytes, uint64_t seed) {
  constexpr uint64_t k1 = 0x9E3779B185EBCA87ull, k2 = 0xC2B2AE3D27D4EB4Full,
                     k3 = 0x165667B19E3779F9ull, k4 = 0x85EBCA77C2B2AE63ull,
                     k5 = 0x27D4EB2F165667C5ull;
  auto rotl = [](uint64_t x, int r) { return (x << r) | (x >> (64 - r)); };
  uint64_t input;
  std::memcpy(&input, bytes, 8);  // XXH64 reads little-endian, as every target here is
  uint64_t h = seed + k5 + 8;
  h ^= rotl(input * k2, 31) * k1;
  h = rotl(h, 27) * k1 + k4;
  h ^= h >> 33;
  h *= k2;
  h ^= h >> 29;
  h *= k3;
  h ^= h >> 32;
  return h;
}

// XXH64 of the key's bytes, seeded by kind so that "42" and 42 differ. Stable across
// runs and machines: it places keys in shards, which snapshots record.
inline uint64_t key_hash(std::string_view bytes, bool is_int) {
  uint64_t seed = is_int ? 0x1d : 0x5a;
  if (bytes.size() == 8) return xxh64_of_8_bytes(bytes.data(), seed);
  return XXH64(bytes.data(), bytes.size(), seed);
}

}  // namespace rtml::store::detail
