// A model that does not learn predicts from any number of threads at once, each with a
// workspace of its own, and every thread gets what one thread gets. Run under TSan in CI
// (the suite is named Concurrency for the TSan job's filter).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "rtml/learn/pipeline.h"
#include "rtml/learn/registry.h"
#include "synthetic_events.h"

namespace rtml {
namespace {

// Every model of the catalogue, reading the raw features (numbers and a category).
std::vector<std::string> models() {
  std::vector<std::string> out;
  for (const auto& c : components()) {
    if (c.make_model && c.name.find("_mf") == std::string::npos && c.name != "fm" &&
        c.name != "successive_halving" && c.name != "bandit_select") {
      out.push_back(c.name);
    }
  }
  out.push_back("biased_mf(user=f4, item=f0, n_factors=3)");
  out.push_back("funk_mf(user=f4, item=f0)");
  out.push_back("fm(user=f4, item=f0, n_factors=4)");
  out.push_back("hoeffding_adaptive_tree(grace_period=50, seed=3)");
  out.push_back("adaptive_random_forest(n_models=3, grace_period=30)");
  out.push_back("adaptive_random_forest_regressor(n_models=3, grace_period=30)");
  out.push_back("knn(window_size=64)");
  out.push_back("successive_halving(models=[hoeffding_tree, gaussian_nb], budget=200)");
  out.push_back("bandit_select(models=[linear_regression, knn_regressor], policy=ucb)");
  return out;
}

bool same(const Prediction& a, const Prediction& b) {
  return a.value == b.value && a.has_label == b.has_label && (!a.has_label || a.label == b.label) &&
         a.proba == b.proba;
}

TEST(Concurrency, ModelsPredictFromManyThreadsAsFromOne) {
  for (const auto& expr : models()) {
    SCOPED_TRACE(expr);
    Pipeline p(expr);
    Task task = p.task();
    if (task != Task::kRegression) {
      for (const char* c : {"zero", "one", "two"}) p.labels().intern(c, task == Task::kBinary);
    }
    auto events = test::stream(p, task, 700, 5);
    for (int i = 0; i < 500; ++i) p.learn(events[i].x, events[i].y);

    const Model& model = p.model();
    std::vector<Prediction> want(200);
    {
      Workspace one;
      for (size_t i = 0; i < want.size(); ++i) model.predict(events[500 + i].x, want[i], one);
    }
    std::atomic<int> differ{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t) {
      threads.emplace_back([&, t] {
        Workspace mine;
        Prediction got;
        for (int round = 0; round < 3; ++round) {
          for (size_t k = 0; k < want.size(); ++k) {
            size_t i = (k * (t + 1) + round) % want.size();  // each thread its own order
            model.predict(events[500 + i].x, got, mine);
            if (!same(got, want[i])) ++differ;
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(differ.load(), 0);
    // The model's own predict(x, out) agrees too, after the threads.
    Prediction own;
    p.model().predict(events[600].x, own);
    EXPECT_TRUE(same(own, want[100]));
  }
}

// A whole pipeline (encoders, interactions, scalers) predicts from a const copy on many
// threads as from one, and its copy (clone) predicts as the original does.
TEST(Concurrency, PipelinesPredictFromManyThreadsAsFromOne) {
  for (const std::string expr :
       {"one_hot | pairwise_interactions | standard_scaler | logistic_regression",
        "feature_hasher(bits=10) | min_max_scaler | softmax_regression",
        "one_hot | standard_scaler | hoeffding_tree"}) {
    SCOPED_TRACE(expr);
    Pipeline p(expr);
    for (const char* c : {"zero", "one", "two"}) {
      p.labels().intern(c, p.task() == Task::kBinary);
    }
    auto events = test::stream(p, p.task(), 700, 9);
    for (int i = 0; i < 500; ++i) p.learn(events[i].x, events[i].y);
    const Pipeline copy = p.clone();

    std::vector<Prediction> want(200);
    for (size_t i = 0; i < want.size(); ++i) p.predict(events[500 + i].x, want[i]);
    std::atomic<int> differ{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t) {
      threads.emplace_back([&, t] {
        Workspace mine;
        Prediction got;
        for (size_t k = 0; k < want.size(); ++k) {
          size_t i = (k * (t + 1) + 7) % want.size();
          copy.predict(events[500 + i].x, got, mine);
          if (!same(got, want[i])) ++differ;
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(differ.load(), 0);
  }
}

}  // namespace
}  // namespace rtml
