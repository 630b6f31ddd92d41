// Clusterer: what the online clusterers (kmeans, clustream, denstream, dbstream) have in
// common as pipeline steps.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "rtml/learn/model.h"

namespace rtml {

// A model that groups events without labels. learn() ignores the target; predict() names
// the cluster of x: Prediction::label with has_label, value the id as a double, no
// proba. Before the clusterer has a cluster (it is warming up), has_label is false and
// value -1, as scikit-learn marks noise.
//
// Cluster ids are small integers that stay with a cluster while it lives: a clusterer
// that reclusters (its macro step) hands a cluster the id that most of its members had
// before, so that a label-free stream can be read as one partition over time. An id
// freed by a cluster that faded away is given again, smallest first.
//
// Features are numbers only (a categorical column needs one_hot or feature_hasher before
// the clusterer); an absent feature counts as 0. The clusterers keep dense rows as wide as
// the largest feature index seen, growing them (and allocating) only when a larger index
// appears: a wide hashed space costs its width per centre.
//
// Thread safety as Model's: one thread learns; while none does, any number may predict,
// each with its own workspace.
class Clusterer : public Model {
 public:
  // Multiclass: the cluster id plays the class's role for the front ends that read a
  // label (rtml eval, the HTTP API), and a label column is taken as any number of classes.
  Task task() const override { return Task::kMulticlass; }
  bool needs_target() const override { return false; }
  size_t max_categories() const override { return 0; }  // reads numbers only

  using Model::predict;
  void predict(const Features& x, Prediction& out, Workspace& workspace) const final {
    const std::optional<uint32_t> c = cluster(x, workspace);
    out.proba.clear();
    out.has_label = c.has_value();
    out.label = c.value_or(0);
    out.value = c ? static_cast<double>(*c) : -1.0;
  }

  // The cluster of x, none before there is any. Changes nothing (thread safety as
  // predict's); the second form uses the model's own workspace.
  virtual std::optional<uint32_t> cluster(const Features& x, Workspace& workspace) const = 0;
  std::optional<uint32_t> cluster(const Features& x) { return cluster(x, own_workspace()); }
  // How many clusters predict() can name now.
  virtual size_t n_clusters() const = 0;
  // The centre of cluster id, by feature index (as wide as the largest index learned):
  // false, out unchanged, for an id no cluster has. A density-based clusterer's is the
  // weighted mean of its micro-clusters' centres.
  virtual bool center(uint32_t id, std::vector<double>& out) const = 0;
};

// The model as a clusterer, or nullptr: how a front end tells a clusterer from an anomaly
// detector, the other kind of model that learns without labels.
inline const Clusterer* as_clusterer(const Model& model) {
  return dynamic_cast<const Clusterer*>(&model);
}

}  // namespace rtml
