// HugePageAllocator: an allocator for large arrays read at random, backed by
// transparent huge pages where the kernel allows.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <new>

namespace rtml {

// A std::allocator for containers that grow large and are read at random (per-key
// aggregate rings, say). An array of 2 MiB or more is aligned to 2 MiB and madvised
// MADV_HUGEPAGE, so that the kernel backs it with huge pages: at random over hundreds
// of megabytes, nearly every access with 4 KiB pages misses the TLB, and a page walk
// under a hypervisor costs up to two dozen memory reads (measured: three sliding
// aggregates over 100,000 keys, 874-896 ns an event with 4 KiB pages, 650-667 ns
// with glibc's huge-page malloc). Smaller arrays come from operator new. If the kernel
// has transparent huge pages off, the advice does nothing and nothing else changes.
// Stateless; thread-safe as operator new is.
template <typename T>
class HugePageAllocator {
 public:
  using value_type = T;
  static constexpr size_t kHugePage = size_t{2} << 20;

  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}

  T* allocate(size_t n) {
    if (n > static_cast<size_t>(-1) / sizeof(T)) throw std::bad_array_new_length();
    size_t bytes = n * sizeof(T);
    if (bytes < kHugePage) return static_cast<T*>(::operator new(bytes, align()));
    size_t rounded = (bytes + kHugePage - 1) & ~(kHugePage - 1);
    void* p = std::aligned_alloc(kHugePage, rounded);
    if (!p) throw std::bad_alloc();
    ::madvise(p, rounded, MADV_HUGEPAGE);  // advice only: failure changes nothing
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t n) {
    if (n * sizeof(T) < kHugePage) {
      ::operator delete(p, align());
    } else {
      std::free(p);
    }
  }

  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const {
    return true;
  }

 private:
  static std::align_val_t align() { return std::align_val_t{alignof(T)}; }
};

}  // namespace rtml
