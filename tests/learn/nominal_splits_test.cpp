// Nominal splits: the Hoeffding trees and the forests split on categorical columns (one
// category against the rest), on a seeded stream where the label is carried by a
// category and nothing else.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <memory>

#include "rtml/core/random.h"
#include "rtml/learn/ensemble/adaptive_random_forest.h"
#include "rtml/learn/tree/hoeffding_adaptive_tree.h"
#include "rtml/learn/tree/hoeffding_tree.h"
#include "rtml/learn/tree/hoeffding_tree_regressor.h"

namespace rtml {
namespace {

// Column 0 holds one of 20 categories, column 1 one of 5 (noise), and numeric feature 0
// is uniform noise. The label is whether column 0 is 3, 7 or 11 (15% of events), with
// 5% of labels flipped; the regression target is 10 on those categories, else 0, plus
// standard normal noise.
class CategoryStream {
 public:
  explicit CategoryStream(uint64_t seed) : rng_(seed) {}
  void next(Features& x, bool& positive, double& value) {
    x.clear();
    auto c0 = static_cast<uint32_t>(rng_.below(20));
    x.add_category(0, c0);
    x.add_category(1, static_cast<uint32_t>(rng_.below(5)));
    x.add(0, rng_.uniform());
    bool in = c0 == 3 || c0 == 7 || c0 == 11;
    positive = rng_.uniform() < 0.05 ? !in : in;
    value = (in ? 10.0 : 0.0) + rng_.normal();
  }

 private:
  Random rng_;
};

// Progressive accuracy of a classifier over events [from, to).
double accuracy(Model& m, uint64_t seed, int from, int to) {
  CategoryStream s(seed);
  Features x;
  Prediction p;
  bool positive;
  double value;
  int right = 0;
  for (int i = 0; i < to; ++i) {
    s.next(x, positive, value);
    m.predict(x, p);
    if (i >= from) right += p.has_label && p.label == static_cast<uint32_t>(positive);
    m.learn(x, Target::of_class(positive), 1.0);
  }
  return static_cast<double>(right) / (to - from);
}

TEST(NominalSplits, ClassifiersLearnAClassCarriedByACategory) {
  HoeffdingTreeClassifier::Config mc;
  // Majority-class leaves: only splits can tell the categories apart (naive Bayes
  // leaves would learn this stream without splitting).
  mc.leaf_prediction = HoeffdingTreeClassifier::LeafPrediction::kMajority;
  HoeffdingTreeClassifier ht(mc);
  HoeffdingAdaptiveTreeClassifier hat(HoeffdingAdaptiveTreeClassifier::Config{});
  AdaptiveRandomForest::Config fc;
  fc.seed = 2;
  AdaptiveRandomForest forest(fc);
  // Labels are 95% right at best; the majority class scores 0.81.
  EXPECT_GT(accuracy(ht, 1, 20000, 30000), 0.93);
  EXPECT_GT(ht.leaf_count(), 3u);  // three categories, each split off the rest
  EXPECT_GT(accuracy(hat, 1, 20000, 30000), 0.93);
  EXPECT_GT(accuracy(forest, 1, 20000, 30000), 0.93);
}

// Mean absolute error of a regressor over events [10000, 20000).
double late_mae(Model& m) {
  CategoryStream s(4);
  Features x;
  Prediction p;
  bool positive;
  double value, error = 0;
  for (int i = 0; i < 20000; ++i) {
    s.next(x, positive, value);
    m.predict(x, p);
    if (i >= 10000) error += std::abs(p.value - value);
    m.learn(x, Target::of_value(value), 1.0);
  }
  return error / 10000;
}

TEST(NominalSplits, RegressorsSplitOnACategory) {
  HoeffdingTreeRegressor::Config c;
  c.leaf_prediction = HoeffdingTreeRegressor::LeafPrediction::kMean;
  HoeffdingTreeRegressor tree(c);
  AdaptiveRandomForest::Config fc;
  fc.regression = true;
  AdaptiveRandomForest forest(fc);
  // One mean for every event would score about 2.6; the noise alone scores 0.8.
  EXPECT_LT(late_mae(tree), 1.0);
  EXPECT_LT(late_mae(forest), 1.0);
}

TEST(NominalSplits, SaveAndLoadKeepCategoricalStatisticsAndSplits) {
  std::vector<std::function<std::unique_ptr<Model>()>> makers = {
      [] { return std::make_unique<HoeffdingTreeClassifier>(HoeffdingTreeClassifier::Config{}); },
      [] {
        return std::make_unique<HoeffdingAdaptiveTreeClassifier>(
            HoeffdingAdaptiveTreeClassifier::Config{});
      },
      [] { return std::make_unique<AdaptiveRandomForest>(AdaptiveRandomForest::Config{}); },
      [] { return std::make_unique<HoeffdingTreeRegressor>(HoeffdingTreeRegressor::Config{}); },
  };
  for (auto& make : makers) {
    auto m = make();
    SCOPED_TRACE(m->kind());
    bool regression = m->task() == Task::kRegression;
    CategoryStream s(6);
    Features x;
    bool positive;
    double value;
    auto target = [&] { return regression ? Target::of_value(value) : Target::of_class(positive); };
    for (int i = 0; i < 8000; ++i) {
      s.next(x, positive, value);
      m->learn(x, target(), 1.0);
    }
    BinaryWriter w;
    m->save(w);
    auto copy = make();
    BinaryReader r(w.bytes(), "mem");
    copy->load(r);
    ASSERT_TRUE(r.at_end());
    Prediction p1, p2;
    for (int i = 0; i < 4000; ++i) {
      s.next(x, positive, value);
      m->predict(x, p1);
      copy->predict(x, p2);
      ASSERT_EQ(p1.proba, p2.proba) << "event " << i;
      ASSERT_EQ(p1.value, p2.value) << "event " << i;
      m->learn(x, target(), 1.0);
      copy->learn(x, target(), 1.0);
    }
  }
}

}  // namespace
}  // namespace rtml
