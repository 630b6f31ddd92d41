// The forecasters (Holt-Winters, SNARIMAX) against answers worked by hand, on seasonal
// series of known period, and the per-horizon scoring of rtml eval --horizon.
#include <gtest/gtest.h>

#include <cmath>

#include "rtml/core/error.h"
#include "rtml/learn/metrics/horizon_metrics.h"
#include "rtml/learn/pipeline.h"
#include "rtml/learn/time_series/holt_winters.h"

namespace rtml {
namespace {

constexpr double kPi = 3.14159265358979323846;

std::vector<double> forecast(Pipeline& p, size_t h) {
  std::vector<double> out;
  EXPECT_TRUE(p.model().forecast(h, out));
  EXPECT_EQ(out.size(), h);
  return out;
}

void learn(Pipeline& p, double y) { p.learn(Features(), Target::of_value(y)); }

TEST(HoltWinters, AdditiveWithTrendMatchesTheEquationsByHand) {
  // alpha = beta = gamma = 0.5, m = 2, series 1, 3, 2, 4.
  Pipeline p("holt_winters(alpha=0.5, beta=0.5, gamma=0.5, seasonality=2)");
  learn(p, 1);
  EXPECT_DOUBLE_EQ(forecast(p, 1)[0], 1);  // not started: the mean so far
  // Started on 1, 3: level (1 + 3) / 2 = 2, trend 3 - 1 = 2, season (1 - 2, 3 - 2).
  learn(p, 3);
  auto f = forecast(p, 3);
  EXPECT_DOUBLE_EQ(f[0], 2 + 2 - 1);      // l + b + s_1
  EXPECT_DOUBLE_EQ(f[1], 2 + 2 * 2 + 1);  // l + 2b + s_2
  EXPECT_DOUBLE_EQ(f[2], 2 + 3 * 2 - 1);  // the season repeats
  // y = 2: l = 0.5 (2 + 1) + 0.5 (2 + 2) = 3.5; b = 0.5 (3.5 - 2) + 0.5 * 2 = 1.75;
  //        s = 0.5 (2 - 2 - 2) + 0.5 (-1) = -1.5.
  learn(p, 2);
  auto& hw = dynamic_cast<HoltWinters&>(p.model());
  EXPECT_DOUBLE_EQ(hw.level(), 3.5);
  EXPECT_DOUBLE_EQ(hw.trend(), 1.75);
  f = forecast(p, 2);
  EXPECT_DOUBLE_EQ(f[0], 3.5 + 1.75 + 1);
  EXPECT_DOUBLE_EQ(f[1], 3.5 + 3.5 - 1.5);
  // y = 4: l = 0.5 (4 - 1) + 0.5 (3.5 + 1.75) = 4.125; b = 0.5 (4.125 - 3.5) + 0.5 * 1.75
  //        = 1.1875; s = 0.5 (4 - 3.5 - 1.75) + 0.5 * 1 = -0.125.
  learn(p, 4);
  EXPECT_DOUBLE_EQ(hw.level(), 4.125);
  EXPECT_DOUBLE_EQ(hw.trend(), 1.1875);
  f = forecast(p, 2);
  EXPECT_DOUBLE_EQ(f[0], 4.125 + 1.1875 - 1.5);
  EXPECT_DOUBLE_EQ(f[1], 4.125 + 2 * 1.1875 - 0.125);
  // predict() is the forecast one step ahead.
  Prediction out;
  p.predict(Features(), out);
  EXPECT_DOUBLE_EQ(out.value, f[0]);
}

TEST(HoltWinters, MultiplicativeSeasonMatchesTheEquationsByHand) {
  // alpha 0.5, no trend, gamma 0.5, m = 2, series 2, 4, 3, 6.
  Pipeline p("holt_winters(alpha=0.5, gamma=0.5, seasonality=2, multiplicative=true)");
  learn(p, 2);
  learn(p, 4);  // level 3, season (2/3, 4/3)
  auto f = forecast(p, 2);
  EXPECT_DOUBLE_EQ(f[0], 3 * (2.0 / 3));
  EXPECT_DOUBLE_EQ(f[1], 3 * (4.0 / 3));
  // y = 3: l = 0.5 * 3 / (2/3) + 0.5 * 3 = 3.75; s = 0.5 * 3 / 3 + 0.5 * 2/3 = 5/6.
  learn(p, 3);
  EXPECT_NEAR(forecast(p, 1)[0], 3.75 * (4.0 / 3), 1e-12);
  // y = 6: l = 0.5 * 6 / (4/3) + 0.5 * 3.75 = 4.125; s = 0.5 * 6 / 3.75 + 0.5 * 4/3.
  learn(p, 6);
  f = forecast(p, 2);
  EXPECT_NEAR(f[0], 4.125 * (5.0 / 6), 1e-12);
  EXPECT_NEAR(f[1], 4.125 * (0.8 + 2.0 / 3), 1e-12);
}

TEST(HoltWinters, RefusesASeasonWithoutItsPeriod) {
  for (const char* bad : {"holt_winters(gamma=0.3)", "holt_winters(seasonality=12)",
                          "holt_winters(alpha=0)", "holt_winters(multiplicative=true)"}) {
    EXPECT_THROW(Pipeline{bad}, Error) << bad;
  }
}

// A series of period 12 with a trend: 10 + 0.05 t + 3 sin(2 pi t / 12).
double seasonal(int t) { return 10 + 0.05 * t + 3 * std::sin(2 * kPi * t / 12); }

// MAE at each step ahead over values [from, n) of the series, forecasting 12 ahead.
HorizonMetrics score(Pipeline& p, int from, int n) {
  HorizonMetrics m(12);
  std::vector<double> f;
  for (int t = 0; t < n; ++t) {
    p.model().forecast(12, f);
    if (t >= from) {
      m.add_forecast(f);
      m.observe(seasonal(t));
    }
    learn(p, seasonal(t));
  }
  return m;
}

TEST(Forecasters, FollowASeasonOfKnownPeriodAtEveryStepAhead) {
  for (const char* expr : {"holt_winters(alpha=0.3, beta=0.1, gamma=0.3, seasonality=12)",
                           "snarimax(p=1, m=12, sd=1, regressor=linear_regression(lr=0.05))"}) {
    SCOPED_TRACE(expr);
    Pipeline p(expr);
    auto m = score(p, 1500, 2000);
    for (size_t h = 1; h <= 12; ++h) EXPECT_LT(m.mae(h), 0.1) << h << " steps ahead";
  }
  // Without the season, the error at 6 steps ahead is most of the amplitude.
  Pipeline flat("holt_winters(alpha=0.3, beta=0.1)");
  EXPECT_GT(score(flat, 1500, 2000).mae(6), 2.0);
}

TEST(Snarimax, UndoesItsDifferencingWhenItForecasts) {
  // y = 2 t + 5 differenced once is 2: the regressor learns a constant (its intercept),
  // and the forecast climbs from the last value by 2 a step.
  Pipeline line("snarimax(p=0, d=1, regressor=linear_regression(intercept_lr=0.05))");
  for (int t = 0; t < 3000; ++t) learn(line, 2 * t + 5);
  auto f = forecast(line, 3);
  const double last = 2 * 2999 + 5;
  for (int h = 0; h < 3; ++h) EXPECT_NEAR(f[h], last + 2 * (h + 1), 0.01);
  // A pattern of period 4 differenced at lag 4 is 0: the forecast repeats the last season.
  const double pattern[] = {10, 11, 10, 9};
  Pipeline season("snarimax(p=0, m=4, sd=1, regressor=linear_regression)");
  for (int t = 0; t < 2000; ++t) learn(season, pattern[t % 4]);
  f = forecast(season, 8);
  for (int h = 0; h < 8; ++h) EXPECT_NEAR(f[h], pattern[(2000 + h) % 4], 1e-3) << h;
}

TEST(Snarimax, WritesItsRegressorBackInFullAndRefusesAClassifier) {
  Pipeline p("snarimax(p=2, regressor='standard_scaler | linear_regression(lr=0.1)')");
  EXPECT_NE(p.description().find("regressor='standard_scaler(with_std=true) | "
                                 "linear_regression(optimizer=sgd, lr=0.1"),
            std::string::npos)
      << p.description();
  EXPECT_EQ(Pipeline(p.description()).description(), p.description());
  EXPECT_THROW(Pipeline{"snarimax(regressor=logistic_regression)"}, Error);
  EXPECT_THROW(Pipeline{"snarimax(m=0)"}, Error);
}

TEST(Forecasters, OtherModelsDoNotForecast) {
  Pipeline p("linear_regression");
  std::vector<double> out{1, 2};
  EXPECT_FALSE(p.model().forecast(3, out));
  EXPECT_EQ(out.size(), 2u);
}

TEST(HorizonMetrics, ScoresEachValueAgainstEveryForecastThatCoveredIt) {
  HorizonMetrics m(2);
  m.add_forecast({1, 2});  // before value 0: forecasts values 0 and 1
  m.observe(2);            // 1 ahead: |2 - 1| = 1
  m.add_forecast({4, 6});  // values 1 and 2
  m.observe(3);            // 1 ahead: |3 - 4| = 1; 2 ahead (forecast 0): |3 - 2| = 1
  m.add_forecast({5, 5});
  m.observe(9);  // 1 ahead: 4; 2 ahead: |9 - 6| = 3
  EXPECT_EQ(m.count(1), 3u);
  EXPECT_EQ(m.count(2), 2u);
  EXPECT_DOUBLE_EQ(m.mae(1), (1 + 1 + 4) / 3.0);
  EXPECT_DOUBLE_EQ(m.mae(2), (1 + 3) / 2.0);
  EXPECT_DOUBLE_EQ(m.rmse(2), std::sqrt((1 + 9) / 2.0));
  EXPECT_DOUBLE_EQ(m.report().at("mae"), (2 + 2) / 2.0);
}

}  // namespace
}  // namespace rtml
