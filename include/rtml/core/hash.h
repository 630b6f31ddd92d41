// Hashing used for feature hashing and the schema: XXH64 from libxxhash.
#pragma once

#include <cstdint>
#include <string_view>

namespace rtml {

// 64-bit XXH64 of bytes with a seed. Stable across platforms and releases, so hashed
// feature indices saved in a model file stay valid.
uint64_t hash64(std::string_view bytes, uint64_t seed = 0);

}  // namespace rtml
