// Predict + learn per event over Elec2 decoded in memory, one core.
// Targets (issue 2): scaler + logistic regression >= 5 M events/s, Gaussian NB >= 3 M.
// Targets (issue 4): Hoeffding tree >= 1 M, Hoeffding adaptive tree >= 500 k, adaptive
// random forest (10 trees) >= 100 k, kNN (window 100) >= 300 k.
// Targets (issue 18): leveraging bagging (10 Hoeffding trees) >= 100 k, ALMA (the model
// alone) >= 5 M.
#include <benchmark/benchmark.h>

#include "bench_data.h"
#include "rtml/core/random.h"

namespace rtml::bench {
namespace {

void run_pipeline(benchmark::State& state, const char* expression) {
  Pipeline p(expression);
  auto events = elec2_events(p);
  Prediction out;
  size_t i = 0;
  for (auto _ : state) {
    const Event& e = events[i];
    p.predict_then_learn(e.x, e.y, out);
    benchmark::DoNotOptimize(out.value);
    if (++i == events.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(expression);
}

#define RTML_PIPELINE_BENCH(name, expr)                     \
  void name(benchmark::State& s) { run_pipeline(s, expr); } \
  BENCHMARK(name)

RTML_PIPELINE_BENCH(BM_ScalerLogisticRegression,
                    "standard_scaler | logistic_regression(optimizer=sgd, lr=0.005)");
RTML_PIPELINE_BENCH(BM_GaussianNB, "gaussian_nb");
RTML_PIPELINE_BENCH(BM_ScalerLogisticRegressionAdam,
                    "standard_scaler | logistic_regression(optimizer=adam)");
RTML_PIPELINE_BENCH(BM_ScalerLogisticRegressionFtrl,
                    "standard_scaler | logistic_regression(optimizer=ftrl)");
RTML_PIPELINE_BENCH(BM_MinMaxPerceptron, "min_max_scaler | perceptron");
RTML_PIPELINE_BENCH(BM_ScalerPAClassifier, "standard_scaler | pa_classifier");
RTML_PIPELINE_BENCH(BM_ScalerSoftmax, "standard_scaler | softmax_regression");
RTML_PIPELINE_BENCH(BM_MultinomialNB, "min_max_scaler | multinomial_nb");
RTML_PIPELINE_BENCH(BM_HoeffdingTree, "hoeffding_tree");
RTML_PIPELINE_BENCH(BM_HoeffdingAdaptiveTree, "hoeffding_adaptive_tree(seed=42)");
RTML_PIPELINE_BENCH(BM_AdaptiveRandomForest10, "adaptive_random_forest(n_models=10, seed=42)");
RTML_PIPELINE_BENCH(BM_ScalerKnn100, "standard_scaler | knn(window_size=100)");
// River's benchmark configuration (a 1000-event window, see docs/accuracy.md).
RTML_PIPELINE_BENCH(BM_ScalerKnn1000, "standard_scaler | knn");
RTML_PIPELINE_BENCH(BM_LeveragingBagging10, "leveraging_bagging(n_models=10, seed=42)");
RTML_PIPELINE_BENCH(BM_StreamingRandomPatches10, "streaming_random_patches(n_models=10, seed=42)");
RTML_PIPELINE_BENCH(BM_OzaBagging10, "oza_bagging(n_models=10, seed=42)");
RTML_PIPELINE_BENCH(BM_AdwinBagging10, "adwin_bagging(n_models=10, seed=42)");
RTML_PIPELINE_BENCH(BM_OzaBoosting10, "oza_boosting(n_models=10, seed=42)");
RTML_PIPELINE_BENCH(BM_Alma, "alma");
RTML_PIPELINE_BENCH(BM_ScalerAlma, "standard_scaler | alma");
RTML_PIPELINE_BENCH(BM_HasherLogisticRegression,
                    "feature_hasher(bits=18) | logistic_regression(optimizer=ftrl)");

// Issue 18: k-means with k = 10 over 10-dimensional points >= 2 M events/s, predict +
// learn per event through the pipeline, past its k-means++ warm-up (10 Gaussian blobs).
void BM_KMeans10x10(benchmark::State& state) {
  Pipeline p("kmeans(n_clusters=10)");
  Random rng(1);
  std::vector<uint32_t> index;
  for (int j = 0; j < 10; ++j) index.push_back(p.schema().intern("x" + std::to_string(j)));
  std::vector<double> centres(100);
  for (double& c : centres) c = rng.uniform(-10, 10);
  std::vector<Features> events(1 << 16);
  for (auto& x : events) {
    const size_t blob = rng.below(10);
    for (int j = 0; j < 10; ++j) x.add(index[j], centres[blob * 10 + j] + rng.normal());
  }
  for (size_t i = 0; i < 2000; ++i) p.learn(events[i], Target{});
  Prediction out;
  size_t i = 0;
  for (auto _ : state) {
    p.predict_then_learn(events[i], Target{}, out);
    benchmark::DoNotOptimize(out.label);
    if (++i == events.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel("kmeans(n_clusters=10), 10 features");
}
BENCHMARK(BM_KMeans10x10);

}  // namespace
}  // namespace rtml::bench
