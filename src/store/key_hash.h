// The hash of an entity key. Private to the store.
#pragma once

#include <cstdint>
#include <string_view>

// libxxhash's header, with its functions compiled inline here rather than called in the
// shared library: a get's hash then costs no call and no register saves. The saves are
// stores, and while a get waits on memory its stores cannot retire, so each one takes
// store-queue room that the next get needs to start its own loads (see MemoryStore).
#define XXH_INLINE_ALL
#include <xxhash.h>

namespace rtml::store::detail {

// XXH64 of the key's bytes, seeded by kind so that "42" and 42 differ. Stable across
// runs and machines: it places keys in shards, which snapshots record. Takes the bytes
// rather than an EntityKey so that a stored block's key hashes without a copy.
// An integer key's bytes are always 8.
[[gnu::always_inline]] inline uint64_t key_hash(std::string_view bytes, bool is_int) {
  // A constant length lets the compiler drop XXH64's loops for integer keys.
  if (is_int) return XXH64(bytes.data(), 8, 0x1d);
  return XXH64(bytes.data(), bytes.size(), 0x5a);
}

}  // namespace rtml::store::detail
