// Hoeffding adaptive tree classifier (HAT, Bifet & Gavalda 2009).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "rtml/core/random.h"
#include "rtml/learn/model.h"
#include "rtml/learn/tree/adaptive_counts.h"
#include "rtml/learn/tree/memory_budget.h"

namespace rtml {

class ParamSet;
namespace detail {
template <typename Leaf>
struct AdaptiveNode;
struct ClassLeaf;
}  // namespace detail

// A Hoeffding tree (see HoeffdingTreeClassifier for the split rule and leaf votes)
// whose every node watches its subtree's 0/1 error with ADWIN. When a branch's error
// rises significantly it starts an alternate subtree beside it, which learns from the
// same events; once both have seen more than drift_window_threshold events, the
// alternate replaces the branch if its error is lower by a bound at confidence
// switch_significance, and is dropped if higher. Predictions add the votes of every
// leaf the event reaches (the main one and those of alternates on its path), each
// normalised and weighted by 1 / error^2. With bootstrap_sampling each leaf learns with
// a weight multiplied by a Poisson(1) draw (a draw of 0 keeps the weight, as River),
// which makes seed matter. Defaults as River's HoeffdingAdaptiveTreeClassifier:
// grace_period 200, delta 1e-7, tau 0.05, info_gain, nba leaves, ADWIN delta 0.002,
// drift_window_threshold 300, switch_significance 0.05, bootstrap_sampling true.
// max_size (MiB) bounds memory as in HoeffdingTreeClassifier, alternates included; the
// tree stops growing at 60% of it, as its nodes' ADWIN windows keep growing (with the
// log of the stream) and deactivated leaves drop theirs.
// Not thread-safe.
class HoeffdingAdaptiveTreeClassifier final : public Model {
 public:
  struct Config {
    double grace_period = 200;
    double delta = 1e-7;
    double tie_threshold = 0.05;
    bool gini = false;
    uint8_t leaf_prediction = 2;  // 0 majority, 1 naive Bayes, 2 adaptive
    int n_splits = 10;
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
  explicit HoeffdingAdaptiveTreeClassifier(Config config);
  ~HoeffdingAdaptiveTreeClassifier() override;

  std::string_view kind() const override { return "hoeffding_adaptive_tree"; }
  Task task() const override { return Task::kMulticlass; }
  // Categorical columns are split on natively (see Config::binary_split).
  bool uses_categories() const override { return true; }
  using Model::predict;
  void predict(const Features& x, Prediction& out, Workspace& workspace) const override;
  void learn(const Features& x, const Target& y, double weight) override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;

  // Counts of the main tree (alternates excluded) and of the subtree switches so far.
  size_t leaf_count() const;
  uint64_t switches() const { return counts_.switches; }
  uint64_t alternates_started() const { return counts_.alternates; }
  // The memory the tree holds (alternates included), in bytes, as the limit counts it.
  size_t memory_bytes() const;

 private:
  using Node = detail::AdaptiveNode<detail::ClassLeaf>;
  void learn_node(std::unique_ptr<Node>& slot, const Features& x, uint32_t y, double weight,
                  int predicted, bool is_root);
  void learn_leaf(Node& node, const Features& x, uint32_t y, double weight, int predicted);
  int main_prediction(const Node& subtree, const Features& x);
  // Adds the votes of the leaves x reaches in node and its alternates to proba; votes
  // is scratch.
  void collect(const Node& node, const Features& x, std::vector<double>& proba,
               std::vector<double>& votes) const;
  std::unique_ptr<Node> new_leaf(uint32_t depth) const;
  // Deactivates leaves until under the limit; with restructure (between events only),
  // then drops alternates and folds inactive sibling leaves back into their branch.
  void enforce_memory_limit(bool restructure);

  Config config_;
  std::unique_ptr<Node> root_;
  Random rng_;
  detail::AdaptiveCounts counts_;
  detail::MemoryBudget budget_;
  std::vector<double> votes_;  // reused per event
};

}  // namespace rtml
