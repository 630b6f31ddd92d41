// CluStream (Aggarwal, Han, Wang & Yu 2003): micro-clusters online, k-means over them.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "rtml/core/random.h"
#include "rtml/learn/cluster/clusterer.h"

namespace rtml {

class ParamSet;

// Keeps at most max_micro_clusters micro-clusters, each the weight, mean and spread of
// its events and of their arrival times (kept as running means and sums of squared
// deviations, which do not lose precision on data far from 0 as sums of squares do).
// The first max_micro_clusters events each start one. Then an event joins its nearest
// micro-cluster if it lies within micro_cluster_r_factor times that micro-cluster's RMS
// deviation (for a micro-cluster of one point, within the distance to its nearest
// neighbour); otherwise it starts a new one, in the place of the least relevant
// micro-cluster if that one's relevance stamp (the estimated mean arrival time of its
// last max_micro_clusters events) is older than time_window events, else in the place
// freed by merging the two closest micro-clusters.
//
// Every time_gap events the macro step clusters the micro-clusters' centres, weighted by
// their weights, into n_macro_clusters clusters: by k-means++ and Lloyd's iterations the
// first time, then by Lloyd's iterations from the previous centres (a fresh k-means++ run
// replaces them only if it costs 1% less, its clusters paired with the previous ids), so
// that ids hold from one macro step to the next. An event's cluster is that of its nearest
// micro-cluster; a micro-cluster started or merged between macro steps takes the nearest
// macro centre's. No cluster before the first macro step.
//
// Parameters as River's CluStream: n_macro_clusters 5, max_micro_clusters 100,
// micro_cluster_r_factor 2, time_window 1000, time_gap 100, seed, and its k-means's
// halflife 0.5, mu 1, sigma 1, p 2 (p is the macro step's Minkowski power either way;
// halflife, mu and sigma are read only with init=random). Differences from River, and
// why: River's macro step is its incremental KMeans, one pass of 0.5-steps over the
// micro-cluster centres from centres drawn from N(mu, sigma), restarted every time_gap,
// so that its clusters and their ids change at random every time_gap events;
// init=random does that here. River measures the radius as the mean of per-feature
// deviations and compares it with a squared distance; here the RMS deviation (the
// paper's) with the distance. River runs the macro step only on events that start a
// micro-cluster; here every time_gap events. Time is the count of events learned.
//
// Costs O(max_micro_clusters * width) per event, and O(max_micro_clusters^2 * width)
// for an event that merges two micro-clusters. Allocates per macro step, not per event.
// Reproducible for a given seed. Not thread-safe while learning (see Clusterer).
class CluStream final : public Clusterer {
 public:
  enum class Init : uint8_t { kPlusPlus, kRandom };
  struct Config {
    int n_macro_clusters = 5;
    int max_micro_clusters = 100;
    double r_factor = 2;
    int64_t time_window = 1000;
    int64_t time_gap = 100;
    uint64_t seed = 42;
    Init init = Init::kPlusPlus;
    double halflife = 0.5, mu = 1, sigma = 1;  // init=random's macro step
    double p = 2;
  };
  static std::unique_ptr<Model> make(ParamSet& params);
  explicit CluStream(Config config);

  std::string_view kind() const override { return "clustream"; }
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
  // Micro-cluster i becomes the event x_ alone (appended when i is the count).
  void start(size_t i, double w, double time);
  // Adds x_ to micro-cluster i.
  void absorb(size_t i, double w, double time);
  // Merges micro-cluster b into a (b is then free).
  void merge(size_t a, size_t b);
  double relevance_stamp(size_t i) const;
  // The macro centre nearest micro-cluster i's centre (-1 before the first macro step).
  int32_t nearest_macro(size_t i) const;
  void macro_step();

  Config config_;
  size_t dim_ = 0;
  // By micro-cluster: its mean (rows of dim_), weight, sum over features of squared
  // deviations, the mean and squared deviations of its arrival times, its macro cluster.
  std::vector<double> mean_, weight_, m2_, time_mean_, time_m2_;
  std::vector<int32_t> macro_;
  std::vector<double> macro_centres_;  // n_macro_ rows
  size_t n_macro_ = 0;                 // 0 before the first macro step
  uint64_t time_ = 0;                  // events learned
  Random rng_;
  std::vector<double> x_;  // learn()'s event, dense; reused
};

}  // namespace rtml
