// Known-answer tests: each model and metric on tiny inputs worked out by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "rtml/core/error.h"
#include "rtml/core/params.h"
#include "rtml/core/random.h"
#include "rtml/learn/drift/drift_detector.h"
#include "rtml/learn/metrics/metrics.h"
#include "rtml/learn/neighbors/knn.h"
#include "rtml/learn/pipeline.h"
#include "rtml/learn/progressive.h"
#include "rtml/learn/registry.h"

namespace rtml {
namespace {

Features make(std::initializer_list<std::pair<uint32_t, double>> values) {
  Features f;
  for (auto [i, v] : values) f.add(i, v);
  return f;
}

double normal_pdf(double x, double mu, double var) {
  return std::exp(-(x - mu) * (x - mu) / (2 * var)) / std::sqrt(2 * M_PI * var);
}

TEST(KnownAnswer, LogisticRegressionOneSgdStep) {
  Pipeline p("logistic_regression(lr=0.1)");
  Prediction out;
  auto x = make({{0, 1.0}, {1, 2.0}});
  p.predict(x, out);
  EXPECT_DOUBLE_EQ(out.value, 0.5);
  EXPECT_EQ(out.label, 0u);  // a tie goes to the negative class
  p.learn(x, Target::of_class(1));
  // g = -1 / (e^0 + 1) = -0.5; b = 0.01 * 0.5; w = 0.1 * 0.5 * x.
  p.predict(x, out);
  EXPECT_DOUBLE_EQ(out.value, 1.0 / (1.0 + std::exp(-(0.005 + 0.05 * 1 + 0.05 * 2 * 2))));
  EXPECT_EQ(out.label, 1u);
}

TEST(KnownAnswer, LinearRegressionOneSgdStepAndL2) {
  Pipeline p("linear_regression(lr=0.1)");
  Prediction out;
  auto x = make({{0, 2.0}});
  p.learn(x, Target::of_value(3.0));
  // g = 2 (0 - 3) = -6; b = 0.06; w = 0.1 * 6 * 2 = 1.2.
  p.predict(x, out);
  EXPECT_DOUBLE_EQ(out.value, 0.06 + 1.2 * 2);

  Pipeline q("linear_regression(lr=0.1, l2=0.5)");
  q.learn(x, Target::of_value(3.0));
  q.learn(x, Target::of_value(3.0));
  // Second step: y_hat = 2.46, g = -1.08, w = 1.2 - 0.1 (-1.08 * 2 + 0.5 * 1.2) = 1.356.
  q.predict(make({{0, 1.0}}), out);
  EXPECT_NEAR(out.value, (0.06 + 0.0108) + 1.356, 1e-12);
}

TEST(KnownAnswer, PerceptronAndPassiveAggressive) {
  Pipeline pa("pa_classifier");
  Prediction out;
  auto x = make({{0, 1.0}});
  pa.learn(x, Target::of_class(1));  // loss 1, |x|^2 1, tau = min(C=1, 1) = 1: w = 1, b = 1
  pa.predict(x, out);
  EXPECT_DOUBLE_EQ(out.value, 1.0 / (1.0 + std::exp(-2.0)));

  Pipeline par("pa_regressor(eps=0.5, mode=0)");
  par.learn(make({{0, 2.0}}), Target::of_value(3.0));  // loss 2.5, tau 2.5/4: w 1.25, b 0.625
  par.predict(make({{0, 1.0}}), out);
  EXPECT_DOUBLE_EQ(out.value, 1.875);

  Pipeline per("perceptron");
  per.learn(x, Target::of_class(0));  // raw 0 >= threshold 0 for -1: g = 1, w = -1, b = -1
  per.predict(x, out);
  EXPECT_EQ(out.label, 0u);
  EXPECT_DOUBLE_EQ(out.value, 1.0 / (1.0 + std::exp(2.0)));
}

TEST(KnownAnswer, StandardAndMinMaxScalers) {
  Pipeline p("standard_scaler | linear_regression(lr=0.000001)");
  for (double v : {1.0, 2.0, 3.0}) p.learn(make({{0, v}}), Target::of_value(0));
  Features out;
  Schema s;
  // The scaler inside the pipeline is not reachable; check a standalone one.
  auto scaler = find_component("standard_scaler");
  ParamSet params("standard_scaler", {});
  auto t = scaler.make_transformer(params);
  for (double v : {1.0, 2.0, 3.0}) t->learn(make({{0, v}}), s);
  t->transform(make({{0, 3.0}, {5, 9.0}}), out, s);
  ASSERT_EQ(out.numbers().size(), 2u);
  EXPECT_DOUBLE_EQ(out.numbers()[0].value, 1.0 / std::sqrt(2.0 / 3.0));
  EXPECT_EQ(out.numbers()[1].value, 0.0);  // never seen: variance 0

  ParamSet mp("min_max_scaler", {});
  auto mm = find_component("min_max_scaler").make_transformer(mp);
  for (double v : {2.0, 6.0}) mm->learn(make({{0, v}}), s);
  mm->transform(make({{0, 3.0}}), out, s);
  EXPECT_DOUBLE_EQ(out.numbers()[0].value, 0.25);
}

TEST(KnownAnswer, OneHotHasherAndInteractions) {
  Schema s;
  uint32_t color = s.intern("color");
  uint32_t size = s.intern("size");
  Features in;
  in.add(size, 2.0);
  in.add_category(color, s.intern_category(color, "red"));
  Features out;

  ParamSet p1("one_hot", {});
  auto oh = find_component("one_hot").make_transformer(p1);
  oh->transform(in, out, s);  // a category not learned yet is left out
  ASSERT_EQ(out.numbers().size(), 1u);
  EXPECT_EQ(s.size(), 2u);
  oh->learn(in, s);
  oh->transform(in, out, s);
  ASSERT_EQ(out.numbers().size(), 2u);
  EXPECT_EQ(s.name(out.numbers()[1].index), "color=red");
  EXPECT_EQ(out.numbers()[1].value, 1.0);
  EXPECT_TRUE(out.categories().empty());

  ParamSet p2("feature_hasher", {{"bits", "4"}});
  auto fh = find_component("feature_hasher").make_transformer(p2);
  fh->transform(in, out, s);
  ASSERT_EQ(out.numbers().size(), 2u);
  for (const auto& f : out.numbers()) EXPECT_LT(f.index, 16u);

  ParamSet p3("pairwise_interactions", {});
  auto pi = find_component("pairwise_interactions").make_transformer(p3);
  Features two;
  two.add(color, 3.0);
  two.add(size, 2.0);
  pi->transform(two, out, s);  // a pair not learned yet is left out
  ASSERT_EQ(out.numbers().size(), 2u);
  pi->learn(two, s);
  pi->transform(two, out, s);
  ASSERT_EQ(out.numbers().size(), 3u);
  EXPECT_EQ(out.numbers()[2].value, 6.0);
  EXPECT_EQ(s.name(out.numbers()[2].index), "color*size");
}

TEST(KnownAnswer, GaussianNaiveBayes) {
  Pipeline p("gaussian_nb");
  for (double v : {1.0, 2.0, 3.0}) p.learn(make({{0, v}}), Target::of_class(0));
  for (double v : {10.0, 12.0}) p.learn(make({{0, v}}), Target::of_class(1));
  Prediction out;
  p.predict(make({{0, 2.0}}), out);
  double j0 = std::log(3.0 / 5) + std::log(1e-9 + normal_pdf(2, 2, 1));
  double j1 = std::log(2.0 / 5) + std::log(1e-9 + normal_pdf(2, 11, 2));
  double p0 = 1.0 / (1.0 + std::exp(j1 - j0));
  EXPECT_EQ(out.label, 0u);
  EXPECT_NEAR(out.proba[0], p0, 1e-12);
  p.predict(make({{0, 11.5}}), out);
  EXPECT_EQ(out.label, 1u);
}

TEST(KnownAnswer, MultinomialNaiveBayes) {
  Pipeline p("multinomial_nb(alpha=1)");
  p.learn(make({{0, 2.0}, {1, 1.0}}), Target::of_class(0));
  p.learn(make({{1, 3.0}}), Target::of_class(1));
  Prediction out;
  p.predict(make({{0, 1.0}}), out);
  // V = 2; P(f0|c0) = 3/5, P(f0|c1) = 1/5; priors equal.
  EXPECT_NEAR(out.proba[0], (3.0 / 5) / (3.0 / 5 + 1.0 / 5), 1e-12);
}

TEST(KnownAnswer, SoftmaxRegressionLearnsThreeClasses) {
  Pipeline p("softmax_regression(lr=0.5)");
  for (int i = 0; i < 300; ++i) {
    int c = i % 3;
    p.learn(make({{static_cast<uint32_t>(c), 1.0}}), Target::of_class(c));
  }
  Prediction out;
  for (uint32_t c = 0; c < 3; ++c) {
    p.predict(make({{c, 1.0}}), out);
    EXPECT_EQ(out.label, c);
    EXPECT_GT(out.proba[c], 0.8);
  }
}

TEST(KnownAnswer, OptimizersAllConvergeOnASeparableProblem) {
  for (std::string opt : {"sgd", "adagrad", "adam", "ftrl"}) {
    Pipeline p("logistic_regression(optimizer=" + opt + ")");
    for (int i = 0; i < 2000; ++i) {
      double v = (i % 2) ? 1.0 : -1.0;
      p.learn(make({{0, v}}), Target::of_class(i % 2));
    }
    Prediction out;
    p.predict(make({{0, 1.0}}), out);
    EXPECT_GT(out.value, 0.7) << opt;
    p.predict(make({{0, -1.0}}), out);
    EXPECT_LT(out.value, 0.3) << opt;
  }
}

TEST(KnownAnswer, L1DrivesUselessWeightsToZero) {
  Pipeline p("linear_regression(l1=0.1)");
  for (int i = 0; i < 3000; ++i) {
    double signal = (i % 7) / 7.0, noise = ((i * 13) % 5) / 5.0 - 0.4;
    p.learn(make({{0, signal}, {1, noise}}), Target::of_value(2 * signal));
  }
  auto& glm = p.model();
  Prediction a, b;
  glm.predict(make({{1, 1.0}}), a);
  glm.predict(make({}), b);
  EXPECT_NEAR(a.value, b.value, 1e-9);  // the noise weight is exactly 0
}

TEST(KnownAnswer, ClassificationMetrics) {
  ClassificationMetrics m;
  // truth, predicted label, P(class 1)
  struct E {
    uint32_t y, pred;
    double p1;
  } events[] = {{0, 0, 0.1}, {0, 1, 0.4}, {1, 0, 0.35}, {1, 1, 0.8}};
  for (auto e : events) m.update(e.y, true, e.pred, e.y ? e.p1 : 1 - e.p1, 1 - e.p1, e.p1);
  EXPECT_DOUBLE_EQ(m.accuracy(), 0.5);
  EXPECT_DOUBLE_EQ(m.f1(), 0.5);  // tp 1, fp 1, fn 1
  EXPECT_DOUBLE_EQ(m.f1(0), 0.5);
  EXPECT_DOUBLE_EQ(m.roc_auc(), 0.75);
  EXPECT_EQ(m.report(true, 1).count("roc_auc"), 1u);
  EXPECT_EQ(m.report(false, 1).count("macro_f1"), 1u);
  double ll = -(std::log(0.9) + std::log(0.6) + std::log(0.35) + std::log(0.8)) / 4;
  EXPECT_NEAR(m.log_loss(), ll, 1e-12);
  // Numbered the other way round (the positive class is 0), the same events give the
  // same ROC AUC, and the F1 of class 0.
  ClassificationMetrics swapped;
  for (auto e : events) {
    swapped.update(1 - e.y, true, 1 - e.pred, e.y ? e.p1 : 1 - e.p1, e.p1, 1 - e.p1);
  }
  EXPECT_DOUBLE_EQ(swapped.roc_auc(0), 0.75);
  EXPECT_DOUBLE_EQ(m.roc_auc(0), 0.75);
  // P(class 1) read as a score of class 0 (an anomaly detector's, when the anomalies are
  // class 0) ranks class 0 the wrong way round here.
  EXPECT_DOUBLE_EQ(m.score_auc(0), 0.25);
  EXPECT_DOUBLE_EQ(m.score_auc(1), 0.75);
  EXPECT_DOUBLE_EQ(swapped.f1(0), m.f1(1));
  EXPECT_DOUBLE_EQ(swapped.report(true, 0).at("f1"), 0.5);
  // Reverting the last event gives the metrics of the first three.
  m.update(1, true, 1, 0.8, 0.2, 0.8, -1.0);
  EXPECT_NEAR(m.accuracy(), 1.0 / 3, 1e-12);

  ClassificationMetrics multi;
  multi.update(0, true, 0, 1, 0, 0);
  multi.update(1, true, 2, 0, 0, 0);
  multi.update(2, true, 2, 1, 0, 0);
  // F1: class 0 = 1, class 1 = 0, class 2 = 2/3.
  EXPECT_NEAR(multi.macro_f1(), (1 + 0 + 2.0 / 3) / 3, 1e-12);
}

TEST(KnownAnswer, RegressionMetricsAndRevert) {
  RegressionMetrics m;
  m.update(1, 1);
  m.update(2, 2);
  m.update(3, 4);
  EXPECT_DOUBLE_EQ(m.mae(), 1.0 / 3);
  EXPECT_DOUBLE_EQ(m.rmse(), std::sqrt(1.0 / 3));
  EXPECT_DOUBLE_EQ(m.r2(), 0.5);
  m.update(1, 1, -1.0);
  EXPECT_DOUBLE_EQ(m.mae(), 0.5);
  EXPECT_NEAR(m.r2(), 1 - 1.0 / 0.5, 1e-12);
}

TEST(KnownAnswer, RollingWindowForgetsOldEvents) {
  Pipeline p("linear_regression(lr=0.000000001, intercept_lr=0)");  // predicts about 0
  ProgressiveValidation pv(p, 0, 2);
  for (double y : {10.0, 1.0, 1.0}) pv.process(make({{0, 1}}), Target::of_value(y));
  EXPECT_NEAR(pv.metrics().at("mae"), 4.0, 1e-6);
  EXPECT_NEAR(pv.rolling_metrics().at("mae"), 1.0, 1e-6);
}

TEST(KnownAnswer, DelayedLabelsAreLearnedLaterFromTheSameFeatures) {
  Pipeline now("linear_regression(lr=0.1)");
  Pipeline later("linear_regression(lr=0.1)");
  ProgressiveValidation delayed(later, 3);
  for (int i = 0; i < 10; ++i) {
    auto x = make({{0, static_cast<double>(i % 3)}});
    delayed.process(x, Target::of_value(i));
  }
  // After 10 events with delay 3, events 0..6 have been learned.
  for (int i = 0; i < 7; ++i)
    now.learn(make({{0, static_cast<double>(i % 3)}}), Target::of_value(i));
  Prediction a, b;
  now.predict(make({{0, 1.0}}), a);
  later.predict(make({{0, 1.0}}), b);
  EXPECT_DOUBLE_EQ(a.value, b.value);
  delayed.finish();
  for (int i = 7; i < 10; ++i)
    now.learn(make({{0, static_cast<double>(i % 3)}}), Target::of_value(i));
  now.predict(make({{0, 1.0}}), a);
  later.predict(make({{0, 1.0}}), b);
  EXPECT_DOUBLE_EQ(a.value, b.value);
}

TEST(Expression, ParsesAndRejectsWithClearMessages) {
  auto steps =
      parse_expression(" standard_scaler | logistic_regression( optimizer=ftrl , l2=0.01 )");
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[1].params.at("optimizer"), "ftrl");
  EXPECT_EQ(steps[1].params.at("l2"), "0.01");

  auto message = [](const std::string& expr) {
    try {
      Pipeline p(expr);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("logistic_regresion").find("valid: "), std::string::npos);
  EXPECT_NE(message("logistic_regresion").find("logistic_regression"), std::string::npos);
  std::string m = message("logistic_regression(lr=0.1, colour=red)");
  EXPECT_NE(m.find("unknown parameter 'colour'"), std::string::npos) << m;
  EXPECT_NE(m.find("l2"), std::string::npos) << m;
  EXPECT_NE(message("logistic_regression(optimizer=rmsprop)").find("sgd, adagrad, adam, ftrl"),
            std::string::npos);
  EXPECT_NE(message("logistic_regression(lr=abc)").find("expects a number"), std::string::npos);
  EXPECT_NE(message("standard_scaler").find("must end with a model"), std::string::npos);
  EXPECT_NE(message("gaussian_nb | standard_scaler").find("last step"), std::string::npos);
  EXPECT_NE(message("a | (").find("column"), std::string::npos);
}

TEST(Drift, AdwinFindsAChangeOfMeanAndNotNoise) {
  Adwin adwin;
  uint64_t state = 42;
  auto uniform = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<double>(state >> 11) * 0x1.0p-53;
  };
  int false_alarms = 0, detected_at = -1;
  for (int i = 0; i < 4000; ++i) {
    double p = i < 2000 ? 0.2 : 0.8;
    adwin.update(uniform() < p ? 1.0 : 0.0);
    if (adwin.drift_detected()) {
      if (i < 2000)
        ++false_alarms;
      else if (detected_at < 0)
        detected_at = i;
    }
  }
  EXPECT_EQ(false_alarms, 0);
  EXPECT_GE(detected_at, 2000);
  EXPECT_LT(detected_at, 2200);
  EXPECT_NEAR(adwin.estimation(), 0.8, 0.1);
}

TEST(Drift, PageHinkleyAndDdmFindChanges) {
  PageHinkley ph;
  int ph_at = -1;
  for (int i = 0; i < 2000 && ph_at < 0; ++i) {
    ph.update(i < 1000 ? (i % 2) * 0.1 : 5.0 + (i % 2) * 0.1);
    if (ph.drift_detected()) ph_at = i;
  }
  EXPECT_GE(ph_at, 1000);
  EXPECT_LT(ph_at, 1050);

  Ddm ddm;
  int ddm_at = -1;
  bool warned = false;
  for (int i = 0; i < 4000 && ddm_at < 0; ++i) {
    ddm.update(i < 2000 ? (i % 10 == 0) : (i % 2 == 0));
    warned = warned || ddm.warning_detected();
    if (ddm.drift_detected()) ddm_at = i;
  }
  EXPECT_GE(ddm_at, 2000);
  EXPECT_LT(ddm_at, 2200);
}

}  // namespace
}  // namespace rtml

namespace rtml {
namespace {

TEST(KnownAnswer, KnnRowsAreSparseWhateverTheIndices) {
  // Hashed features reach indices near 2^bits; rows must cost what they hold. Three rows
  // at indices 3 and 1e9; the query (0, 1) is nearest the class-1 rows.
  Pipeline p("knn(n_neighbors=2, window_size=10)");
  auto row = [](double a, double b) {
    Features f;
    f.add(1000000000, b);
    f.add(3, a);  // out of order on purpose
    return f;
  };
  p.learn(row(5, 5), Target::of_class(0));
  p.learn(row(0, 2), Target::of_class(1));
  p.learn(row(1, 1), Target::of_class(1));
  Prediction out;
  p.predict(row(0, 1), out);
  ASSERT_TRUE(out.has_label);
  EXPECT_EQ(out.label, 1u);
  // Squared distances 1 and 1: equal votes, all for class 1.
  EXPECT_DOUBLE_EQ(out.proba[1], 1.0);
  p.predict(row(5, 5), out);  // an exact match decides alone
  EXPECT_EQ(out.label, 0u);
  EXPECT_DOUBLE_EQ(out.proba[0], 1.0);
}

// Rows with the usual feature set are also measured column by column; rows with other
// sets (a missing feature, an extra one, a different schema for a while) only as sparse
// rows. Every prediction must be the brute-force one: the k nearest by the sparse
// distance, whatever layout each row sits in.
TEST(KnownAnswer, KnnColumnsGiveTheSparseDistances) {
  constexpr size_t kWindow = 50, kNeighbors = 3;
  KNearestNeighbors knn(true, kNeighbors, kWindow, false);  // regressor, plain mean
  Random rng(21);
  std::vector<std::pair<std::map<uint32_t, double>, double>> window;  // oldest first
  auto event = [&](int i, Features& x, std::map<uint32_t, double>& dense) {
    x.clear();
    dense.clear();
    std::vector<uint32_t> indices = {0, 1, 2, 3};
    if (i >= 1000 && i < 1500) indices = {5, 6};  // another schema, longer than the window
    if (i % 7 == 0) indices.erase(indices.begin());
    if (i % 11 == 0) indices.push_back(9);
    for (uint32_t f : indices) {
      double v = rng.uniform();
      x.add(f, v);
      dense[f] = v;
    }
  };
  Features x;
  std::map<uint32_t, double> dense;
  Prediction out;
  int compared = 0;
  for (int i = 0; i < 3000; ++i) {
    event(i, x, dense);
    if (!window.empty()) {
      std::vector<std::pair<double, double>> by_distance;  // (squared distance, target)
      for (const auto& [row, target] : window) {
        std::map<uint32_t, double> keys = row;
        for (const auto& [f, v] : dense) keys.emplace(f, 0.0);
        double d = 0;
        for (const auto& [f, unused] : keys) {
          auto a = row.find(f);
          auto b = dense.find(f);
          double diff = (a == row.end() ? 0.0 : a->second) - (b == dense.end() ? 0.0 : b->second);
          d += diff * diff;
        }
        by_distance.emplace_back(d, target);
      }
      std::sort(by_distance.begin(), by_distance.end());
      size_t k = std::min(kNeighbors, by_distance.size());
      double mean = 0;
      for (size_t j = 0; j < k; ++j) mean += by_distance[j].second;
      knn.predict(x, out);
      ASSERT_NEAR(out.value, mean / k, 1e-12) << "event " << i;
      ++compared;
    }
    double y = rng.uniform();
    knn.learn(x, Target::of_value(y), 1.0);
    window.emplace_back(dense, y);
    if (window.size() > kWindow) window.erase(window.begin());
  }
  EXPECT_EQ(compared, 2999);
}

}  // namespace
}  // namespace rtml
