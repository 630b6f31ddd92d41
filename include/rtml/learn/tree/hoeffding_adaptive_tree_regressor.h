// Hoeffding adaptive tree regressor (HAT's branch adaptation over the Hoeffding tree
// regressor's leaves).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "rtml/core/random.h"
#include "rtml/learn/model.h"
#include "rtml/learn/tree/adaptive_counts.h"
#include "rtml/learn/tree/hoeffding_tree_regressor.h"
#include "rtml/learn/tree/memory_budget.h"
#include "rtml/learn/tree/regression_rule.h"

namespace rtml {

class ParamSet;
namespace detail {
template <typename Leaf>
struct AdaptiveNode;
struct RegressionLeaf;
}  // namespace detail

// A Hoeffding tree regressor (see HoeffdingTreeRegressor for the leaves and the split
// rule) whose every node watches its subtree's error with ADWIN, as
// HoeffdingAdaptiveTreeClassifier does: a branch whose error rises starts an alternate
// subtree, which replaces it once both have seen more than drift_window_threshold events
// and its error is lower by a bound at switch_significance, or is dropped if higher. A
// prediction is the mean of the leaves the event reaches (the main one and those of
// alternates on its path) that have learnt something, as River. With
// bootstrap_sampling each leaf learns with a weight multiplied by a Poisson(1) draw (a
// draw of 0 keeps the weight, as River), which makes seed matter.
//
// The error a node watches is |y - prediction| / (3 sd), capped at 1, where sd is the
// running standard deviation of the target over the tree's whole stream. River scales
// each node's signed residual by that node's own spread instead; then a subtree that
// predicts too high reads as better than an unbiased one, and two nodes' errors are not
// on one scale, which the switch test needs.
//
// Defaults as River's HoeffdingAdaptiveTreeRegressor: grace_period 200, delta 1e-7,
// tau 0.05, adaptive leaves, ADWIN delta 0.002, drift_window_threshold 300,
// switch_significance 0.05, bootstrap_sampling true. max_size (MiB) bounds memory as in
// HoeffdingAdaptiveTreeClassifier. Not thread-safe.
class HoeffdingAdaptiveTreeRegressor final : public Model {
 public:
  struct Config {
    double grace_period = 200;
    double delta = 1e-7;
    double tau = 0.05;
    int digits = 1;
    double min_samples_split = 5;
    HoeffdingTreeRegressor::LeafPrediction leaf_prediction =
        HoeffdingTreeRegressor::LeafPrediction::kAdaptive;
    double model_lr = 0.01;  // the leaves' linear models, as HoeffdingTreeRegressor
    double decay = 0.95;
    int max_depth = 1000;
    double adwin_delta = 0.002;
    double drift_window_threshold = 300;
    double switch_significance = 0.05;
    bool bootstrap_sampling = true;
    uint64_t seed = 42;
    double max_size_mib = 100;
    double memory_estimate_period = 1000000;
    // Categorical columns: one category against the rest only (see
    // HoeffdingTreeClassifier::Config::binary_split).
    bool binary_split = true;
  };
  static std::unique_ptr<Model> make(ParamSet& params);
  explicit HoeffdingAdaptiveTreeRegressor(Config config);
  ~HoeffdingAdaptiveTreeRegressor() override;

  std::string_view kind() const override { return "hoeffding_adaptive_tree_regressor"; }
  Task task() const override { return Task::kRegression; }
  // Categorical columns are split on natively (see Config::binary_split).
  bool uses_categories() const override { return true; }
  using Model::predict;
  void predict(const Features& x, Prediction& out, Workspace& workspace) const override;
  void learn(const Features& x, const Target& y, double weight) override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;

  // Counts of the main tree's leaves (alternates excluded), of the alternates started and
  // of the subtree switches so far.
  size_t leaf_count() const;
  uint64_t switches() const { return counts_.switches; }
  uint64_t alternates_started() const { return counts_.alternates; }
  // The memory the tree holds (alternates included), in bytes, as the limit counts it.
  size_t memory_bytes() const;

 private:
  using Node = detail::AdaptiveNode<detail::RegressionLeaf>;
  void learn_node(std::unique_ptr<Node>& slot, const Features& x, double y, double weight,
                  double predicted, bool is_root);
  void learn_leaf(Node& node, const Features& x, double y, double weight, double predicted);
  double main_prediction(const Node& subtree, const Features& x) const;
  // The error a node records for predicting `predicted` for y (see the class comment),
  // on the scale learn() sets for the event.
  double error_of(double y, double predicted) const;
  void collect(const Node& subtree, const Features& x, double& sum, int& count) const;
  std::unique_ptr<Node> new_leaf(uint32_t depth) const;
  // Deactivates leaves until under the limit; with restructure (between events only),
  // then drops alternates and folds inactive sibling leaves back into their branch.
  void enforce_memory_limit(bool restructure);

  Config config_;
  detail::RegressionRule rule_;  // from config_
  std::unique_ptr<Node> root_;
  Random rng_;
  detail::AdaptiveCounts counts_;
  detail::MemoryBudget budget_;
  // The target's running count, mean and sum of squared deviations (Welford).
  double target_n_ = 0, target_mean_ = 0, target_m2_ = 0;
  // 3 sd of the target before the event being learnt: the errors' scale, once per event.
  double error_scale_ = 0;
};

}  // namespace rtml
