// DenStream (Cao, Ester, Qian & Zhou 2006): density-based clustering over a fading stream.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "rtml/learn/cluster/clusterer.h"

namespace rtml {

class ParamSet;

// Micro-clusters whose weights fade as 2^(-decaying_factor * t), t counting
// stream_speed events per unit of time: potential ones (p-micro-clusters, weight above
// beta * mu), which make the clusters, and outlier ones, which may grow into potential
// ones or fade away. An event joins its nearest p-micro-cluster if that micro-cluster's
// radius (the RMS deviation of its faded events) stays within epsilon with it; else its
// nearest outlier micro-cluster on the same condition (which becomes potential once its
// weight passes beta * mu); else it starts an outlier micro-cluster. Every T_p =
// ceil(log2(beta*mu / (beta*mu - 1)) / decaying_factor) units of time, p-micro-clusters
// lighter than beta * mu and outlier ones lighter than the paper's xi(t, t_created) are
// dropped. The first n_samples_init events are clustered as a batch (DBSCAN): each
// event whose epsilon-neighbourhood among the events not yet taken weighs at least
// beta * mu starts a p-micro-cluster with it; the rest then go through the online step.
//
// Clusters: the p-micro-clusters of weight >= mu (core) within 2 * epsilon of each other
// are connected, and each connected group is a cluster; a lighter p-micro-cluster joins
// the cluster of its nearest core one within 2 * epsilon, or none. This is redone
// whenever a p-micro-cluster appears or goes, and once per unit of time, with ids carried
// over (see Clusterer). An event's cluster is that of its nearest p-micro-cluster that
// has one; none before the first clustering.
//
// Parameters and defaults as River's DenStream: decaying_factor 0.25, beta 0.75, mu 2,
// epsilon 0.02 (in the units of the features: set it to the radius of a dense region),
// n_samples_init 1000, stream_speed 100; beta * mu must exceed 1. Differences from
// River, and why: River clusters on every predict call (O(p-micro-clusters^2) per
// prediction) and a predict cannot change a model here, so the clusters are kept up to
// date by learn() instead; River assigns an event to the nearest merged cluster's centre,
// which splits a cluster of any other shape than a ball, where the nearest micro-cluster
// keeps its shape; River's radius combines norms of the linear and squared sums
// (not the RMS deviation), its fading never reaches the sums it keeps, its T_p uses the
// natural logarithm where 2^(-lambda t) fading needs log2, its initial DBSCAN needs more
// than mu events where the paper asks for a weight of beta * mu, and it drops the events
// of the initial batch that no micro-cluster took. Time runs continuously (events /
// stream_speed), not in whole units.
//
// Costs O(micro-clusters * width) per event, and O(p-micro-clusters^2 * width) per
// clustering. Not thread-safe while learning (see Clusterer).
class DenStream final : public Clusterer {
 public:
  struct Config {
    double decaying_factor = 0.25;
    double beta = 0.75;
    double mu = 2;
    double epsilon = 0.02;
    int n_samples_init = 1000;
    int stream_speed = 100;
  };
  static std::unique_ptr<Model> make(ParamSet& params);
  explicit DenStream(Config config);

  std::string_view kind() const override { return "denstream"; }
  void learn(const Features& x, const Target& y, double weight) override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;

  using Clusterer::cluster;
  std::optional<uint32_t> cluster(const Features& x, Workspace& workspace) const override;
  size_t n_clusters() const override { return n_macro_; }
  bool center(uint32_t id, std::vector<double>& out) const override;
  size_t n_potential() const { return potential_.size(); }
  size_t n_outliers() const { return outliers_.size(); }

  // A set of micro-clusters, each its mean, faded weight and sum of squared deviations
  // (as of its last update), times of last update and creation, and cluster id (-1: none).
  struct MicroClusters {
    std::vector<double> mean;  // rows
    std::vector<double> weight, m2, updated, created;
    std::vector<int32_t> id;
    size_t size() const { return weight.size(); }
    void add(const std::vector<double>& x, size_t dim, double w, double t);
    void remove(size_t i, size_t dim);
    // Moves micro-cluster i of from to the end of this set.
    void take(MicroClusters& from, size_t i, size_t dim);
  };

 private:
  void grow(size_t width);
  double fade(double dt) const;
  // The online step for x_.
  void insert(double w, double t);
  // Clusters the initial batch (init_points_) at time t, then feeds it what is left.
  void initial_dbscan(double t);
  void prune(double t);
  void recluster(double t);

  Config config_;
  double t_p_ = 1;  // the pruning period, in units of time
  size_t dim_ = 0;
  uint64_t seen_ = 0;  // events learned
  MicroClusters potential_, outliers_;
  bool initialised_ = false;
  std::vector<double> init_points_, init_weights_;  // the initial batch, rows
  double next_prune_ = 0, next_recluster_ = 0;
  bool changed_ = false;  // the p-micro-clusters changed since the last clustering
  size_t n_macro_ = 0;
  std::vector<double> x_;  // learn()'s event, dense; reused
};

}  // namespace rtml
