// RollingMean: the mean of the last N values, for the rolling rates rtml run and the
// demos report. Private to the runtime module.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace rtml::runtime::detail {

// The mean of the last `window` values added, in fixed memory. Sums of 0/1 outcomes stay
// exact (whole numbers in a double). Not thread-safe.
class RollingMean {
 public:
  explicit RollingMean(size_t window) : values_(window, 0.0) {}
  void add(double v) {
    double& slot = values_[n_ % values_.size()];
    sum_ += v - slot;
    slot = v;
    ++n_;
  }
  // The mean over the last min(added, window) values; `empty` before any.
  double mean(double empty = NAN) const {
    size_t w = std::min<size_t>(n_, values_.size());
    return w ? sum_ / static_cast<double>(w) : empty;
  }
  // Whether a whole window has been added.
  bool full() const { return n_ >= values_.size(); }

 private:
  std::vector<double> values_;
  double sum_ = 0;
  uint64_t n_ = 0;
};

}  // namespace rtml::runtime::detail
