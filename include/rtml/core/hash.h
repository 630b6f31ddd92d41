// Hashing used for feature hashing and the schema: XXH64 from libxxhash.
#pragma once

#include <cstdint>
#include <string_view>

// Inlined: a hashed categorical feature is a few bytes ("user_id=562934") hashed per
// event, where a call into the shared library costs as much as the hash.
#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

namespace rtml {

// 64-bit XXH64 of bytes with a seed. Stable across platforms and releases, so hashed
// feature indices saved in a model file stay valid.
inline uint64_t hash64(std::string_view bytes, uint64_t seed = 0) {
  return XXH64(bytes.data(), bytes.size(), seed);
}

// splitmix64's finalizer: spreads the bits of x over all 64 (a bijection).
inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace rtml
