// Model selection (successive halving, bandits), conformal intervals and the samplers
// for imbalanced streams.
#include <gtest/gtest.h>

#include <cmath>

#include "rtml/core/error.h"
#include "rtml/core/random.h"
#include "rtml/learn/conformal/conformal_regressor.h"
#include "rtml/learn/imblearn/random_sampling.h"
#include "rtml/learn/model_selection/bandit_select.h"
#include "rtml/learn/model_selection/successive_halving.h"
#include "rtml/learn/pipeline.h"

namespace rtml {
namespace {

// Two numbers in [0, 1); class 1 when x0 > x1, or, with `rare`, when x0 > x1 + 1 - 2 rare
// (about rare^2 / ... of the events: a rare positive class).
struct Binary {
  Random rng{11};
  uint32_t a, b;
  explicit Binary(Pipeline& p) : a(p.schema().intern("a")), b(p.schema().intern("b")) {
    p.labels().intern("no", true);
    p.labels().intern("yes", true);
  }
  Target next(Features& x, double margin = 0) {
    x.clear();
    double u = rng.uniform(), v = rng.uniform();
    x.add(a, u);
    x.add(b, v);
    return Target::of_class(u > v + margin ? 1 : 0);
  }
};

double accuracy(Pipeline& p, int n) {
  Binary s(p);
  Features x;
  Prediction out;
  int right = 0;
  for (int i = 0; i < n; ++i) {
    Target y = s.next(x);
    p.predict_then_learn(x, y, out);
    right += out.has_label && out.label == y.label;
  }
  return static_cast<double>(right) / n;
}

TEST(SuccessiveHalving, KeepsTheBestCandidateAndDropsTheRest) {
  // A useless candidate (a learning rate of 1e-9 learns nothing), naive Bayes and a
  // perceptron; budget 3000 over 3 models: rungs of 3000 / (3 * 2) = 500 events, then
  // 3000 / (2 * 2) = 750 with the best two.
  Pipeline p(
      "successive_halving(models=[logistic_regression(lr=1e-9, intercept_lr=1e-9), gaussian_nb, "
      "perceptron], budget=3000)");
  EXPECT_EQ(p.task(), Task::kMulticlass);  // gaussian_nb is multiclass
  accuracy(p, 400);
  auto& sh = dynamic_cast<SuccessiveHalving&>(p.model());
  EXPECT_EQ(sh.alive(), 3u);
  accuracy(p, 200);  // past 500
  EXPECT_EQ(sh.alive(), 2u);
  EXPECT_NE(sh.best(), 0u);  // not the useless one
  accuracy(p, 800);          // past 500 + 750
  EXPECT_EQ(sh.alive(), 1u);
  EXPECT_GT(sh.score(sh.best()), 0.9);
  EXPECT_GT(accuracy(p, 1000), 0.9);
}

TEST(SuccessiveHalving, RefusesWhatCannotRun) {
  EXPECT_THROW(Pipeline{"successive_halving(models=[gaussian_nb])"}, Error);
  EXPECT_THROW(Pipeline{"successive_halving(models=[gaussian_nb, linear_regression])"}, Error);
  EXPECT_THROW(Pipeline{"successive_halving(models=[gaussian_nb, perceptron], budget=1)"}, Error);
  EXPECT_THROW(Pipeline{"successive_halving(models=[gaussian_nb, perceptron], metric=mae)"}, Error);
  EXPECT_THROW(Pipeline{"successive_halving"}, Error);
}

TEST(BanditSelect, PullsTheBetterArmMostAndAnswersWithIt) {
  for (const char* policy : {"epsilon_greedy", "ucb"}) {
    SCOPED_TRACE(policy);
    Pipeline p(std::string("bandit_select(models=[logistic_regression(lr=1e-9, "
                           "intercept_lr=1e-9), perceptron], burn_in=20, policy=") +
               policy + ")");
    EXPECT_GT(accuracy(p, 4000), 0.8);
    auto& bandit = dynamic_cast<BanditSelect&>(p.model());
    EXPECT_EQ(bandit.best(), 1u);
    EXPECT_GT(bandit.pulls(1), 3 * bandit.pulls(0));
    EXPECT_GT(bandit.mean_reward(1), bandit.mean_reward(0));
  }
}

TEST(BanditSelect, RewardsRegressorsByTheirErrors) {
  Pipeline p("bandit_select(models=[linear_regression(lr=0.1), running_mean], burn_in=10)");
  uint32_t a = p.schema().intern("a");
  Random rng(3);
  Features x;
  Prediction out;
  for (int i = 0; i < 3000; ++i) {
    x.clear();
    double u = rng.uniform(-1, 1);
    x.add(a, u);
    p.predict_then_learn(x, Target::of_value(4 * u), out);
  }
  auto& bandit = dynamic_cast<BanditSelect&>(p.model());
  EXPECT_EQ(bandit.best(), 0u);
  EXPECT_GT(bandit.pulls(0), bandit.pulls(1));
}

TEST(Conformal, IntervalsComeFromTheRanksOfTheWindowsResiduals) {
  // A regressor that stays at 0 for all practical purposes (learning rates of 1e-300):
  // each residual is the value itself.
  Pipeline p(
      "conformal(model=linear_regression(lr=1e-300, intercept_lr=1e-300), confidence=0.9, "
      "window=10, "
      "gamma=0)");
  Features x;
  Prediction out;
  p.predict(x, out);
  EXPECT_FALSE(out.has_interval);  // no residual yet
  for (int v = 1; v <= 19; ++v) p.learn(x, Target::of_value(v));
  // The window holds 10..19. n = 10, a = 0.1: ranks floor(11 * 0.05) = 0 -> 1 and
  // ceil(11 * 0.95) = 11 -> 10.
  auto& c = dynamic_cast<ConformalRegressor&>(p.model());
  EXPECT_DOUBLE_EQ(c.lower_residual(), 10);
  EXPECT_DOUBLE_EQ(c.upper_residual(), 19);
  p.predict(x, out);
  ASSERT_TRUE(out.has_interval);
  EXPECT_NEAR(out.value, 0, 1e-290);
  EXPECT_DOUBLE_EQ(out.lower, 10);
  EXPECT_DOUBLE_EQ(out.upper, 19);
  // A pipeline without intervals clears them from a reused prediction.
  Pipeline plain("linear_regression");
  plain.predict(x, out);
  EXPECT_FALSE(out.has_interval);
}

// Coverage and width of 90 % intervals over y = 2 u + e, e ~ N(0, sd), sd jumping from 1
// to 3 halfway (residuals that are not exchangeable).
std::pair<double, double> coverage(const std::string& expr, double sd_after) {
  Pipeline p(expr);
  uint32_t a = p.schema().intern("a");
  Random rng(9);
  Features x;
  Prediction out;
  int covered = 0, n = 0;
  double width = 0;
  for (int i = 0; i < 20000; ++i) {
    x.clear();
    double u = rng.uniform(-1, 1);
    x.add(a, u);
    double y = 2 * u + (i < 10000 ? 1.0 : sd_after) * rng.normal();
    p.predict_then_learn(x, Target::of_value(y), out);
    if (i >= 1000 && out.has_interval) {
      ++n;
      covered += y >= out.lower && y <= out.upper;
      width += out.upper - out.lower;
    }
  }
  return {static_cast<double>(covered) / n, width / n};
}

TEST(Conformal, CoversAsPromisedWhenTheNoiseIsSteadyAndWhenItJumps) {
  const std::string base = "conformal(model=linear_regression(lr=0.05), confidence=0.9";
  auto [steady, width] = coverage(base + ", gamma=0)", 1.0);
  EXPECT_NEAR(steady, 0.9, 0.015);
  EXPECT_NEAR(width, 2 * 1.645, 0.3);  // the normal's 5 % and 95 % quantiles
  // After the jump a fixed level lags while the window still holds the small residuals;
  // the adaptive level keeps the stream's coverage at the nominal one.
  auto [fixed, w1] = coverage(base + ", gamma=0, window=5000)", 3.0);
  auto [adaptive, w2] = coverage(base + ", window=5000)", 3.0);
  EXPECT_LT(fixed, 0.87);
  EXPECT_NEAR(adaptive, 0.9, 0.015);
}

TEST(RandomSampling, LearnsTheClassesInTheDesiredShares) {
  for (const char* expr : {"random_under_sampler(model=logistic_regression)",
                           "random_over_sampler(model=logistic_regression)",
                           "random_under_sampler(model=gaussian_nb, desired=0.3)"}) {
    SCOPED_TRACE(expr);
    Pipeline p(expr);
    Binary s(p);
    Features x;
    int positives = 0;
    for (int i = 0; i < 20000; ++i) {
      Target y = s.next(x, 0.7);  // class 1 in 4.5 % of the events
      positives += y.label == 1;
      p.learn(x, y);
    }
    ASSERT_LT(positives, 1500);
    const auto& learned = dynamic_cast<RandomSampling&>(p.model()).learned();
    double share = learned[1] / (learned[0] + learned[1]);
    double want = std::string(expr).find("0.3") != std::string::npos ? 0.3 : 0.5;
    EXPECT_NEAR(share, want, 0.05);
  }
}

TEST(RandomSampling, RaisesTheRecallOfARareClass) {
  // Recall of the rare class over the last 10,000 events, plain and under-sampled.
  auto recall = [](const std::string& expr) {
    Pipeline p(expr);
    Binary s(p);
    Features x;
    Prediction out;
    int found = 0, rare = 0;
    for (int i = 0; i < 20000; ++i) {
      Target y = s.next(x, 0.7);
      p.predict_then_learn(x, y, out);
      if (i >= 10000 && y.label == 1) {
        ++rare;
        found += out.has_label && out.label == 1;
      }
    }
    return static_cast<double>(found) / rare;
  };
  double plain = recall("logistic_regression(lr=0.05)");
  double under = recall("random_under_sampler(model=logistic_regression(lr=0.05))");
  double over = recall("random_over_sampler(model=logistic_regression(lr=0.05))");
  EXPECT_GT(under, plain + 0.2);
  EXPECT_GT(over, plain + 0.2);
}

}  // namespace
}  // namespace rtml
