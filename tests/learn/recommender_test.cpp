// Recommenders on synth:ratings: biased MF against the running-mean baseline before and
// after the change of tastes, the top-k call, and factorisation machines for clicks.
#include "rtml/learn/recommend/recommender.h"

#include <gtest/gtest.h>

#include <cmath>

#include "rtml/core/error.h"
#include "rtml/learn/pipeline.h"
#include "rtml/stream/synthetic.h"

namespace rtml {
namespace {

// Feeds a ratings stream to pipelines, as rtml eval does, and gives each pipeline's
// progressive MAE over the first and second half (the tastes change at the middle).
struct HalvesMae {
  double before = 0, after = 0;
};

std::vector<HalvesMae> run_ratings(std::vector<Pipeline*> pipelines, uint64_t n, uint64_t seed,
                                   bool clicks = false) {
  auto source =
      make_generator("ratings", {{"n", std::to_string(n)}, {"seed", std::to_string(seed)}});
  std::vector<HalvesMae> out(pipelines.size());
  Row row;
  Features x;
  Prediction p;
  uint64_t t = 0;
  while (source->next(row)) {
    for (size_t m = 0; m < pipelines.size(); ++m) {
      Pipeline& pl = *pipelines[m];
      Schema& schema = pl.schema();
      uint32_t user = schema.intern("user"), item = schema.intern("item");
      x.clear();
      x.add_category(user, schema.intern_category(user, row.values[0].text));
      x.add_category(item, schema.intern_category(item, row.values[1].text));
      double rating = row.values[2].number;
      Target y = clicks ? Target::of_class(rating > 4.0 ? 1 : 0) : Target::of_value(rating);
      pl.predict_then_learn(x, y, p);
      double err = clicks ? -std::log(std::max(1e-15, y.label == 1 ? p.value : 1 - p.value))
                          : std::abs(p.value - rating);
      (t < n / 2 ? out[m].before : out[m].after) += err / (n / 2);
    }
    ++t;
  }
  return out;
}

TEST(Recommenders, BiasedMfBeatsTheRunningMeanBeforeAndAfterATasteChange) {
  Pipeline mean("running_mean");
  Pipeline mf("biased_mf(user=user, item=item, n_factors=10)");
  Pipeline funk("funk_mf(user=user, item=item, n_factors=10)");
  Pipeline fm("fm(user=user, item=item, n_factors=10)");
  auto r = run_ratings({&mean, &mf, &funk, &fm}, 200000, 1);
  // The bar: at least 10% lower MAE than the baseline in both halves.
  EXPECT_LT(r[1].before, 0.9 * r[0].before) << r[1].before << " vs " << r[0].before;
  EXPECT_LT(r[1].after, 0.9 * r[0].after) << r[1].after << " vs " << r[0].after;
  EXPECT_LT(r[3].before, 0.9 * r[0].before);  // the FM sees the same one-hot pairs
  EXPECT_LT(r[3].after, 0.9 * r[0].after);
  // FunkMF has no mean to start from: it trails the baseline at first, and not after.
  EXPECT_LT(r[2].after, r[0].after);
}

TEST(Recommenders, TopKRanksKnownItemsByThePredictedScore) {
  for (const char* expr :
       {"biased_mf(user=user, item=item, lr=0.05)", "funk_mf(user=user, item=item, lr=0.05)",
        "fm(user=user, item=item, lr=0.05)"}) {
    SCOPED_TRACE(expr);
    Pipeline p(expr);
    run_ratings({&p}, 50000, 2);
    auto top = p.recommend("u7", 10);
    ASSERT_EQ(top.size(), 10u);
    Schema& schema = p.schema();
    uint32_t user = schema.intern("user"), item = schema.intern("item");
    Features x;
    Prediction pred;
    for (size_t i = 0; i < top.size(); ++i) {
      if (i > 0) {
        EXPECT_GE(top[i - 1].second, top[i].second);
      }
      x.clear();
      x.add_category(user, schema.intern_category(user, "u7"));
      x.add_category(item, schema.intern_category(item, top[i].first));
      p.predict(x, pred);
      EXPECT_NEAR(pred.value, top[i].second, 1e-9) << top[i].first;
    }
    // Nothing unranked scores above the 10th: check every item the model knows.
    auto all = p.recommend("u7", 100000);
    EXPECT_EQ(all.size(), 500u);  // every item of the stream, once
    EXPECT_EQ(all[9].second, top[9].second);
    // An unknown user still gets a ranking (biases only) rather than an error.
    EXPECT_EQ(p.recommend("nobody", 3).size(), 3u);
  }
  Pipeline not_recommender("running_mean");
  EXPECT_THROW(not_recommender.recommend("u1", 3), Error);
}

TEST(Recommenders, FactorizationMachinePredictsClicks) {
  // A click is a rating above 4 (about one event in four).
  Pipeline fm("fm(user=user, item=item, loss=log, lr=0.05)");
  auto r = run_ratings({&fm}, 200000, 3, true);
  double base_rate = 0.27,
         constant = -(base_rate * std::log(base_rate) + (1 - base_rate) * std::log(1 - base_rate));
  EXPECT_EQ(fm.task(), Task::kBinary);
  // Better than the best constant probability once it has learned the pairs.
  EXPECT_LT(r[0].after, constant - 0.05) << r[0].after << " vs " << constant;
}

}  // namespace
}  // namespace rtml
