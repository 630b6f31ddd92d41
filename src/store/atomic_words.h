// Word-by-word atomic copies into and out of memory that readers read without a lock.
// Private to the store.
//
// A shard's readers read an entity block while a writer may be rewriting it, and keep
// what they read only if the shard's version did not change meanwhile (a seqlock). For
// that race to be defined behaviour, and invisible to ThreadSanitizer, both sides touch
// the shared memory only through 8-byte atomic loads and stores. Stores are release and
// loads acquire, which orders them against the version without a fence (ThreadSanitizer
// does not model fences) and costs nothing more than plain moves on x86-64: a reader
// that loads a word stored after the version turned odd must then see the new version.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__SANITIZE_ADDRESS__)
// A reader may copy a block that a writer has just released (and the arena poisoned);
// the copy is thrown away when the version check fails, so the read is not a bug.
#define RTML_NO_SANITIZE_ADDRESS __attribute__((no_sanitize_address, noinline))
#else
#define RTML_NO_SANITIZE_ADDRESS
#endif

namespace rtml::store::detail {

// Stores w at p (8-byte aligned) atomically, with release order.
inline void store_word(void* p, uint64_t w) {
  __atomic_store_n(static_cast<uint64_t*>(p), w, __ATOMIC_RELEASE);
}

// Copies n bytes from src to dst (8-byte aligned) as whole words, the last one padded
// with zeros: dst must have room for n rounded up to 8.
inline void store_words(void* dst, const void* src, size_t n) {
  auto* d = static_cast<uint64_t*>(dst);
  const char* s = static_cast<const char*>(src);
  size_t full = n / 8;
  for (size_t i = 0; i < full; ++i) {
    uint64_t w;
    std::memcpy(&w, s + 8 * i, 8);
    store_word(d + i, w);
  }
  if (n % 8) {
    uint64_t w = 0;
    std::memcpy(&w, s + 8 * full, n % 8);
    store_word(d + full, w);
  }
}

// Loads the word at p (8-byte aligned) atomically, with acquire order.
RTML_NO_SANITIZE_ADDRESS inline uint64_t load_word(const void* p) {
  return __atomic_load_n(static_cast<const uint64_t*>(p), __ATOMIC_ACQUIRE);
}

// Copies `words` words from src to dst (both 8-byte aligned).
RTML_NO_SANITIZE_ADDRESS inline void load_words(uint64_t* dst, const void* src, size_t words) {
  const auto* s = static_cast<const uint64_t*>(src);
  for (size_t i = 0; i < words; ++i) dst[i] = __atomic_load_n(s + i, __ATOMIC_ACQUIRE);
}

}  // namespace rtml::store::detail
