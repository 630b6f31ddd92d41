#include "rtml/learn/cluster/kmeans.h"

#include <algorithm>

#include "cluster_math.h"
#include "rtml/core/error.h"
#include "rtml/core/params.h"

namespace rtml {

std::unique_ptr<Model> KMeans::make(ParamSet& p) {
  Config c;
  auto k = p.integer("n_clusters", 5);
  c.halflife = p.number("halflife", 0);
  c.mu = p.number("mu", 0);
  c.sigma = p.number("sigma", 1);
  c.p = p.number("p", 2);
  c.seed = static_cast<uint64_t>(p.integer("seed", 42));
  c.init = p.choice("init", "kmeans++", {"kmeans++", "random"}) == "random" ? Init::kRandom
                                                                            : Init::kPlusPlus;
  auto n_init = p.integer("n_samples_init", 1000);
  auto window = p.integer("window", 100);
  if (k < 1 || k > 65536) throw Error("kmeans: n_clusters must be in [1, 65536]");
  if (!(c.halflife >= 0 && c.halflife <= 1)) {
    throw Error("kmeans: halflife must be in [0, 1] (0: the 1/min(n, window) step)");
  }
  if (!(c.sigma >= 0)) throw Error("kmeans: sigma must be >= 0");
  if (!(c.p > 0 && c.p <= 100)) throw Error("kmeans: p must be in (0, 100]");
  if (window < 1 || window > (int64_t{1} << 30)) throw Error("kmeans: window must be >= 1");
  if (c.init == Init::kPlusPlus && (n_init < k || n_init > 10000000)) {
    throw Error("kmeans: n_samples_init must be in [n_clusters, 10000000] with init=kmeans++");
  }
  c.n_clusters = static_cast<int>(k);
  c.window = static_cast<int>(window);
  c.n_samples_init = static_cast<int>(std::clamp<int64_t>(n_init, 1, 10000000));
  return std::make_unique<KMeans>(c);
}

KMeans::KMeans(Config config) : config_(config), rng_(config.seed) {
  if (config_.init == Init::kRandom) active_ = static_cast<size_t>(config_.n_clusters);
  warming_ = config_.init == Init::kPlusPlus;
  counts_.assign(static_cast<size_t>(config_.n_clusters), 0.0);
}

void KMeans::grow(size_t width) {
  if (width <= dim_) return;
  const size_t k = static_cast<size_t>(config_.n_clusters);
  cluster::widen(centres_, k, dim_, width);
  if (config_.init == Init::kRandom) {
    for (size_t c = 0; c < k; ++c) {
      for (size_t j = dim_; j < width; ++j) {
        centres_[c * width + j] = config_.mu + config_.sigma * rng_.normal();
      }
    }
  }
  cluster::widen(warm_points_, warm_weights_.size(), dim_, width);
  dim_ = width;
}

void KMeans::update(size_t c, double w) {
  counts_[c] += w;
  // River's constant step, or the mean of the centre's events until it has `window`.
  const double memory = std::min(counts_[c], static_cast<double>(config_.window));
  const double step = config_.halflife > 0 ? config_.halflife : std::min(1.0, w / memory);
  double* centre = centres_.data() + c * dim_;
  for (size_t j = 0; j < dim_; ++j) centre[j] += step * (x_[j] - centre[j]);
}

void KMeans::learn(const Features& x, const Target&, double weight) {
  if (!(weight > 0)) return;  // teaches nothing
  grow(cluster::width_of(x));
  cluster::densify(x, dim_, x_);
  if (warming_) {
    warm_points_.insert(warm_points_.end(), x_.begin(), x_.end());
    warm_weights_.push_back(weight);
  }
  const auto nearest = cluster::nearest_row(x_.data(), centres_.data(), active_, dim_, config_.p);
  if (active_ < static_cast<size_t>(config_.n_clusters) && (active_ == 0 || nearest.distance > 0)) {
    // A provisional centre: the first n_clusters distinct events.
    std::copy(x_.begin(), x_.end(), centres_.begin() + active_ * dim_);
    counts_[active_++] = weight;
  } else {
    update(nearest.row, weight);
  }
  if (warming_ && warm_weights_.size() >= static_cast<size_t>(config_.n_samples_init)) {
    finish_warm_up();
  }
}

void KMeans::finish_warm_up() {
  const size_t k = static_cast<size_t>(config_.n_clusters);
  std::vector<double> seeded;
  std::vector<uint32_t> assignment, ids;
  cluster::seed_centres(warm_points_, warm_weights_, dim_, k, config_.p, rng_, seeded);
  cluster::lloyd(warm_points_, warm_weights_, dim_, k, config_.p, 100, seeded, assignment);
  cluster::match_centres(centres_, active_, seeded, k, dim_, ids);
  std::fill(counts_.begin(), counts_.end(), 0.0);
  for (size_t i = 0; i < assignment.size(); ++i) counts_[ids[assignment[i]]] += warm_weights_[i];
  for (size_t i = 0; i < k; ++i) {
    std::copy(seeded.begin() + i * dim_, seeded.begin() + (i + 1) * dim_,
              centres_.begin() + ids[i] * dim_);
  }
  active_ = k;
  warming_ = false;
  std::vector<double>().swap(warm_points_);
  std::vector<double>().swap(warm_weights_);
}

std::optional<uint32_t> KMeans::cluster(const Features& x, Workspace& workspace) const {
  if (active_ == 0) return std::nullopt;
  // Features past the width learned meet zeros in every centre: the same distance added to
  // all, which changes no ranking.
  auto& s = workspace.scratch<cluster::Scratch>();
  cluster::densify(x, dim_, s.x);
  return static_cast<uint32_t>(
      cluster::nearest_row(s.x.data(), centres_.data(), active_, dim_, config_.p).row);
}

bool KMeans::center(uint32_t id, std::vector<double>& out) const {
  if (id >= active_) return false;
  out.assign(centres_.begin() + id * dim_, centres_.begin() + (id + 1) * dim_);
  return true;
}

void KMeans::save(BinaryWriter& out) const {
  out.put<uint64_t>(dim_);
  out.put<uint64_t>(active_);
  out.put_vector(centres_);
  out.put_vector(counts_);
  out.put<uint8_t>(warming_);
  out.put_vector(warm_points_);
  out.put_vector(warm_weights_);
  out.put(rng_.state());
}

void KMeans::load(BinaryReader& in) {
  const size_t k = static_cast<size_t>(config_.n_clusters);
  dim_ = in.get<uint64_t>();
  active_ = in.get<uint64_t>();
  centres_ = in.get_vector<double>();
  counts_ = in.get_vector<double>();
  warming_ = in.get<uint8_t>();
  warm_points_ = in.get_vector<double>();
  warm_weights_ = in.get_vector<double>();
  rng_.set_state(in.get<std::array<uint64_t, 4>>());
  const bool plus_plus = config_.init == Init::kPlusPlus;
  if (dim_ > (size_t{1} << 32) || centres_.size() != k * dim_ || counts_.size() != k ||
      active_ > k || (warming_ && !plus_plus) || (!warming_ && active_ != k) ||
      (!warming_ && !warm_weights_.empty()) || warm_points_.size() != warm_weights_.size() * dim_ ||
      warm_weights_.size() >= static_cast<size_t>(config_.n_samples_init)) {
    in.fail("k-means shape");
  }
}

}  // namespace rtml
