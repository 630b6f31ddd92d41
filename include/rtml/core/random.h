// Random: a small, fast, seeded generator (xoshiro256**) whose sequence is the same
// on every platform and compiler, so seeded runs reproduce exactly.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

#include "rtml/core/hash.h"

namespace rtml {

// Not thread-safe: give each thread or model its own.
class Random {
 public:
  explicit Random(uint64_t seed = 1) { reseed(seed); }

  void reseed(uint64_t seed) {
    // splitmix64 spreads any seed (0 included) over the whole state.
    for (auto& s : s_) {
      seed += 0x9E3779B97F4A7C15ull;
      s = mix64(seed);
    }
  }

  uint64_t next() {
    uint64_t result = rotl(s_[1] * 5, 7) * 9;
    uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n), n > 0.
  uint64_t below(uint64_t n) { return static_cast<uint64_t>(uniform() * static_cast<double>(n)); }
  // Standard normal (Box-Muller).
  double normal() {
    double u1 = uniform();
    double u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

  // Poisson(lambda): by inversion up to 30 (the rates of online bagging: the same draws
  // as ever); above, as a sum of draws of at most 30 each up to 600, and by the normal
  // approximation past that (boosting's rates grow as models err), where inversion would
  // underflow and loop for ever. Not for rates above 4e9 (the result is clamped).
  uint32_t poisson(double lambda) {
    if (!(lambda > 0)) return 0;
    if (lambda > 30) {
      if (lambda > 600) {
        double v = std::round(lambda + std::sqrt(lambda) * normal());
        return v <= 0 ? 0 : v >= 4e9 ? 4000000000u : static_cast<uint32_t>(v);
      }
      uint32_t sum = 0;
      for (; lambda > 30; lambda -= 30) sum += poisson(30);
      return sum + poisson(lambda);
    }
    double l = std::exp(-lambda), p = 1.0;
    uint32_t k = 0;
    do {
      ++k;
      p *= uniform();
    } while (p > l);
    return k - 1;
  }

  // The generator's whole state, for saving a model mid-stream.
  std::array<uint64_t, 4> state() const { return {s_[0], s_[1], s_[2], s_[3]}; }
  void set_state(const std::array<uint64_t, 4>& s) {
    for (int i = 0; i < 4; ++i) s_[i] = s[i];
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace rtml
