#include "rtml/learn/metrics/horizon_metrics.h"

#include <cmath>

#include "rtml/core/error.h"

namespace rtml {

HorizonMetrics::HorizonMetrics(size_t horizon)
    : horizon_(horizon), ring_(horizon * horizon), abs_(horizon), sq_(horizon), n_(horizon) {
  if (horizon == 0) throw Error("a forecast horizon must be at least 1");
}

void HorizonMetrics::add_forecast(const std::vector<double>& forecast) {
  const size_t slot = static_cast<size_t>(made_ % horizon_);
  for (size_t j = 0; j < horizon_; ++j) {
    ring_[slot * horizon_ + j] = j < forecast.size() ? forecast[j] : NAN;
  }
  ++made_;
}

void HorizonMetrics::observe(double y) {
  // The value is the one forecast `made_ - 1` was made before; forecast made_ - h covered
  // it h steps ahead.
  for (size_t h = 1; h <= horizon_ && h <= made_; ++h) {
    const size_t slot = static_cast<size_t>((made_ - h) % horizon_);
    const double f = ring_[slot * horizon_ + (h - 1)];
    if (std::isnan(f)) continue;
    const double e = y - f;
    abs_[h - 1] += std::abs(e);
    sq_[h - 1] += e * e;
    ++n_[h - 1];
  }
}

double HorizonMetrics::mae(size_t h) const {
  return n_[h - 1] > 0 ? abs_[h - 1] / static_cast<double>(n_[h - 1]) : 0.0;
}

double HorizonMetrics::rmse(size_t h) const {
  return n_[h - 1] > 0 ? std::sqrt(sq_[h - 1] / static_cast<double>(n_[h - 1])) : 0.0;
}

std::map<std::string, double> HorizonMetrics::report() const {
  std::map<std::string, double> out;
  double sum = 0;
  for (size_t h = 1; h <= horizon_; ++h) {
    out["mae@" + std::to_string(h)] = mae(h);
    out["rmse@" + std::to_string(h)] = rmse(h);
    sum += mae(h);
  }
  out["mae"] = sum / static_cast<double>(horizon_);
  return out;
}

}  // namespace rtml
