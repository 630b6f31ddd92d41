// Hashing used for feature hashing and the schema: XXH64 and XXH3 from libxxhash.
#pragma once

#include <cstdint>
#include <string>
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

// 64-bit XXH3 of bytes with a seed: about twice XXH64's speed on the short strings
// that category values are. Stable across platforms and releases (XXH3's output is
// frozen since xxHash 0.8), so hashed slots saved in a model file stay valid.
inline uint64_t hash64_short(std::string_view bytes, uint64_t seed = 0) {
  return XXH3_64bits_withSeed(bytes.data(), bytes.size(), seed);
}

// A categorical column's key for hashing its values: its name under the hasher's seed.
inline uint64_t category_column_key(std::string_view column, uint64_t seed) {
  return hash64_short(column, seed);
}

// A category's hash: its value under its column's key, so that one value in two columns
// hashes apart, without building "column=value" per event. Model files before version 4
// hashed the bytes "column=value" with hash64 instead (legacy_category_hash).
inline uint64_t category_hash(uint64_t column_key, std::string_view value) {
  return hash64_short(value, column_key);
}

// A category's hash as model files before version 4 gave it: hash64 of "column=value"
// under the seed, built in buffer (scratch, reused: no allocation once it has grown).
inline uint64_t legacy_category_hash(std::string& buffer, std::string_view column,
                                     std::string_view value, uint64_t seed) {
  buffer.assign(column);
  buffer += '=';
  buffer.append(value);
  return hash64(buffer, seed);
}

// splitmix64's finalizer: spreads the bits of x over all 64 (a bijection).
inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace rtml
