// Half-space trees (Tan, Ting & Liu 2011): streaming anomaly detection.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "rtml/core/random.h"
#include "rtml/learn/model.h"

namespace rtml {

class ParamSet;

// n_trees random trees of the given height; each split halves a random feature's
// current range at a point drawn uniformly from its middle 70%. Features are assumed to
// lie in [0, 1] (put min_max_scaler first); the features of the first event fix the
// trees. Every node counts the events that reach it in the current window ("latest
// mass"); every window_size events the latest masses become the reference masses. An
// event's score sums, over trees and down its path, reference mass * 2^depth (stopping
// below a mass of 0.1 window_size), normalised to [0, 1] and inverted: near 1 for an
// event in a region the reference window rarely visited. Scores are 0 during the first
// window. The score is the prediction's value (P(anomaly) for rtml eval's ROC AUC,
// class 1 = anomaly); learning ignores the label. Defaults as River's HalfSpaceTrees:
// n_trees 10, height 8, window_size 250. Not thread-safe.
class HalfSpaceTrees final : public Model {
 public:
  struct Config {
    int n_trees = 10;
    int height = 8;
    uint32_t window_size = 250;
    uint64_t seed = 42;
  };
  static std::unique_ptr<Model> make(ParamSet& params);
  explicit HalfSpaceTrees(Config config);

  std::string_view kind() const override { return "half_space_trees"; }
  Task task() const override { return Task::kBinary; }
  using Model::predict;
  void predict(const Features& x, Prediction& out, Workspace& workspace) const override;
  void learn(const Features& x, const Target& y, double weight) override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;
  // Categories are simply ignored; labels too (they only score the scores).
  bool uses_categories() const override { return true; }
  size_t max_categories() const override { return 0; }  // ignores them
  bool needs_target() const override { return false; }

  // The anomaly score of x in [0, 1], with the caller's scratch (thread safety as
  // predict's), or with the model's own.
  double score(const Features& x, Workspace& workspace) const;
  double score(const Features& x) { return score(x, own_workspace()); }

 private:
  void build(const Features& x);
  // An event spread over the trees' features, and the nodes it reaches in one tree.
  struct Walk {
    std::vector<double> dense;   // x by position in features_
    std::vector<uint32_t> path;  // node index at each depth
  };
  // Spreads x over w.dense by position in features_.
  void load_dense(const Features& x, Walk& w) const;
  // Node index reached at each depth of tree t for the event in w.dense (into w.path).
  void walk(size_t t, Walk& w) const;

  Config config_;
  size_t nodes_per_tree_ = 0;       // 2^(height+1) - 1, nodes in heap order
  std::vector<uint32_t> features_;  // the trees' feature indices, sorted
  std::vector<uint32_t> feature_;   // by internal node, all trees: a position in features_
  std::vector<double> threshold_;
  std::vector<uint32_t> reference_, latest_;  // masses, by node, all trees
  uint32_t counter_ = 0;
  bool first_window_ = true;
  Random rng_;
  Walk walk_;  // learn()'s, reused per event
};

}  // namespace rtml
