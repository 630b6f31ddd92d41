// Every model and transform saves and loads: a reloaded pipeline predicts exactly as
// before, and learning on from it gives exactly what learning on without saving gives.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../test_util.h"
#include "rtml/core/error.h"
#include "rtml/core/random.h"
#include "rtml/learn/pipeline.h"
#include "rtml/learn/registry.h"
#include "synthetic_events.h"

namespace rtml {
namespace {

using test::stream;

std::vector<std::string> expressions() {
  std::vector<std::string> out;
  for (const auto& c : components()) {
    // The selectors have no default candidates: they are listed below.
    if (!c.make_model || c.name == "successive_halving" || c.name == "bandit_select") continue;
    std::string m = c.name;
    out.push_back("one_hot | standard_scaler | " + m);
    out.push_back("feature_hasher(bits=8, alternate_sign=true) | min_max_scaler | " + m);
  }
  out.push_back(
      "one_hot | pairwise_interactions | standard_scaler | logistic_regression(optimizer=adam)");
  out.push_back("one_hot | standard_scaler | logistic_regression(optimizer=adagrad, l1=0.01)");
  out.push_back("one_hot | standard_scaler | logistic_regression(optimizer=ftrl, l1=0.1, l2=1)");
  out.push_back(
      "one_hot | standard_scaler | linear_regression(optimizer=sgd, schedule=inverse_scaling)");
  out.push_back("one_hot | standard_scaler | softmax_regression(optimizer=adam)");
  // Recommenders on a categorical user and a numeric item column (every value a new item).
  out.push_back("biased_mf(user=f4, item=f0, n_factors=3)");
  out.push_back("funk_mf(user=f4, item=f0)");
  out.push_back("fm(user=f4, item=f0, n_factors=4)");
  out.push_back("fm(user=f4, item=f1, loss=log)");
  out.push_back("hoeffding_adaptive_tree(grace_period=50, seed=3)");
  out.push_back("hoeffding_adaptive_tree_regressor(grace_period=50, seed=3)");
  out.push_back("adaptive_random_forest(n_models=3, grace_period=30)");
  for (const char* m :
       {"successive_halving(models=[logistic_regression, gaussian_nb], budget=300)",
        "successive_halving(models=[linear_regression, hoeffding_tree_regressor, knn_regressor], "
        "budget=600)",
        "bandit_select(models=[hoeffding_tree, gaussian_nb], burn_in=10)",
        "bandit_select(models=[linear_regression, knn_regressor], policy=ucb, burn_in=5)"}) {
    out.push_back(std::string("one_hot | standard_scaler | ") + m);
  }
  return out;
}

TEST(Persistence, EveryPipelineRoundTripsExactly) {
  test::TempDir dir;
  for (const auto& expr : expressions()) {
    SCOPED_TRACE(expr);
    Pipeline original(expr);
    Task task = original.task();
    if (task != Task::kRegression) {
      for (const char* c : {"zero", "one", "two"})
        original.labels().intern(c, task == Task::kBinary);
    }
    auto events = stream(original, task, 900, 11);
    for (int i = 0; i < 500; ++i) original.learn(events[i].x, events[i].y);
    original.save(dir.file("m.rtml"));
    Pipeline loaded = Pipeline::load(dir.file("m.rtml"));
    Pipeline copy = original.clone();
    EXPECT_EQ(loaded.description(), original.description());
    EXPECT_EQ(loaded.labels().size(), original.labels().size());

    Prediction a, b, c;
    for (int i = 500; i < 900; ++i) {
      original.predict_then_learn(events[i].x, events[i].y, a);
      loaded.predict_then_learn(events[i].x, events[i].y, b);
      copy.predict_then_learn(events[i].x, events[i].y, c);
      ASSERT_EQ(a.value, c.value) << "event " << i << " (the clone)";
      ASSERT_EQ(a.proba, c.proba);
      ASSERT_EQ(a.value, b.value) << "event " << i;
      ASSERT_EQ(a.has_label, b.has_label);
      if (a.has_label) {
        ASSERT_EQ(a.label, b.label);
      }
      ASSERT_EQ(a.proba, b.proba);
    }
    // Both saved again give the same bytes: the same model.
    original.save(dir.file("a.rtml"));
    loaded.save(dir.file("b.rtml"));
    std::ifstream fa(dir.file("a.rtml"), std::ios::binary),
        fb(dir.file("b.rtml"), std::ios::binary);
    std::string sa((std::istreambuf_iterator<char>(fa)), {}),
        sb((std::istreambuf_iterator<char>(fb)), {});
    EXPECT_EQ(sa, sb);
  }
}

TEST(Persistence, CorruptOrTruncatedModelFilesAreRefused) {
  test::TempDir dir;
  Pipeline p("standard_scaler | logistic_regression");
  auto events = stream(p, Task::kBinary, 50, 3);
  p.labels().intern("no", true);
  p.labels().intern("yes", true);
  for (auto& e : events) p.learn(e.x, e.y);
  p.save(dir.file("m.rtml"));
  std::ifstream f(dir.file("m.rtml"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), {});

  std::string corrupt = bytes;
  corrupt[corrupt.size() / 2] ^= 1;
  dir.write("corrupt.rtml", corrupt);
  dir.write("truncated.rtml", bytes.substr(0, bytes.size() - 20));
  dir.write("text.rtml", "standard_scaler | logistic_regression\n");
  for (const char* name : {"corrupt.rtml", "truncated.rtml", "text.rtml", "absent.rtml"}) {
    try {
      Pipeline::load(dir.file(name));
      FAIL() << name << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace rtml
