// Hoeffding tree classifier (VFDT, Domingos & Hulten 2000) for numeric features.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "rtml/learn/model.h"
#include "rtml/learn/tree/tree_nodes.h"

namespace rtml {

class ParamSet;

// Grows a decision tree online: each leaf keeps class weights and, per feature and
// class, a Gaussian of the values seen; every grace_period weight it scores binary
// splits at n_splits candidate thresholds by information gain (or Gini) and splits
// when the best beats the second best by more than the Hoeffding bound for confidence
// delta, or when the bound falls below tie_threshold. Leaves predict the majority class,
// naive Bayes, or whichever of the two has been right more often so far (nba, the
// default). Defaults as River's HoeffdingTreeClassifier: grace_period 200, delta 1e-7,
// tie_threshold 0.05, split_criterion info_gain, leaf_prediction nba, n_splits 10.
// Missing features go to the left branch. Not thread-safe.
class HoeffdingTreeClassifier final : public Model {
 public:
  enum class Criterion : uint8_t { kInfoGain, kGini };
  enum class LeafPrediction : uint8_t { kMajority, kNaiveBayes, kAdaptive };
  struct Config {
    double grace_period = 200;
    double delta = 1e-7;
    double tie_threshold = 0.05;
    Criterion criterion = Criterion::kInfoGain;
    LeafPrediction leaf_prediction = LeafPrediction::kAdaptive;
    int n_splits = 10;
    int max_depth = 1000;
  };

  static std::unique_ptr<Model> make(ParamSet& params);
  explicit HoeffdingTreeClassifier(Config config);
  ~HoeffdingTreeClassifier() override;

  std::string_view kind() const override { return "hoeffding_tree"; }
  Task task() const override { return Task::kMulticlass; }
  void predict(const Features& x, Prediction& out) override;
  void learn(const Features& x, const Target& y, double weight) override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;

  size_t node_count() const { return nodes_.size(); }
  size_t leaf_count() const;

  struct Gaussian;
  struct Leaf;

 private:
  void votes(const Leaf& leaf, const Features& x, std::vector<double>& out) const;
  void naive_bayes(const Leaf& leaf, const Features& x, std::vector<double>& out) const;
  void attempt_split(uint32_t node);

  Config config_;
  detail::TreeNodes nodes_;
  std::vector<std::unique_ptr<Leaf>> leaves_;
  std::vector<double> scratch_;  // reused per event
};

}  // namespace rtml
