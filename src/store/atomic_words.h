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
#include <span>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

// Wide loads: where the processor has 16-byte vector loads, a reader's bulk reads (the
// short number read's feature ids and values) use them instead of 8-byte atomics: half
// the loads and stores, and a get short enough that the next one's loads issue while
// it waits on memory (see MemoryStore::Shard::read_numbers_fast). A vector load is not
// an atomic, so the race with a writer is one the language leaves undefined; it is the
// usual seqlock read (as in Linux and Folly), kept safe by what the compiler and the
// processor do guarantee: the loads stay between the two version loads (an acquire
// load before, reader_fence() after), and x86-64 does not reorder loads with loads. A
// torn value is thrown away by the version check. ThreadSanitizer cannot see vector
// loads as atomic, so its builds keep the word loads.
#if defined(__SSE2__) && !defined(__SANITIZE_THREAD__)
#define RTML_STORE_WIDE_LOADS 1
#endif

// Orders the data loads of a seqlock read before the version load that follows it.
// With word loads (acquire) nothing is needed; ThreadSanitizer does not model fences.
inline void reader_fence() {
#if RTML_STORE_WIDE_LOADS
  __atomic_thread_fence(__ATOMIC_ACQUIRE);
#endif
}

#if RTML_STORE_WIDE_LOADS
// 16 bytes at p, any alignment (see "Wide loads").
RTML_NO_SANITIZE_ADDRESS inline __m128i load_16(const void* p) {
  return _mm_loadu_si128(static_cast<const __m128i*>(p));
}
#endif

// Copies n doubles from src (8-byte aligned, shared with writers) to out.
inline void load_doubles(double* out, const char* src, size_t n) {
  size_t k = 0;
#if RTML_STORE_WIDE_LOADS
  for (; k + 2 <= n; k += 2)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + k), load_16(src + 8 * k));
#endif
  for (; k < n; ++k) {
    uint64_t w = load_word(src + 8 * k);
    std::memcpy(out + k, &w, 8);
  }
}

// Whether the n = want.size() 2-byte ids at src (2-byte aligned, shared with writers)
// equal want: 8 at a time with wide loads, then a word (4) at a time where src is
// 8-aligned (integer keys), else one at a time (text keys of most lengths).
inline bool ids_equal_at(const char* src, std::span<const uint16_t> want) {
  const size_t n = want.size();
  const char* w = reinterpret_cast<const char*>(want.data());
  size_t k = 0;
#if RTML_STORE_WIDE_LOADS
  for (; k + 8 <= n; k += 8) {
    __m128i a = load_16(src + 2 * k);
    __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 2 * k));
    if (_mm_movemask_epi8(_mm_cmpeq_epi16(a, b)) != 0xffff) return false;
  }
#endif
  uint64_t differ = 0;
  if (reinterpret_cast<uintptr_t>(src) & 7) {
    for (; k < n; ++k) {
      // A 2-aligned id never straddles two words: shift it out of its word.
      auto at = reinterpret_cast<uintptr_t>(src + 2 * k);
      uint64_t word = load_word(reinterpret_cast<const void*>(at & ~uintptr_t{7}));
      differ |= static_cast<uint16_t>(word >> (8 * (at & 7))) ^ want[k];
    }
    return differ == 0;
  }
  for (; k + 4 <= n; k += 4) {
    uint64_t x;
    std::memcpy(&x, w + 2 * k, 8);
    differ |= load_word(src + 2 * k) ^ x;
  }
  if (k < n) {
    // The last word holds n - k ids; the bytes after them are not ids.
    uint64_t x = 0;
    for (size_t j = k; j < n; ++j) x |= static_cast<uint64_t>(want[j]) << (16 * (j - k));
    uint64_t mask = ~uint64_t{0} >> (64 - 16 * (n - k));
    differ |= (load_word(src + 2 * k) & mask) ^ x;
  }
  return differ == 0;
}

}  // namespace rtml::store::detail
