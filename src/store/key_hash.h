// The hash of an entity key. Private to the store.
#pragma once

#include <cstdint>
#include <string_view>

#include "rtml/core/hash.h"

namespace rtml::store::detail {

// XXH64 of the key's bytes, seeded by kind so that "42" and 42 differ. Stable across
// runs and machines: it places keys in shards, which snapshots record. Takes the bytes
// rather than an EntityKey so that a stored block's key hashes without a copy.
inline uint64_t key_hash(std::string_view bytes, bool is_int) {
  return hash64(bytes, is_int ? 0x1d : 0x5a);
}

}  // namespace rtml::store::detail
