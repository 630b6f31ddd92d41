#include "rtml/learn/cluster/clustream.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "cluster_math.h"
#include "rtml/core/error.h"
#include "rtml/core/params.h"

namespace rtml {
namespace {

// The standard normal quantile of p in (0, 1), by Acklam's rational approximation
// (relative error below 1.2e-9): plenty for a relevance stamp.
double normal_quantile(double p) {
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                                 -2.759285104469687e+02, 1.383577518672690e+02,
                                 -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                                 -1.556989798598866e+02, 6.680131188771972e+01,
                                 -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                                 -2.400758277161838e+00, -2.549732539343734e+00,
                                 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                                 2.445134137142996e+00, 3.754408661907416e+00};
  constexpr double low = 0.02425;
  auto tail = [&](double q) {
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  };
  if (p < low) return tail(std::sqrt(-2 * std::log(p)));
  if (p > 1 - low) return -tail(std::sqrt(-2 * std::log(1 - p)));
  const double q = p - 0.5, r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
         (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

}  // namespace

std::unique_ptr<Model> CluStream::make(ParamSet& p) {
  Config c;
  auto k = p.integer("n_macro_clusters", 5);
  auto q = p.integer("max_micro_clusters", 100);
  c.r_factor = p.number("micro_cluster_r_factor", 2);
  c.time_window = p.integer("time_window", 1000);
  c.time_gap = p.integer("time_gap", 100);
  c.seed = static_cast<uint64_t>(p.integer("seed", 42));
  c.halflife = p.number("halflife", 0.5);
  c.mu = p.number("mu", 1);
  c.sigma = p.number("sigma", 1);
  c.p = p.number("p", 2);
  c.init = p.choice("init", "kmeans++", {"kmeans++", "random"}) == "random" ? Init::kRandom
                                                                            : Init::kPlusPlus;
  if (k < 1 || k > 65536) throw Error("clustream: n_macro_clusters must be in [1, 65536]");
  if (q < 2 || q > 100000) throw Error("clustream: max_micro_clusters must be in [2, 100000]");
  if (!(c.r_factor > 0)) throw Error("clustream: micro_cluster_r_factor must be > 0");
  if (c.time_window < 1) throw Error("clustream: time_window must be >= 1");
  if (c.time_gap < 1) throw Error("clustream: time_gap must be >= 1");
  if (!(c.halflife > 0 && c.halflife <= 1)) throw Error("clustream: halflife must be in (0, 1]");
  if (!(c.sigma >= 0)) throw Error("clustream: sigma must be >= 0");
  if (!(c.p > 0 && c.p <= 100)) throw Error("clustream: p must be in (0, 100]");
  c.n_macro_clusters = static_cast<int>(k);
  c.max_micro_clusters = static_cast<int>(q);
  return std::make_unique<CluStream>(c);
}

CluStream::CluStream(Config config) : config_(config), rng_(config.seed) {}

void CluStream::grow(size_t width) {
  if (width <= dim_) return;
  cluster::widen(mean_, weight_.size(), dim_, width);
  cluster::widen(macro_centres_, n_macro_, dim_, width);
  dim_ = width;
}

void CluStream::start(size_t i, double w, double time) {
  if (i == weight_.size()) {
    mean_.resize(mean_.size() + dim_);
    weight_.push_back(0);
    m2_.push_back(0);
    time_mean_.push_back(0);
    time_m2_.push_back(0);
    macro_.push_back(-1);
  }
  std::copy(x_.begin(), x_.end(), mean_.begin() + i * dim_);
  weight_[i] = w;
  m2_[i] = 0;
  time_mean_[i] = time;
  time_m2_[i] = 0;
  macro_[i] = nearest_macro(i);
}

void CluStream::absorb(size_t i, double w, double time) {
  // Weighted Welford: mean += w/n' * delta, and the squared deviations grow by
  // w * (n/n') * |delta|^2 (summed over features).
  const double n = weight_[i], n1 = n + w;
  double* m = mean_.data() + i * dim_;
  double delta2 = 0;
  for (size_t j = 0; j < dim_; ++j) {
    const double delta = x_[j] - m[j];
    delta2 += delta * delta;
    m[j] += delta * (w / n1);
  }
  m2_[i] += w * (n / n1) * delta2;
  const double dt = time - time_mean_[i];
  time_mean_[i] += dt * (w / n1);
  time_m2_[i] += w * (n / n1) * dt * dt;
  weight_[i] = n1;
}

void CluStream::merge(size_t a, size_t b) {
  // Chan et al.'s pairwise combination of means and squared deviations.
  const double na = weight_[a], nb = weight_[b], n = na + nb;
  double* ma = mean_.data() + a * dim_;
  const double* mb = mean_.data() + b * dim_;
  double delta2 = 0;
  for (size_t j = 0; j < dim_; ++j) {
    const double delta = mb[j] - ma[j];
    delta2 += delta * delta;
    ma[j] += delta * (nb / n);
  }
  m2_[a] += m2_[b] + delta2 * na * nb / n;
  const double dt = time_mean_[b] - time_mean_[a];
  time_mean_[a] += dt * (nb / n);
  time_m2_[a] += time_m2_[b] + dt * dt * na * nb / n;
  weight_[a] = n;
  macro_[a] = nearest_macro(a);
}

double CluStream::relevance_stamp(size_t i) const {
  // The arrival time of the middle of the last m events (the m/(2n) upper quantile of
  // arrival times taken as normal); the mean arrival time while there are fewer than 2m.
  const double m = config_.max_micro_clusters, n = weight_[i];
  if (n < 2 * m) return time_mean_[i];
  return time_mean_[i] + std::sqrt(time_m2_[i] / n) * normal_quantile(1 - m / (2 * n));
}

int32_t CluStream::nearest_macro(size_t i) const {
  if (n_macro_ == 0) return -1;
  return static_cast<int32_t>(cluster::nearest_row(mean_.data() + i * dim_, macro_centres_.data(),
                                                   n_macro_, dim_, config_.p)
                                  .row);
}

void CluStream::learn(const Features& x, const Target&, double weight) {
  if (!(weight > 0)) return;  // teaches nothing
  grow(cluster::width_of(x));
  cluster::densify(x, dim_, x_);
  const double now = static_cast<double>(time_);
  const size_t q = weight_.size();
  if (q < static_cast<size_t>(config_.max_micro_clusters)) {
    start(q, weight, now);
  } else {
    const auto near = cluster::nearest_row(x_.data(), mean_.data(), q, dim_, 2.0);
    const size_t c = near.row;
    double boundary;
    if (m2_[c] > 0) {
      boundary = config_.r_factor * std::sqrt(m2_[c] / weight_[c]);
    } else {  // one point (or several at one place): the distance to its nearest neighbour
      double nearest = std::numeric_limits<double>::infinity();
      for (size_t i = 0; i < q; ++i) {
        if (i == c) continue;
        nearest = std::min(nearest, cluster::squared_distance(mean_.data() + i * dim_,
                                                              mean_.data() + c * dim_, dim_));
      }
      boundary = std::sqrt(nearest);
    }
    if (std::sqrt(near.distance) <= boundary) {
      absorb(c, weight, now);
    } else {
      // Room for a new micro-cluster: the least relevant one if it is stale, else the
      // place freed by merging the closest two.
      size_t stale = 0;
      double oldest = std::numeric_limits<double>::infinity();
      for (size_t i = 0; i < q; ++i) {
        const double stamp = relevance_stamp(i);
        if (stamp < oldest) {
          oldest = stamp;
          stale = i;
        }
      }
      if (oldest < now - static_cast<double>(config_.time_window)) {
        start(stale, weight, now);
      } else {
        size_t a = 0, b = 1;
        double closest = std::numeric_limits<double>::infinity();
        for (size_t i = 0; i < q; ++i) {
          for (size_t j = i + 1; j < q; ++j) {
            const double d =
                cluster::squared_distance(mean_.data() + i * dim_, mean_.data() + j * dim_, dim_);
            if (d < closest) {
              closest = d;
              a = i;
              b = j;
            }
          }
        }
        merge(a, b);
        start(b, weight, now);
      }
    }
  }
  ++time_;
  if (time_ % static_cast<uint64_t>(config_.time_gap) == 0) macro_step();
}

void CluStream::macro_step() {
  const size_t q = weight_.size(), k = static_cast<size_t>(config_.n_macro_clusters);
  if (q == 0) return;
  std::vector<double> centres;
  std::vector<uint32_t> assignment;
  if (config_.init == Init::kRandom) {
    // River's: one pass of constant steps over the centres, from centres drawn anew.
    centres.resize(k * dim_);
    for (double& v : centres) v = config_.mu + config_.sigma * rng_.normal();
    for (size_t i = 0; i < q; ++i) {
      const double* m = mean_.data() + i * dim_;
      double* c =
          centres.data() + cluster::nearest_row(m, centres.data(), k, dim_, config_.p).row * dim_;
      for (size_t j = 0; j < dim_; ++j) c[j] += config_.halflife * (m[j] - c[j]);
    }
    assignment.resize(q);
    for (size_t i = 0; i < q; ++i) {
      assignment[i] = static_cast<uint32_t>(
          cluster::nearest_row(mean_.data() + i * dim_, centres.data(), k, dim_, config_.p).row);
    }
  } else {
    std::vector<double> fresh;
    std::vector<uint32_t> fresh_assignment;
    cluster::seed_centres(mean_, weight_, dim_, k, config_.p, rng_, fresh);
    const double fresh_cost =
        cluster::lloyd(mean_, weight_, dim_, k, config_.p, 100, fresh, fresh_assignment);
    bool take_fresh = n_macro_ == 0;
    if (!take_fresh) {
      centres = macro_centres_;
      const double cost =
          cluster::lloyd(mean_, weight_, dim_, k, config_.p, 100, centres, assignment);
      take_fresh = fresh_cost < 0.99 * cost;
    }
    if (take_fresh) {
      std::vector<uint32_t> ids;
      if (n_macro_ == 0) {
        ids.resize(k);
        for (size_t i = 0; i < k; ++i) ids[i] = static_cast<uint32_t>(i);
      } else {
        cluster::match_centres(macro_centres_, n_macro_, fresh, k, dim_, ids);
      }
      centres.assign(k * dim_, 0.0);
      for (size_t i = 0; i < k; ++i) {
        std::copy(fresh.begin() + i * dim_, fresh.begin() + (i + 1) * dim_,
                  centres.begin() + ids[i] * dim_);
      }
      assignment.resize(q);
      for (size_t i = 0; i < q; ++i) assignment[i] = ids[fresh_assignment[i]];
    }
  }
  macro_centres_.swap(centres);
  n_macro_ = k;
  for (size_t i = 0; i < q; ++i) macro_[i] = static_cast<int32_t>(assignment[i]);
}

std::optional<uint32_t> CluStream::cluster(const Features& x, Workspace& workspace) const {
  if (n_macro_ == 0 || weight_.empty()) return std::nullopt;
  auto& s = workspace.scratch<cluster::Scratch>();
  cluster::densify(x, dim_, s.x);
  const size_t i = cluster::nearest_row(s.x.data(), mean_.data(), weight_.size(), dim_, 2.0).row;
  return static_cast<uint32_t>(macro_[i]);
}

bool CluStream::center(uint32_t id, std::vector<double>& out) const {
  if (id >= n_macro_) return false;
  out.assign(macro_centres_.begin() + id * dim_, macro_centres_.begin() + (id + 1) * dim_);
  return true;
}

void CluStream::save(BinaryWriter& out) const {
  out.put<uint64_t>(dim_);
  out.put_vector(mean_);
  out.put_vector(weight_);
  out.put_vector(m2_);
  out.put_vector(time_mean_);
  out.put_vector(time_m2_);
  out.put_vector(macro_);
  out.put<uint64_t>(n_macro_);
  out.put_vector(macro_centres_);
  out.put(time_);
  out.put(rng_.state());
}

void CluStream::load(BinaryReader& in) {
  dim_ = in.get<uint64_t>();
  mean_ = in.get_vector<double>();
  weight_ = in.get_vector<double>();
  m2_ = in.get_vector<double>();
  time_mean_ = in.get_vector<double>();
  time_m2_ = in.get_vector<double>();
  macro_ = in.get_vector<int32_t>();
  n_macro_ = in.get<uint64_t>();
  macro_centres_ = in.get_vector<double>();
  time_ = in.get<uint64_t>();
  rng_.set_state(in.get<std::array<uint64_t, 4>>());
  const size_t q = weight_.size();
  if (dim_ > (size_t{1} << 32) || q > static_cast<size_t>(config_.max_micro_clusters) ||
      mean_.size() != q * dim_ || m2_.size() != q || time_mean_.size() != q ||
      time_m2_.size() != q || macro_.size() != q ||
      (n_macro_ != 0 && n_macro_ != static_cast<size_t>(config_.n_macro_clusters)) ||
      macro_centres_.size() != n_macro_ * dim_) {
    in.fail("CluStream shape");
  }
  for (int32_t m : macro_) {
    if (m >= static_cast<int32_t>(n_macro_) || (m < 0 && n_macro_ > 0)) in.fail("CluStream macro");
  }
}

}  // namespace rtml
