// Hoeffding tree regressor (FIMT-style): variance reduction splits, mean or linear
// model leaves.
#pragma once

#include <map>
#include <memory>
#include <vector>

#include "rtml/core/random.h"
#include "rtml/learn/model.h"
#include "rtml/learn/tree/memory_budget.h"
#include "rtml/learn/tree/regression_rule.h"
#include "rtml/learn/tree/tree_nodes.h"

namespace rtml {

class ParamSet;
namespace detail {
struct RegressionLeaf;
}

// Each leaf keeps the target's running statistics and, per feature, the target's
// statistics for every value rounded to `digits` decimals (a truncated extended binary
// search tree, as River's TEBST splitter); every grace_period samples it scores a split
// at each such value by variance reduction (branches of fewer than min_samples_split
// samples excluded) and splits when second best / best < 1 - Hoeffding bound (range 1)
// or the bound falls below tau. Leaves predict the mean, a linear model (SGD, lr 0.01,
// as River's LinearRegression) or, by default (adaptive), whichever has the smaller
// decayed absolute error so far; children start from a copy of their parent's model.
// max_size (MiB) bounds memory as in HoeffdingTreeClassifier: past it the leaves with the
// least squared error left to explain drop their split statistics and stop splitting.
// Defaults as River's HoeffdingTreeRegressor. max_features > 0 makes each leaf watch a
// random subset of features (the adaptive random forest's trees). Not thread-safe.
class HoeffdingTreeRegressor final : public Model {
 public:
  enum class LeafPrediction : uint8_t { kMean, kModel, kAdaptive };
  struct Config {
    double grace_period = 200;
    double delta = 1e-7;
    double tau = 0.05;
    int digits = 1;
    double min_samples_split = 5;
    LeafPrediction leaf_prediction = LeafPrediction::kAdaptive;
    double model_lr = 0.01;
    double decay = 0.95;
    int max_depth = 1000;
    double max_size_mib = 100;
    double memory_estimate_period = 1000000;
    int max_features = 0;  // > 0: each leaf watches a random subset of this many features
    uint64_t seed = 0;
    // Categorical columns: one category against the rest only, or also a branch per
    // category (see HoeffdingTreeClassifier::Config::binary_split).
    bool binary_split = true;
  };
  static std::unique_ptr<Model> make(ParamSet& params);
  explicit HoeffdingTreeRegressor(Config config);
  ~HoeffdingTreeRegressor() override;

  std::string_view kind() const override { return "hoeffding_tree_regressor"; }
  Task task() const override { return Task::kRegression; }
  // Categorical columns are split on natively (see Config::binary_split).
  bool uses_categories() const override { return true; }
  using Model::predict;
  void predict(const Features& x, Prediction& out, Workspace& workspace) const override;
  void learn(const Features& x, const Target& y, double weight) override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;

  // The memory the tree holds, in bytes, as the memory limit counts it.
  size_t memory_bytes() const;

 private:
  using Leaf = detail::RegressionLeaf;
  void attempt_split(uint32_t node);
  void enforce_memory_limit();

  Config config_;
  detail::RegressionRule rule_;  // from config_
  detail::TreeNodes nodes_;
  std::vector<std::unique_ptr<Leaf>> leaves_;
  Random rng_;
  detail::MemoryBudget budget_;
};

}  // namespace rtml
