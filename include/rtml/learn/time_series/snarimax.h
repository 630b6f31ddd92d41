// SNARIMAX: a seasonal ARIMA model learned online, as a linear regression of the
// differenced series on its own lags and past errors (River's time_series.SNARIMAX).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rtml/learn/model.h"
#include "rtml/learn/pipeline.h"

namespace rtml {

class ParamSet;

// A forecaster of one series: each learn() takes the series' next value (the regression
// target); the features are ignored (no exogenous variables yet). The series is
// differenced d times at lag 1 and sd times at lag m, y' = (1 - B)^d (1 - B^m)^sd y; a
// regressor (regressor=, a pipeline expression, default standard_scaler |
// linear_regression) learns y'_t from the features y-1..y-p (y'_{t-1}..y'_{t-p}),
// sy-1..sy-sp (y'_{t-m}, y'_{t-2m}, ...), e-1..e-q (its own past errors) and se-1..se-sq
// (errors at multiples of m), each present once the series is that long. A forecast
// runs the regressor forward, its forecasts standing in for the values and 0 for the
// errors, and undoes the differencing. Until the first d + m sd values have arrived the
// forecast is the last value (0 before any). Where River's seasonal lags are
// range(m - 1, (m - 1) sp, m) (none for sp = 1), these are the multiples of m of the
// textbook model. Learning and forecasting allocate nothing in steady state when the
// regressor does not. Thread safety as Model's.
class Snarimax final : public Model {
 public:
  struct Config {
    int p = 1, d = 0, q = 0;
    int m = 1, sp = 0, sd = 0, sq = 0;
    std::string regressor = "standard_scaler | linear_regression";
  };
  static std::unique_ptr<Model> make(ParamSet& params);
  explicit Snarimax(Config config);
  ~Snarimax() override;

  std::string_view kind() const override { return "snarimax"; }
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

  // The regressor's full description.
  const std::string& regressor_description() const { return regressor_.description(); }

  // The last values of a series, newest first, at most a fixed number: a ring.
  struct History {
    std::vector<double> values;  // ring of capacity values.size()
    size_t head = 0;             // where the next value goes
    size_t count = 0;
    explicit History(size_t capacity = 0) : values(capacity) {}
    void push(double v) {
      if (values.empty()) return;
      values[head] = v;
      head = (head + 1) % values.size();
      if (count < values.size()) ++count;
    }
    // The value i steps back (0: the newest); i < count.
    double at(size_t i) const { return values[(head + values.size() - 1 - i) % values.size()]; }
  };

 private:
  // The regressor's features from the differenced values and errors.
  void features(const History& diffs, const History& errors, Features& x) const;
  // y' for a value v given the original values before it (which must hold d + m sd).
  double difference(double v, const History& original) const;

  Config config_;
  std::vector<double> coef_;  // coef_[k - 1]: of y_{t-k} in y'_t (k = 1..d + m sd)
  History original_, diffs_, errors_;
  Pipeline regressor_;
  std::vector<uint32_t> ar_, sar_, ma_, sma_;  // the features' indices in its schema
  Features x_;
  Prediction prediction_;
};

}  // namespace rtml
