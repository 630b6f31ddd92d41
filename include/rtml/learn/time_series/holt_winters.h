// Holt-Winters exponential smoothing (Holt 1957, Winters 1960): level, trend and
// additive or multiplicative seasonality.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "rtml/learn/model.h"

namespace rtml {

class ParamSet;

// A forecaster of one series: each learn() takes the series' next value (the regression
// target); the features are ignored. With m the seasonality, after each value y_t:
//   level   l_t = alpha (y_t - s_{t-m}) + (1 - alpha) (l_{t-1} + b_{t-1})
//   trend   b_t = beta (l_t - l_{t-1}) + (1 - beta) b_{t-1}
//   season  s_t = gamma (y_t - l_{t-1} - b_{t-1}) + (1 - gamma) s_{t-m}
// and the forecast h steps ahead is l_t + h b_t + s_{t+h-m(k+1)}, k = (h - 1) div m.
// Multiplicative: y_t / s_{t-m} in the level, gamma y_t / (l_{t-1} + b_{t-1}) in the
// season, and the forecast (l_t + h b_t) s_{..}. beta 0 means no trend, gamma 0 (with
// seasonality 0) no season. The first max(2, m) values start it: the level is their mean,
// the trend the mean of their differences, the season each one's difference from (or
// ratio to) the level; until then the forecast is the mean of the values so far (0 before
// any). These are statsmodels' and River's (time_series.HoltWinters) equations and
// initialisation; alpha has no default in River, 0.5 here. Learning and forecasting
// allocate nothing once started. Thread safety as Model's.
class HoltWinters final : public Model {
 public:
  struct Config {
    double alpha = 0.5;
    double beta = 0;
    double gamma = 0;
    int seasonality = 0;
    bool multiplicative = false;
  };
  static std::unique_ptr<Model> make(ParamSet& params);
  explicit HoltWinters(Config config);

  std::string_view kind() const override { return "holt_winters"; }
  Task task() const override { return Task::kRegression; }
  size_t max_categories() const override { return 0; }
  using Model::predict;
  // The forecast one step ahead.
  void predict(const Features& x, Prediction& out, Workspace& workspace) const override;
  void learn(const Features& x, const Target& y, double weight) override;
  using Model::forecast;
  bool forecast(size_t horizon, std::vector<double>& out, Workspace& workspace) const override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;

  // The components as they stand (valid once started()).
  bool started() const { return started_; }
  double level() const { return level_; }
  double trend() const { return trend_; }
  // The seasonal component due j steps ahead (j >= 1).
  double season_ahead(size_t j) const;

 private:
  double forecast_at(size_t h) const;  // h >= 1

  Config config_;
  std::vector<double> first_;   // the values that start it (reserved: no growth)
  std::vector<double> season_;  // the last m seasonal values, a ring
  size_t oldest_ = 0;           // season_[oldest_] is s_{t-m+1}
  double level_ = 0, trend_ = 0;
  bool started_ = false;
};

}  // namespace rtml
