// Figures rtml run keeps as it goes: latency percentiles, a rolling mean, the pace.
// Private to the runtime module.
#pragma once

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <thread>
#include <vector>

namespace rtml::runtime::detail {

using Clock = std::chrono::steady_clock;

inline Clock::duration seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

// Waits until deadline, or until stop_fd (if any) becomes readable. A sleep ends up to
// the timer slack (50 µs) late, longer than the gap between events at 100,000 a second:
// the last 200 µs are spun, so that a paced replay releases each event on time.
inline void wait_until(Clock::time_point deadline, int stop_fd) {
  constexpr auto kSpin = std::chrono::microseconds(200);
  for (;;) {
    auto left = deadline - Clock::now();
    if (left <= Clock::duration::zero()) return;
    if (left <= kSpin) {
      while (Clock::now() < deadline) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
      }
      return;
    }
    auto sleep = std::min<Clock::duration>(left - kSpin, std::chrono::seconds(1));
    if (stop_fd < 0) {
      std::this_thread::sleep_for(sleep);
      continue;
    }
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(sleep).count();
    timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    pollfd p{stop_fd, POLLIN, 0};
    if (::ppoll(&p, 1, &ts, nullptr) > 0) return;
  }
}

// Latencies in 1 µs buckets up to 100 ms (then one bucket): quantiles to the microsecond,
// in fixed memory whatever the run's length.
class LatencyHistogram {
 public:
  LatencyHistogram() : buckets_(100001, 0) {}
  void add(double seconds) {
    double us = std::max(0.0, seconds * 1e6);
    ++buckets_[static_cast<size_t>(std::min(us, 100000.0))];
    max_ = std::max(max_, seconds);
    ++count_;
  }
  uint64_t count() const { return count_; }
  double max() const { return max_; }
  // The upper edge of the bucket holding quantile q, in seconds.
  double quantile(double q) const {
    auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
    uint64_t seen = 0;
    for (size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i];
      if (seen >= rank && seen > 0) return std::min(max_, (static_cast<double>(i) + 1) * 1e-6);
    }
    return max_;
  }

 private:
  std::vector<uint64_t> buckets_;
  uint64_t count_ = 0;
  double max_ = 0;
};

}  // namespace rtml::runtime::detail
