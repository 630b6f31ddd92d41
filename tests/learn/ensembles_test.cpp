// The ensembles over any base model (bagging, leveraging bagging, streaming random
// patches, boosting), ALMA, and the expression syntax that hands a model to a model.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "rtml/core/error.h"
#include "rtml/core/random.h"
#include "rtml/learn/ensemble/bagging.h"
#include "rtml/learn/ensemble/oza_boosting.h"
#include "rtml/learn/ensemble/streaming_random_patches.h"
#include "rtml/learn/linear/alma.h"
#include "rtml/learn/pipeline.h"

namespace rtml {
namespace {

std::string error_of(const std::string& expression) {
  try {
    Pipeline p(expression);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Two numbers in [0, 1); the class is x0 > x1, flipped from event `flip_at` on.
struct Stream {
  Random rng{7};
  uint32_t a, b;
  explicit Stream(Pipeline& p) : a(p.schema().intern("a")), b(p.schema().intern("b")) {
    p.labels().intern("no", true);
    p.labels().intern("yes", true);
  }
  Target next(Features& x, int i, int flip_at, int n_noise = 0) {
    x.clear();
    double u = rng.uniform(), v = rng.uniform();
    x.add(a, u);
    x.add(b, v);
    for (int k = 0; k < n_noise; ++k) x.add(b + 1 + k, rng.uniform());
    bool y = (u > v) != (i >= flip_at);
    return Target::of_class(y ? 1 : 0);
  }
};

// Progressive accuracy over events [from, to) of a stream whose concept flips at flip_at.
double accuracy(Pipeline& p, int from, int to, int flip_at, int n_noise = 0) {
  Stream s(p);
  for (int k = 0; k < n_noise; ++k) p.schema().intern("noise" + std::to_string(k));
  Features x;
  Prediction out;
  int right = 0;
  for (int i = 0; i < to; ++i) {
    Target y = s.next(x, i, flip_at, n_noise);
    p.predict_then_learn(x, y, out);
    if (i >= from) right += out.has_label && out.label == y.label;
  }
  return static_cast<double>(right) / (to - from);
}

TEST(ModelParameters, NestedExpressionsAreParsedAndWrittenBackInFull) {
  Pipeline p(
      "leveraging_bagging(model = hoeffding_tree(grace_period=100, delta = 0.01), n_models=3)");
  const std::string& d = p.description();
  EXPECT_NE(d.find("model=hoeffding_tree(grace_period=100, delta=0.01, tau=0.05"),
            std::string::npos)
      << d;
  EXPECT_NE(d.find("n_models=3"), std::string::npos) << d;
  // The description builds the same pipeline again.
  EXPECT_EQ(Pipeline(d).description(), d);
  // A quoted model reads as a bare one.
  EXPECT_EQ(Pipeline("leveraging_bagging(model='hoeffding_tree(grace_period=100, delta=0.01)', "
                     "n_models=3)")
                .description(),
            d);
}

TEST(ModelParameters, BadModelsAreRefusedWithTheReason) {
  EXPECT_NE(error_of("oza_bagging(model=standard_scaler)").find("is a transform"),
            std::string::npos);
  EXPECT_NE(error_of("oza_bagging(model=nope)").find("unknown model or transform 'nope'"),
            std::string::npos);
  EXPECT_NE(error_of("oza_bagging(model=hoeffding_tree(nope=1))").find("unknown parameter 'nope'"),
            std::string::npos);
  EXPECT_NE(error_of("oza_bagging(model=hoeffding_tree(grace_period=1)").find("expected ')'"),
            std::string::npos);
  EXPECT_NE(error_of("oza_bagging(model=hoeffding_tree])").find("unbalanced ']'"),
            std::string::npos);
  EXPECT_NE(error_of("oza_bagging(model='standard_scaler | logistic_regression')")
                .find("put transforms before the oza_bagging"),
            std::string::npos);
  EXPECT_NE(error_of("leveraging_bagging(model=linear_regression)").find("is a regressor"),
            std::string::npos);
  EXPECT_NE(error_of("streaming_random_patches(subspace_size=1.5)").find("subspace_size"),
            std::string::npos);
  EXPECT_NE(error_of("oza_bagging(n_models=0)").find("n_models"), std::string::npos);
  EXPECT_NE(error_of("oza_bagging(model=kmeans)").find("learns without labels"), std::string::npos);
  EXPECT_NE(error_of("bandit_select(models=[gaussian_nb, half_space_trees])")
                .find("learns without labels"),
            std::string::npos);
}

TEST(ModelParameters, HostileNestingIsRefusedBeforeItCosts) {
  std::string deep = "gaussian_nb";
  for (int i = 0; i < 40; ++i) deep = "oza_bagging(n_models=1, model=" + deep + ")";
  EXPECT_NE(error_of(deep).find("levels deep"), std::string::npos);
  // 1000 x 1000 x 10 trees: refused, not built.
  EXPECT_NE(error_of("oza_bagging(n_models=1000, model=oza_bagging(n_models=1000, "
                     "model=leveraging_bagging))")
                .find("more than 100000 models"),
            std::string::npos);
  // Forests grow their trees at the first event: they count as built all the same.
  EXPECT_NE(error_of("oza_bagging(n_models=10000, model=adaptive_random_forest(n_models=100))")
                .find("more than 100000 models"),
            std::string::npos);
  // Within the bounds, nesting works: bagged boosted naive Bayes.
  Pipeline ok("oza_bagging(n_models=3, model=oza_boosting(n_models=3, model=gaussian_nb))");
  EXPECT_GT(accuracy(ok, 1000, 2000, 1 << 30), 0.8);
}

TEST(Ensembles, TakeTheirBaseModelsTaskAndReadCategoriesAsItDoes) {
  EXPECT_EQ(Pipeline("oza_bagging(model=logistic_regression)").task(), Task::kBinary);
  EXPECT_EQ(Pipeline("oza_bagging(model=linear_regression)").task(), Task::kRegression);
  EXPECT_EQ(Pipeline("oza_bagging").task(), Task::kMulticlass);
  EXPECT_TRUE(Pipeline("leveraging_bagging").encodes_categories());  // trees split on them
  EXPECT_FALSE(Pipeline("oza_bagging(model=gaussian_nb)").encodes_categories());
}

TEST(Ensembles, BaggedRegressorsAverageTheirMembers) {
  Pipeline p("oza_bagging(model=linear_regression(lr=0.05), n_models=5, seed=3)");
  uint32_t a = p.schema().intern("a");
  Random rng(1);
  Features x;
  Prediction out;
  double err = 0;
  for (int i = 0; i < 4000; ++i) {
    x.clear();
    double u = rng.uniform(-1, 1);
    x.add(a, u);
    p.predict_then_learn(x, Target::of_value(3 * u + 1), out);
    if (i >= 3000) err += std::abs(out.value - (3 * u + 1));
  }
  EXPECT_LT(err / 1000, 0.05);
}

TEST(Ensembles, DriftDetectingBaggingRecoversFromAConceptFlip) {
  for (const char* expr : {"adwin_bagging(n_models=5)", "leveraging_bagging(n_models=5)",
                           "leveraging_bagging(n_models=5, bagging_method=me)",
                           "leveraging_bagging(n_models=5, bagging_method=half)",
                           "leveraging_bagging(n_models=5, bagging_method=wt)",
                           "leveraging_bagging(n_models=5, bagging_method=subag)"}) {
    SCOPED_TRACE(expr);
    Pipeline p(expr);
    EXPECT_GT(accuracy(p, 5000, 8000, 3000), 0.85);
    auto& bagging = dynamic_cast<OnlineBagging&>(p.model());
    EXPECT_GT(bagging.replacements(), 0u);
  }
  // Plain online bagging has no detector: the trees it grew before the flip stay, and
  // they are slower to follow.
  Pipeline oza("oza_bagging(n_models=5)");
  Pipeline leveraging("leveraging_bagging(n_models=5)");
  EXPECT_LT(accuracy(oza, 3000, 4500, 3000), accuracy(leveraging, 3000, 4500, 3000));
}

TEST(Ensembles, RandomPatchesGiveMembersDistinctSubspaces) {
  // 8 features, 0.6 of them: 5 per member, the first 10 combinations of 5 in some order.
  Pipeline p("streaming_random_patches");
  EXPECT_GT(accuracy(p, 1000, 2000, 1 << 30, 6), 0.8);
  auto& srp = dynamic_cast<StreamingRandomPatches&>(p.model());
  std::set<std::vector<uint32_t>> seen;
  for (size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(srp.subspace(i).size(), 5u);
    seen.insert(srp.subspace(i));
  }
  EXPECT_EQ(seen.size(), 10u);
  // sqrt: round(sqrt(8)) + 1 = 4; resampling: every feature.
  Pipeline sq("streaming_random_patches(subspace_size=sqrt, n_models=3)");
  accuracy(sq, 0, 10, 1 << 30, 6);
  EXPECT_EQ(dynamic_cast<StreamingRandomPatches&>(sq.model()).subspace(0).size(), 4u);
  Pipeline rs("streaming_random_patches(training_method=resampling, n_models=3)");
  accuracy(rs, 0, 10, 1 << 30, 6);
  EXPECT_TRUE(dynamic_cast<StreamingRandomPatches&>(rs.model()).subspace(0).empty());
}

TEST(Ensembles, RandomPatchesReplaceMembersAfterADrift) {
  Pipeline p("streaming_random_patches(n_models=5, subspace_size=2)");
  EXPECT_GT(accuracy(p, 5000, 8000, 3000), 0.85);
  auto& srp = dynamic_cast<StreamingRandomPatches&>(p.model());
  EXPECT_GT(srp.drifts(), 0u);
  EXPECT_GT(srp.warnings(), 0u);
}

TEST(Ensembles, BoostingWeighsMembersByTheirErrors) {
  Pipeline p("oza_boosting(model=gaussian_nb, n_models=4)");
  EXPECT_GT(accuracy(p, 2000, 3000, 1 << 30), 0.85);
  auto& boost = dynamic_cast<OzaBoosting&>(p.model());
  // The first member sees every event at weight 1 and errs on few: a heavy vote.
  EXPECT_GT(boost.vote_weight(0), 1.0);
}

TEST(Alma, UpdatesOnMarginMistakesAndStaysInTheUnitBall) {
  // By hand, p = 2, alpha 0.9, B 1/0.9, C sqrt(2):
  // 1. x = (1, 0), y = +1, k = 1: w.x = 0 < 0.1 B: w = sqrt(2) (1, 0), norm sqrt(2) -> (1, 0).
  // 2. x = (0.5, 1), y = -1, k = 2: -w.x = -0.5 < 0.1 B / sqrt(2): eta = 1,
  //    w = (0.5, -1), norm sqrt(1.25) -> (0.4472, -0.8944).
  // 3. x = (1, 0), y = +1, k = 3: w.x = 0.4472 >= 0.1 B / sqrt(3) = 0.0642: no update.
  Pipeline p("alma");
  uint32_t a = p.schema().intern("a"), b = p.schema().intern("b");
  p.labels().intern("no", true);
  p.labels().intern("yes", true);
  auto& alma = dynamic_cast<Alma&>(p.model());
  Features x;
  x.add(a, 1);
  x.add(b, 0);
  p.learn(x, Target::of_class(1));
  EXPECT_NEAR(alma.weights()[a], 1.0, 1e-12);
  EXPECT_EQ(alma.k(), 2u);
  Features x2;
  x2.add(a, 0.5);
  x2.add(b, 1);
  p.learn(x2, Target::of_class(0));
  EXPECT_NEAR(alma.weights()[a], 0.5 / std::sqrt(1.25), 1e-12);
  EXPECT_NEAR(alma.weights()[b], -1 / std::sqrt(1.25), 1e-12);
  EXPECT_EQ(alma.k(), 3u);
  p.learn(x, Target::of_class(1));
  EXPECT_EQ(alma.k(), 3u);
  Prediction out;
  p.predict(x, out);
  EXPECT_NEAR(out.value, 1 / (1 + std::exp(-0.5 / std::sqrt(1.25))), 1e-12);
  EXPECT_EQ(out.label, 1u);
}

TEST(Random, PoissonDrawsAtLargeRatesAreRightOnAverage) {
  Random rng(5);
  for (double lambda : {0.0, 1.0, 6.0, 45.0, 300.0, 5000.0, 1e7}) {
    double sum = 0;
    const int n = 2000;
    for (int i = 0; i < n; ++i) sum += rng.poisson(lambda);
    double mean = sum / n;
    // Four standard errors of the mean.
    EXPECT_NEAR(mean, lambda, 4 * std::sqrt(lambda / n) + 1e-9) << "lambda " << lambda;
  }
}

}  // namespace
}  // namespace rtml
