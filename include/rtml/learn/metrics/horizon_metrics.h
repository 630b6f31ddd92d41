// HorizonMetrics: the error of a forecaster at each step ahead, as River's
// time_series.evaluate scores forecasts with a HorizonMetric.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace rtml {

// Before each value of a series is learned, the forecaster forecasts the next `horizon`
// values (add_forecast); when a value arrives, observe() scores it against every
// forecast that covered it: the one made just before it (1 step ahead), the one before
// that (2 steps ahead), and so on up to `horizon`. Keeps the last horizon forecasts in a
// ring; allocates nothing after the constructor. Not thread-safe.
class HorizonMetrics {
 public:
  explicit HorizonMetrics(size_t horizon);

  // The forecast made before value t (forecast[j]: value t + j). Call once per value,
  // before observe() of that value; forecast.size() must be the horizon.
  void add_forecast(const std::vector<double>& forecast);
  // Value t, the one the last add_forecast() was made before.
  void observe(double y);

  size_t horizon() const { return horizon_; }
  // Mean absolute error, root mean squared error, and how many values were scored, h
  // steps ahead (1 <= h <= horizon).
  double mae(size_t h) const;
  double rmse(size_t h) const;
  uint64_t count(size_t h) const { return n_[h - 1]; }
  // "mae@1" .. "mae@H", "rmse@1" .. , and "mae" (the mean of mae@h over h).
  std::map<std::string, double> report() const;

 private:
  size_t horizon_;
  std::vector<double> ring_;  // horizon x horizon: forecast k's values at k * horizon
  uint64_t made_ = 0;         // forecasts added
  std::vector<double> abs_, sq_;
  std::vector<uint64_t> n_;
};

}  // namespace rtml
