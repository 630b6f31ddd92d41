// Half-space trees score rare far-off points above the crowd.
#include <gtest/gtest.h>

#include <algorithm>

#include "rtml/core/random.h"
#include "rtml/learn/anomaly/half_space_trees.h"

namespace rtml {
namespace {

TEST(HalfSpaceTrees, ScoresInjectedAnomaliesHigh) {
  HalfSpaceTrees hst(HalfSpaceTrees::Config{});
  Random rng(5);
  Features x;
  std::vector<std::pair<double, bool>> scored;  // (score, is anomaly)
  for (int i = 0; i < 20000; ++i) {
    bool anomaly = i > 1000 && rng.uniform() < 0.01;
    x.clear();
    for (uint32_t f = 0; f < 3; ++f) {
      // Normal events crowd around (0.3, 0.3, 0.3); anomalies anywhere in the cube.
      double v = anomaly ? rng.uniform() : std::clamp(0.3 + 0.05 * rng.normal(), 0.0, 1.0);
      x.add(f, v);
    }
    double s = hst.score(x);
    EXPECT_GE(s, 0.0);
    EXPECT_LE(s, 1.0);
    if (i < 250) {
      EXPECT_EQ(s, 0.0);  // no reference window yet
    }
    if (i > 1000) scored.emplace_back(s, anomaly);
    hst.learn(x, Target::of_class(0), 1.0);
  }
  // ROC AUC by counting ordered pairs.
  double pairs = 0, right = 0;
  for (const auto& [sa, a] : scored) {
    if (!a) continue;
    for (const auto& [sn, n] : scored) {
      if (n) continue;
      pairs += 1;
      right += sa > sn ? 1.0 : sa == sn ? 0.5 : 0.0;
    }
  }
  ASSERT_GT(pairs, 0);
  EXPECT_GT(right / pairs, 0.9);
}

TEST(HalfSpaceTrees, SameSeedSameScoresAndSaveLoadKeepsThem) {
  HalfSpaceTrees a(HalfSpaceTrees::Config{}), b(HalfSpaceTrees::Config{});
  HalfSpaceTrees::Config other_seed;
  other_seed.seed = 7;
  HalfSpaceTrees c(other_seed);
  Random rng(1);
  Features x;
  double differs = 0;
  for (int i = 0; i < 2000; ++i) {
    x.clear();
    for (uint32_t f = 0; f < 4; ++f) x.add(f, rng.uniform());
    ASSERT_EQ(a.score(x), b.score(x));
    differs += a.score(x) != c.score(x);
    for (HalfSpaceTrees* m : {&a, &b, &c}) m->learn(x, Target::of_class(0), 1.0);
  }
  EXPECT_GT(differs, 0);
  BinaryWriter w;
  a.save(w);
  HalfSpaceTrees loaded(HalfSpaceTrees::Config{});
  BinaryReader r(w.bytes(), "mem");
  loaded.load(r);
  for (int i = 0; i < 500; ++i) {
    x.clear();
    for (uint32_t f = 0; f < 4; ++f) x.add(f, rng.uniform());
    ASSERT_EQ(a.score(x), loaded.score(x));
    a.learn(x, Target::of_class(0), 1.0);
    loaded.learn(x, Target::of_class(0), 1.0);
  }
}

TEST(HalfSpaceTrees, WideFeatureIndicesCostOnlyTheFeaturesSeen) {
  // Hashed features have indices up to 2^bits; the trees must size by the features an
  // event has, not by the largest index (1e9 here would be gigabytes per node).
  HalfSpaceTrees hst(HalfSpaceTrees::Config{});
  Random rng(2);
  Features x;
  for (int i = 0; i < 1000; ++i) {
    x.clear();
    x.add(7, rng.uniform());
    x.add(1000000000, rng.uniform());
    hst.learn(x, Target::of_class(0), 1.0);
  }
  double s = hst.score(x);
  EXPECT_GE(s, 0.0);
  EXPECT_LE(s, 1.0);
}

}  // namespace
}  // namespace rtml
