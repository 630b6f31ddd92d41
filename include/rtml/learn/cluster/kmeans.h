// Online k-means: sequential (MacQueen) updates after a k-means++ start.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "rtml/core/random.h"
#include "rtml/learn/cluster/clusterer.h"

namespace rtml {

class ParamSet;

// n_clusters centres; an event belongs to the nearest by Minkowski distance of power p,
// and learning moves that centre towards it.
//
// How a centre moves: with halflife in (0, 1] (River's parameter), by that fraction of
// the way, always. With halflife 0 (the default), by 1/n for its n-th event while n <
// window, then by 1/window: the mean of its events at first, then an exponential average
// over about its last `window` events, so that a centre settles where its cluster is yet
// follows a cluster that drifts (it lags a steady drift by about window events' worth of
// movement). Sample weights count as that many events.
//
// Where centres start: with init=kmeans++ (the default), the first n_samples_init events
// are kept, and once there are that many the centres are chosen among them by greedy
// k-means++ and refined by Lloyd's iterations, then numbered as the nearest of the
// provisional centres were (during those first events the centres are the first
// n_clusters distinct events, moved as above), so that ids rarely change hands at the
// switch. With init=random, as River does, every coordinate of every centre is drawn
// from N(mu, sigma) when its feature index first appears.
//
// Differences from River's KMeans (defaults n_clusters 5, halflife 0.5, mu 0, sigma 1,
// p 2), and why: River draws centres at random, so that on data far from N(mu, sigma) a
// few centres win everything and the others are never used, and two clusters can share a
// centre for ever; and River's constant step of 0.5 makes a centre the average of its
// last two or three events, jumping about by most of a cluster's spread. init=random
// with halflife=0.5 is River's behaviour.
//
// Costs O(n_clusters * width) per event, width the largest feature index + 1, and
// allocates nothing per event once the warm-up is over and no new feature index
// appears; the warm-up holds n_samples_init events of that width. Reproducible for a
// given seed. Not thread-safe while learning (see Clusterer).
class KMeans final : public Clusterer {
 public:
  enum class Init : uint8_t { kPlusPlus, kRandom };
  struct Config {
    int n_clusters = 5;
    double halflife = 0;  // 0: the 1/min(n, window) schedule
    int window = 100;
    Init init = Init::kPlusPlus;
    int n_samples_init = 1000;
    double mu = 0, sigma = 1;  // init=random's normal
    double p = 2;
    uint64_t seed = 42;
  };
  static std::unique_ptr<Model> make(ParamSet& params);
  explicit KMeans(Config config);

  std::string_view kind() const override { return "kmeans"; }
  void learn(const Features& x, const Target& y, double weight) override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;

  using Clusterer::cluster;
  std::optional<uint32_t> cluster(const Features& x, Workspace& workspace) const override;
  size_t n_clusters() const override { return active_; }
  bool center(uint32_t id, std::vector<double>& out) const override;
  // True while the first n_samples_init events are being gathered (init=kmeans++).
  bool warming_up() const { return warming_; }

 private:
  // Widens every row (centres, warm-up events) to width, drawing init=random's new
  // coordinates.
  void grow(size_t width);
  // Moves centre c towards x_ for an event of weight w.
  void update(size_t c, double w);
  // The k-means++ start over the warm-up events, replacing the provisional centres.
  void finish_warm_up();

  Config config_;
  size_t dim_ = 0;               // the width of every row
  size_t active_ = 0;            // centres in use: the first active_ rows
  std::vector<double> centres_;  // n_clusters rows
  std::vector<double> counts_;   // by centre: the weight of the events it has won
  bool warming_ = false;
  std::vector<double> warm_points_, warm_weights_;  // the warm-up events, rows
  Random rng_;
  std::vector<double> x_;  // learn()'s event, dense; reused
};

}  // namespace rtml
