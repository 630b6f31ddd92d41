// Equality and copies of short texts (feature names) without a call to memcmp/memcpy.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace rtml {

// a == b, comparing texts of up to 16 bytes with two overlapping loads each instead of a
// library call: a stream's feature names are compared with the last event's at every
// event, and a call costs more than the comparison.
inline bool same_text(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  if (n != b.size()) return false;
  const char* p = a.data();
  const char* q = b.data();
  if (n >= 8 && n <= 16) {
    uint64_t p1, p2, q1, q2;
    std::memcpy(&p1, p, 8);
    std::memcpy(&q1, q, 8);
    std::memcpy(&p2, p + n - 8, 8);
    std::memcpy(&q2, q + n - 8, 8);
    return ((p1 ^ q1) | (p2 ^ q2)) == 0;
  }
  if (n >= 4 && n < 8) {
    uint32_t p1, p2, q1, q2;
    std::memcpy(&p1, p, 4);
    std::memcpy(&q1, q, 4);
    std::memcpy(&p2, p + n - 4, 4);
    std::memcpy(&q2, q + n - 4, 4);
    return ((p1 ^ q1) | (p2 ^ q2)) == 0;
  }
  if (n < 4) {
    for (size_t i = 0; i < n; ++i) {
      if (p[i] != q[i]) return false;
    }
    return true;
  }
  return std::memcmp(p, q, n) == 0;
}

// Copies n bytes from src to dst (not overlapping), as same_text compares: short texts
// with overlapping fixed-size moves, longer ones with memcpy.
inline void copy_text(char* dst, const char* src, size_t n) {
  if (n >= 8 && n <= 16) {
    uint64_t a, b;
    std::memcpy(&a, src, 8);
    std::memcpy(&b, src + n - 8, 8);
    std::memcpy(dst, &a, 8);
    std::memcpy(dst + n - 8, &b, 8);
  } else if (n >= 4 && n < 8) {
    uint32_t a, b;
    std::memcpy(&a, src, 4);
    std::memcpy(&b, src + n - 4, 4);
    std::memcpy(dst, &a, 4);
    std::memcpy(dst + n - 4, &b, 4);
  } else if (n < 4) {
    for (size_t i = 0; i < n; ++i) dst[i] = src[i];
  } else {
    std::memcpy(dst, src, n);
  }
}

}  // namespace rtml
