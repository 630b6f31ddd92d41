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
#include "rtml/learn/tree/hoeffding_adaptive_tree_regressor.h"
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
  for (bool binary : {true, false}) {
    SCOPED_TRACE(binary ? "one category against the rest" : "a branch per category");
    HoeffdingTreeClassifier::Config mc;
    // Majority-class leaves: only splits can tell the categories apart (naive Bayes
    // leaves would learn this stream without splitting).
    mc.leaf_prediction = HoeffdingTreeClassifier::LeafPrediction::kMajority;
    mc.binary_split = binary;
    HoeffdingTreeClassifier ht(mc);
    HoeffdingAdaptiveTreeClassifier::Config hc;
    hc.binary_split = binary;
    HoeffdingAdaptiveTreeClassifier hat(hc);
    AdaptiveRandomForest::Config fc;
    fc.seed = 2;
    fc.binary_split = binary;
    AdaptiveRandomForest forest(fc);
    // Labels are 95% right at best; the majority class scores 0.81.
    EXPECT_GT(accuracy(ht, 1, 20000, 30000), 0.93);
    // Three categories split off the rest one by one, or a leaf per category.
    EXPECT_GE(ht.leaf_count(), binary ? 4u : 20u);
    EXPECT_GT(accuracy(hat, 1, 20000, 30000), 0.93);
    EXPECT_GT(accuracy(forest, 1, 20000, 30000), 0.93);
  }
}

TEST(NominalSplits, MultiwaySplitsGrowABranchForANewCategory) {
  HoeffdingTreeClassifier::Config c;
  c.leaf_prediction = HoeffdingTreeClassifier::LeafPrediction::kMajority;
  c.binary_split = false;
  HoeffdingTreeClassifier ht(c);
  CategoryStream s(3);
  Features x;
  Prediction p;
  bool positive;
  double value;
  for (int i = 0; i < 10000; ++i) {
    s.next(x, positive, value);
    ht.learn(x, Target::of_class(positive), 1.0);
  }
  size_t leaves = ht.leaf_count();
  ASSERT_GE(leaves, 20u);  // the root branches on column 0's 20 categories
  // A category no branch has seen takes the heaviest branch.
  x.clear();
  x.add_category(0, 99);
  ht.predict(x, p);
  EXPECT_TRUE(p.has_label);
  // Learning from a new category gives it a branch of its own, once.
  x.clear();
  x.add_category(0, 20);
  for (int i = 0; i < 50; ++i) ht.learn(x, Target::of_class(1), 1.0);
  EXPECT_EQ(ht.leaf_count(), leaves + 1);
  ht.predict(x, p);
  EXPECT_EQ(p.label, 1u);
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

// A multiway split meets a new category at every event: the trees stop growing branches
// for them at their memory limit.
TEST(NominalSplits, NewCategoriesStopGrowingBranchesAtTheMemoryLimit) {
  constexpr double kLimitMib = 0.25;
  HoeffdingTreeClassifier::Config hc;
  hc.binary_split = false;
  hc.max_size_mib = kLimitMib;
  hc.memory_estimate_period = 10000;
  HoeffdingTreeClassifier ht(hc);
  HoeffdingAdaptiveTreeClassifier::Config ac;
  ac.binary_split = false;
  ac.max_size_mib = kLimitMib;
  ac.memory_estimate_period = 10000;
  HoeffdingAdaptiveTreeClassifier hat(ac);
  HoeffdingTreeRegressor::Config rc;
  rc.binary_split = false;
  rc.max_size_mib = kLimitMib;
  rc.memory_estimate_period = 10000;
  HoeffdingTreeRegressor htr(rc);
  CategoryStream s(8);
  Features x;
  bool positive;
  double value;
  const size_t limit = static_cast<size_t>(kLimitMib * 1024 * 1024);
  for (int i = 0; i < 200000; ++i) {
    s.next(x, positive, value);
    if (i >= 10000) {  // past the first splits: a category never seen before
      x.clear();
      x.add_category(0, static_cast<uint32_t>(100 + i));
      x.add(0, 0.5);
    }
    ht.learn(x, Target::of_class(positive), 1.0);
    hat.learn(x, Target::of_class(positive), 1.0);
    htr.learn(x, Target::of_value(value), 1.0);
    if (i % 10000 == 9999) {
      ASSERT_LE(ht.memory_bytes(), limit) << "event " << i;
      ASSERT_LE(hat.memory_bytes(), limit) << "event " << i;
      ASSERT_LE(htr.memory_bytes(), limit) << "event " << i;
    }
  }
  EXPECT_GT(ht.leaf_count(), 20u);  // it did split on the column
}

TEST(NominalSplits, RegressorsSplitOnACategory) {
  for (bool binary : {true, false}) {
    SCOPED_TRACE(binary ? "one category against the rest" : "a branch per category");
    HoeffdingTreeRegressor::Config c;
    c.leaf_prediction = HoeffdingTreeRegressor::LeafPrediction::kMean;
    c.binary_split = binary;
    HoeffdingTreeRegressor tree(c);
    AdaptiveRandomForest::Config fc;
    fc.regression = true;
    fc.binary_split = binary;
    AdaptiveRandomForest forest(fc);
    HoeffdingAdaptiveTreeRegressor::Config ac;
    ac.leaf_prediction = HoeffdingTreeRegressor::LeafPrediction::kMean;
    ac.binary_split = binary;
    HoeffdingAdaptiveTreeRegressor adaptive(ac);
    // One mean for every event would score about 2.6; the noise alone scores 0.8.
    EXPECT_LT(late_mae(tree), 1.0);
    EXPECT_LT(late_mae(forest), 1.0);
    EXPECT_LT(late_mae(adaptive), 1.0);
  }
}

TEST(NominalSplits, SaveAndLoadKeepCategoricalStatisticsAndSplits) {
  std::vector<std::function<std::unique_ptr<Model>(bool)>> makers = {
      [](bool binary) {
        HoeffdingTreeClassifier::Config c;
        c.binary_split = binary;
        return std::make_unique<HoeffdingTreeClassifier>(c);
      },
      [](bool binary) {
        HoeffdingAdaptiveTreeClassifier::Config c;
        c.binary_split = binary;
        return std::make_unique<HoeffdingAdaptiveTreeClassifier>(c);
      },
      [](bool binary) {
        AdaptiveRandomForest::Config c;
        c.binary_split = binary;
        return std::make_unique<AdaptiveRandomForest>(c);
      },
      [](bool binary) {
        HoeffdingTreeRegressor::Config c;
        c.binary_split = binary;
        return std::make_unique<HoeffdingTreeRegressor>(c);
      },
      [](bool binary) {
        HoeffdingAdaptiveTreeRegressor::Config c;
        c.binary_split = binary;
        return std::make_unique<HoeffdingAdaptiveTreeRegressor>(c);
      },
  };
  for (size_t k = 0; k < 2 * makers.size(); ++k) {
    bool binary = k % 2 == 0;
    auto make = [&] { return makers[k / 2](binary); };
    auto m = make();
    SCOPED_TRACE(std::string(m->kind()) + (binary ? " binary" : " multiway"));
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

// The forest reuses its trees' answers from predict() when learn() gets the same event;
// an event that differs from the one predicted only in a category is another event, and
// the trees must be asked again. A forest shown such decoys before each event must stay
// the forest that never predicted.
TEST(NominalSplits, ForestDoesNotMistakeAnEventWithOtherCategoriesForThePredictedOne) {
  AdaptiveRandomForest::Config fc;
  fc.seed = 5;
  AdaptiveRandomForest shown(fc), plain(fc);
  CategoryStream s(4);
  Features x, decoy;
  Prediction p, q;
  bool positive;
  double value;
  int differ = 0;
  for (int i = 0; i < 6000; ++i) {
    s.next(x, positive, value);
    decoy.clear();
    decoy.add_category(0, (x.categories()[0].id + 1) % 20);  // the label's column changed
    decoy.add_category(1, x.categories()[1].id);
    decoy.add(0, x.numbers()[0].value);
    shown.predict(decoy, p);
    shown.learn(x, Target::of_class(positive), 1.0);
    plain.learn(x, Target::of_class(positive), 1.0);
    shown.predict(x, p);
    plain.predict(x, q);
    differ += p.proba != q.proba;
  }
  EXPECT_EQ(differ, 0);
}

}  // namespace
}  // namespace rtml
