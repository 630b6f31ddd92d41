#include "rtml/learn/cluster/denstream.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "cluster_math.h"
#include "rtml/core/error.h"
#include "rtml/core/params.h"

namespace rtml {

void DenStream::MicroClusters::add(const std::vector<double>& x, size_t dim, double w, double t) {
  mean.insert(mean.end(), x.begin(), x.begin() + static_cast<ptrdiff_t>(dim));
  weight.push_back(w);
  m2.push_back(0);
  updated.push_back(t);
  created.push_back(t);
  id.push_back(-1);
}

void DenStream::MicroClusters::remove(size_t i, size_t dim) {
  cluster::swap_remove_row(mean, dim, i);
  cluster::swap_remove(weight, i);
  cluster::swap_remove(m2, i);
  cluster::swap_remove(updated, i);
  cluster::swap_remove(created, i);
  cluster::swap_remove(id, i);
}

void DenStream::MicroClusters::take(MicroClusters& from, size_t i, size_t dim) {
  mean.insert(mean.end(), from.mean.begin() + i * dim, from.mean.begin() + (i + 1) * dim);
  weight.push_back(from.weight[i]);
  m2.push_back(from.m2[i]);
  updated.push_back(from.updated[i]);
  created.push_back(from.created[i]);
  id.push_back(-1);
  from.remove(i, dim);
}

std::unique_ptr<Model> DenStream::make(ParamSet& p) {
  Config c;
  c.decaying_factor = p.number("decaying_factor", 0.25);
  c.beta = p.number("beta", 0.75);
  c.mu = p.number("mu", 2);
  c.epsilon = p.number("epsilon", 0.02);
  auto n_init = p.integer("n_samples_init", 1000);
  auto speed = p.integer("stream_speed", 100);
  if (!(c.decaying_factor > 0 && c.decaying_factor <= 100)) {
    throw Error("denstream: decaying_factor must be in (0, 100]");
  }
  if (!(c.beta > 0 && c.beta <= 1)) throw Error("denstream: beta must be in (0, 1]");
  if (!(c.mu > 0) || !(c.beta * c.mu > 1)) {
    throw Error("denstream: mu must be > 1 / beta (beta * mu > 1)");
  }
  if (!(c.epsilon > 0)) throw Error("denstream: epsilon must be > 0");
  if (n_init < 0 || n_init > 100000)
    throw Error("denstream: n_samples_init must be in [0, 100000]");
  if (speed < 1 || speed > (int64_t{1} << 30)) throw Error("denstream: stream_speed must be >= 1");
  c.n_samples_init = static_cast<int>(n_init);
  c.stream_speed = static_cast<int>(speed);
  return std::make_unique<DenStream>(c);
}

DenStream::DenStream(Config config) : config_(config) {
  const double bm = config_.beta * config_.mu;
  // The shortest time in which a p-micro-cluster can fade to an outlier's weight.
  t_p_ = std::max(1.0, std::ceil(std::log2(bm / (bm - 1)) / config_.decaying_factor));
  next_prune_ = t_p_;
  initialised_ = config_.n_samples_init == 0;
}

double DenStream::fade(double dt) const { return std::exp2(-config_.decaying_factor * dt); }

void DenStream::grow(size_t width) {
  if (width <= dim_) return;
  cluster::widen(potential_.mean, potential_.size(), dim_, width);
  cluster::widen(outliers_.mean, outliers_.size(), dim_, width);
  cluster::widen(init_points_, init_weights_.size(), dim_, width);
  dim_ = width;
}

void DenStream::insert(double w, double t) {
  const double eps2 = config_.epsilon * config_.epsilon;
  // Joins micro-cluster set s's nearest to x_ if its radius stays within epsilon.
  auto join = [&](MicroClusters& s, size_t& at) {
    if (s.size() == 0) return false;
    const auto near = cluster::nearest_row(x_.data(), s.mean.data(), s.size(), dim_, 2.0);
    const size_t i = near.row;
    const double f = fade(t - s.updated[i]), n = f * s.weight[i], n1 = n + w;
    const double m2 = f * s.m2[i] + w * (n / n1) * near.distance;
    if (m2 > eps2 * n1) return false;
    double* mean = s.mean.data() + i * dim_;
    for (size_t j = 0; j < dim_; ++j) mean[j] += (x_[j] - mean[j]) * (w / n1);
    s.weight[i] = n1;
    s.m2[i] = m2;
    s.updated[i] = t;
    at = i;
    return true;
  };
  size_t at;
  if (join(potential_, at)) return;
  if (join(outliers_, at)) {
    if (outliers_.weight[at] > config_.beta * config_.mu) {
      potential_.take(outliers_, at, dim_);
      changed_ = true;
    }
    return;
  }
  outliers_.add(x_, dim_, w, t);
}

void DenStream::initial_dbscan(double t) {
  const size_t n = init_weights_.size();
  const double eps2 = config_.epsilon * config_.epsilon;
  std::vector<uint8_t> taken(n, 0);
  std::vector<size_t> near;
  for (size_t i = 0; i < n; ++i) {
    if (taken[i]) continue;
    near.clear();
    double total = 0;
    for (size_t j = 0; j < n; ++j) {
      if (taken[j] || cluster::squared_distance(&init_points_[i * dim_], &init_points_[j * dim_],
                                                dim_) > eps2) {
        continue;
      }
      near.push_back(j);
      total += init_weights_[j];
    }
    if (total < config_.beta * config_.mu) continue;
    // A p-micro-cluster of i and its neighbours, by weighted Welford.
    const size_t at = potential_.size();
    x_.assign(init_points_.begin() + i * dim_, init_points_.begin() + (i + 1) * dim_);
    potential_.add(x_, dim_, init_weights_[i], t);
    taken[i] = 1;
    double* mean = potential_.mean.data() + at * dim_;
    for (size_t j : near) {
      if (j == i) continue;
      const double w = init_weights_[j], n0 = potential_.weight[at], n1 = n0 + w;
      const double* x = &init_points_[j * dim_];
      double d2 = 0;
      for (size_t k = 0; k < dim_; ++k) {
        const double delta = x[k] - mean[k];
        d2 += delta * delta;
        mean[k] += delta * (w / n1);
      }
      potential_.m2[at] += w * (n0 / n1) * d2;
      potential_.weight[at] = n1;
      taken[j] = 1;
    }
  }
  for (size_t i = 0; i < n; ++i) {
    if (taken[i]) continue;
    x_.assign(init_points_.begin() + i * dim_, init_points_.begin() + (i + 1) * dim_);
    insert(init_weights_[i], t);
  }
  std::vector<double>().swap(init_points_);
  std::vector<double>().swap(init_weights_);
  changed_ = true;
}

void DenStream::prune(double t) {
  for (size_t i = potential_.size(); i-- > 0;) {
    if (potential_.weight[i] * fade(t - potential_.updated[i]) < config_.beta * config_.mu) {
      potential_.remove(i, dim_);
      changed_ = true;
    }
  }
  // xi: the weight an outlier micro-cluster created at t0 would have now had it gained
  // one event per unit of time; below it, it will not become potential in time.
  const double denominator = fade(t_p_) - 1;
  for (size_t i = outliers_.size(); i-- > 0;) {
    const double xi = (fade(t - outliers_.created[i] + t_p_) - 1) / denominator;
    if (outliers_.weight[i] * fade(t - outliers_.updated[i]) < xi) outliers_.remove(i, dim_);
  }
}

void DenStream::recluster(double t) {
  const size_t m = potential_.size();
  const double reach2 = 4 * config_.epsilon * config_.epsilon;  // (2 epsilon)^2
  std::vector<double> weight(m);
  for (size_t i = 0; i < m; ++i) weight[i] = potential_.weight[i] * fade(t - potential_.updated[i]);
  auto core = [&](size_t i) { return weight[i] >= config_.mu; };
  auto row = [&](size_t i) { return potential_.mean.data() + i * dim_; };
  cluster::UnionFind sets(m);
  for (size_t i = 0; i < m; ++i) {
    if (!core(i)) continue;
    for (size_t j = i + 1; j < m; ++j) {
      if (core(j) && cluster::squared_distance(row(i), row(j), dim_) <= reach2) sets.unite(i, j);
    }
  }
  std::vector<int32_t> group(m, -1), group_of_root(m, -1);
  size_t n_groups = 0;
  for (size_t i = 0; i < m; ++i) {
    if (!core(i)) continue;
    int32_t& g = group_of_root[sets.find(i)];
    if (g < 0) g = static_cast<int32_t>(n_groups++);
    group[i] = g;
  }
  for (size_t i = 0; i < m; ++i) {  // a border micro-cluster: its nearest core's group
    if (core(i)) continue;
    double best = reach2;
    for (size_t j = 0; j < m; ++j) {
      if (!core(j)) continue;
      const double d = cluster::squared_distance(row(i), row(j), dim_);
      if (d <= best) {
        best = d;
        group[i] = group[j];
      }
    }
  }
  std::vector<int32_t> ids;
  cluster::carry_ids(group, potential_.id, weight, n_groups, ids);
  for (size_t i = 0; i < m; ++i) potential_.id[i] = group[i] >= 0 ? ids[group[i]] : -1;
  n_macro_ = n_groups;
}

void DenStream::learn(const Features& x, const Target&, double weight) {
  if (!(weight > 0)) return;  // teaches nothing
  ++seen_;
  const double t = static_cast<double>(seen_) / config_.stream_speed;
  grow(cluster::width_of(x));
  cluster::densify(x, dim_, x_);
  if (!initialised_) {
    init_points_.insert(init_points_.end(), x_.begin(), x_.end());
    init_weights_.push_back(weight);
    if (init_weights_.size() < static_cast<size_t>(config_.n_samples_init)) return;
    initial_dbscan(t);
    initialised_ = true;
  } else {
    insert(weight, t);
  }
  if (t >= next_prune_) {
    prune(t);
    next_prune_ = (std::floor(t / t_p_) + 1) * t_p_;
  }
  if (changed_ || t >= next_recluster_) {
    recluster(t);
    next_recluster_ = std::floor(t) + 1;
    changed_ = false;
  }
}

std::optional<uint32_t> DenStream::cluster(const Features& x, Workspace& workspace) const {
  if (n_macro_ == 0) return std::nullopt;
  auto& s = workspace.scratch<cluster::Scratch>();
  cluster::densify(x, dim_, s.x);
  int32_t best_id = -1;
  double best = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < potential_.size(); ++i) {
    if (potential_.id[i] < 0) continue;
    const double d = cluster::squared_distance(s.x.data(), potential_.mean.data() + i * dim_, dim_);
    if (d < best) {
      best = d;
      best_id = potential_.id[i];
    }
  }
  if (best_id < 0) return std::nullopt;
  return static_cast<uint32_t>(best_id);
}

bool DenStream::center(uint32_t id, std::vector<double>& out) const {
  const double t = static_cast<double>(seen_) / config_.stream_speed;
  std::vector<double> sum(dim_, 0.0);
  double total = 0;
  for (size_t i = 0; i < potential_.size(); ++i) {
    if (potential_.id[i] != static_cast<int32_t>(id)) continue;
    const double w = potential_.weight[i] * fade(t - potential_.updated[i]);
    for (size_t j = 0; j < dim_; ++j) sum[j] += w * potential_.mean[i * dim_ + j];
    total += w;
  }
  if (!(total > 0)) return false;
  for (double& v : sum) v /= total;
  out.swap(sum);
  return true;
}

namespace {

void save_set(BinaryWriter& out, const DenStream::MicroClusters& s) {
  out.put_vector(s.mean);
  out.put_vector(s.weight);
  out.put_vector(s.m2);
  out.put_vector(s.updated);
  out.put_vector(s.created);
  out.put_vector(s.id);
}

void load_set(BinaryReader& in, DenStream::MicroClusters& s, size_t dim) {
  s.mean = in.get_vector<double>();
  s.weight = in.get_vector<double>();
  s.m2 = in.get_vector<double>();
  s.updated = in.get_vector<double>();
  s.created = in.get_vector<double>();
  s.id = in.get_vector<int32_t>();
  const size_t n = s.weight.size();
  if (s.mean.size() != n * dim || s.m2.size() != n || s.updated.size() != n ||
      s.created.size() != n || s.id.size() != n) {
    in.fail("DenStream micro-clusters");
  }
}

}  // namespace

void DenStream::save(BinaryWriter& out) const {
  out.put<uint64_t>(dim_);
  out.put(seen_);
  save_set(out, potential_);
  save_set(out, outliers_);
  out.put<uint8_t>(initialised_);
  out.put_vector(init_points_);
  out.put_vector(init_weights_);
  out.put(next_prune_);
  out.put(next_recluster_);
  out.put<uint8_t>(changed_);
  out.put<uint64_t>(n_macro_);
}

void DenStream::load(BinaryReader& in) {
  dim_ = in.get<uint64_t>();
  if (dim_ > (size_t{1} << 32)) in.fail("DenStream width");
  seen_ = in.get<uint64_t>();
  load_set(in, potential_, dim_);
  load_set(in, outliers_, dim_);
  initialised_ = in.get<uint8_t>();
  init_points_ = in.get_vector<double>();
  init_weights_ = in.get_vector<double>();
  next_prune_ = in.get<double>();
  next_recluster_ = in.get<double>();
  changed_ = in.get<uint8_t>();
  n_macro_ = in.get<uint64_t>();
  if (init_points_.size() != init_weights_.size() * dim_ ||
      (initialised_ && !init_weights_.empty()) ||
      init_weights_.size() >= static_cast<size_t>(std::max(config_.n_samples_init, 1))) {
    in.fail("DenStream initial batch");
  }
  for (int32_t id : potential_.id) {
    if (id < -1) in.fail("DenStream cluster id");
  }
}

}  // namespace rtml
