// DBSTREAM (Hahsler & Bolaños 2016): micro-clusters joined by the density they share.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "rtml/learn/cluster/clusterer.h"

namespace rtml {

class ParamSet;

// Micro-clusters of a fixed radius r (clustering_threshold), each a centre and a weight
// that fades as 2^(-fading_factor * t), t counting events. An event updates every
// micro-cluster within r of it (weight + 1, centre moved towards it by the Gaussian
// neighbourhood exp(-d^2 / (2 (r/3)^2)), unless that would bring two of them closer than
// r, in which case none moves) and adds 1 to the shared density of each pair of them; an
// event within r of none starts a micro-cluster. Every cleanup_interval events,
// micro-clusters lighter than w_weak = 2^(-fading_factor * cleanup_interval) and shared
// densities lighter than intersection_factor * w_weak are dropped, and the clusters are
// redone: micro-clusters of weight >= minimum_weight whose shared density, over their mean
// weight, exceeds intersection_factor are connected, and each connected group is a
// cluster (lighter micro-clusters belong to none), ids carried over (see Clusterer). An
// event's cluster is that of its nearest micro-cluster that has one; none before the first
// clustering.
//
// Parameters and defaults as River's DBSTREAM: clustering_threshold 1 (in the units of the
// features), fading_factor 0.01, cleanup_interval 2, intersection_factor 0.3,
// minimum_weight 1. Differences from River, and why: River reclusters on every predict call
// and a predict cannot change a model here, so the clusters are redone at each cleanup;
// River assigns an event to the nearest merged cluster's centre, which splits a cluster
// of any other shape than a ball, where the nearest micro-cluster keeps its shape; River
// starts a shared density at 0 on a pair's first shared event, where it counts 1, and
// compares undecayed weights when clustering, where they are faded to the present.
//
// Costs O(micro-clusters * width) per event plus O(log shared) per pair of micro-clusters
// the event updates; a cleanup O(micro-clusters + shared densities). Allocates when a
// micro-cluster or a shared density appears. Not thread-safe while learning (see
// Clusterer).
class DBStream final : public Clusterer {
 public:
  struct Config {
    double clustering_threshold = 1.0;
    double fading_factor = 0.01;
    int cleanup_interval = 2;
    double intersection_factor = 0.3;
    double minimum_weight = 1.0;
  };
  static std::unique_ptr<Model> make(ParamSet& params);
  explicit DBStream(Config config);

  std::string_view kind() const override { return "dbstream"; }
  void learn(const Features& x, const Target& y, double weight) override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;

  using Clusterer::cluster;
  std::optional<uint32_t> cluster(const Features& x, Workspace& workspace) const override;
  size_t n_clusters() const override { return n_macro_; }
  bool center(uint32_t id, std::vector<double>& out) const override;
  size_t n_micro_clusters() const { return weight_.size(); }

 private:
  void grow(size_t width);
  double fade(double dt) const;
  void cleanup();
  void recluster();

  Config config_;
  size_t dim_ = 0;
  uint64_t time_ = 0;      // events learned
  uint64_t next_uid_ = 0;  // micro-clusters are known by uid in the shared densities
  // By micro-cluster: centre (rows), weight as of its last update, the time of that
  // update, uid and cluster id (-1: none).
  std::vector<double> centre_, weight_, updated_;
  std::vector<uint64_t> uid_;
  std::vector<int32_t> id_;
  struct Shared {
    double density = 0;
    double updated = 0;
  };
  std::map<std::pair<uint64_t, uint64_t>, Shared> shared_;  // by (lower uid, higher uid)
  size_t n_macro_ = 0;
  // learn()'s scratch, reused: the event, the micro-clusters within r, their moved centres.
  std::vector<double> x_;
  std::vector<size_t> near_;
  std::vector<double> moved_;
};

}  // namespace rtml
