#include "rtml/learn/cluster/dbstream.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "cluster_math.h"
#include "rtml/core/error.h"
#include "rtml/core/params.h"

namespace rtml {

std::unique_ptr<Model> DBStream::make(ParamSet& p) {
  Config c;
  c.clustering_threshold = p.number("clustering_threshold", 1.0);
  c.fading_factor = p.number("fading_factor", 0.01);
  auto gap = p.integer("cleanup_interval", 2);
  c.intersection_factor = p.number("intersection_factor", 0.3);
  c.minimum_weight = p.number("minimum_weight", 1.0);
  if (!(c.clustering_threshold > 0)) throw Error("dbstream: clustering_threshold must be > 0");
  if (!(c.fading_factor > 0 && c.fading_factor <= 100)) {
    throw Error("dbstream: fading_factor must be in (0, 100]");
  }
  if (gap < 1 || gap > (int64_t{1} << 30)) throw Error("dbstream: cleanup_interval must be >= 1");
  if (!(c.intersection_factor > 0 && c.intersection_factor <= 1)) {
    throw Error("dbstream: intersection_factor must be in (0, 1]");
  }
  if (!(c.minimum_weight >= 0)) throw Error("dbstream: minimum_weight must be >= 0");
  c.cleanup_interval = static_cast<int>(gap);
  return std::make_unique<DBStream>(c);
}

DBStream::DBStream(Config config) : config_(config) {}

double DBStream::fade(double dt) const { return std::exp2(-config_.fading_factor * dt); }

void DBStream::grow(size_t width) {
  if (width <= dim_) return;
  cluster::widen(centre_, weight_.size(), dim_, width);
  dim_ = width;
}

void DBStream::learn(const Features& x, const Target&, double weight) {
  if (!(weight > 0)) return;  // teaches nothing
  grow(cluster::width_of(x));
  cluster::densify(x, dim_, x_);
  const double now = static_cast<double>(time_);
  const double r2 = config_.clustering_threshold * config_.clustering_threshold;
  near_.clear();
  moved_.clear();
  for (size_t i = 0; i < weight_.size(); ++i) {
    const double d2 = cluster::squared_distance(x_.data(), centre_.data() + i * dim_, dim_);
    if (!(d2 < r2)) continue;
    near_.push_back(i);
    // The Gaussian neighbourhood, sigma = r / 3: a centre moves most of the way towards
    // an event at its heart, hardly at all towards one at its edge.
    const double h = std::exp(-d2 * 9 / (2 * r2));
    const double* c = centre_.data() + i * dim_;
    for (size_t j = 0; j < dim_; ++j) moved_.push_back(c[j] + h * (x_[j] - c[j]));
  }
  if (near_.empty()) {
    centre_.insert(centre_.end(), x_.begin(), x_.end());
    weight_.push_back(weight);
    updated_.push_back(now);
    uid_.push_back(next_uid_++);
    id_.push_back(-1);
  } else {
    bool collide = false;
    for (size_t a = 0; a < near_.size(); ++a) {
      const size_t i = near_[a];
      weight_[i] = weight_[i] * fade(now - updated_[i]) + weight;
      updated_[i] = now;
      for (size_t b = a + 1; b < near_.size(); ++b) {
        const size_t j = near_[b];
        Shared& s = shared_[std::minmax(uid_[i], uid_[j])];
        s.density = s.density * fade(now - s.updated) + weight;
        s.updated = now;
        collide =
            collide || cluster::squared_distance(&moved_[a * dim_], &moved_[b * dim_], dim_) < r2;
      }
    }
    // Centres that would come closer than r would merge two regions into one: none moves.
    if (!collide) {
      for (size_t a = 0; a < near_.size(); ++a) {
        std::copy(moved_.begin() + a * dim_, moved_.begin() + (a + 1) * dim_,
                  centre_.begin() + near_[a] * dim_);
      }
    }
  }
  ++time_;
  if (time_ % static_cast<uint64_t>(config_.cleanup_interval) == 0) {
    cleanup();
    recluster();
  }
}

void DBStream::cleanup() {
  const double now = static_cast<double>(time_);
  const double weak = fade(config_.cleanup_interval);
  std::vector<uint64_t> removed;
  for (size_t i = weight_.size(); i-- > 0;) {
    if (weight_[i] * fade(now - updated_[i]) >= weak) continue;
    removed.push_back(uid_[i]);
    cluster::swap_remove_row(centre_, dim_, i);
    cluster::swap_remove(weight_, i);
    cluster::swap_remove(updated_, i);
    cluster::swap_remove(uid_, i);
    cluster::swap_remove(id_, i);
  }
  std::sort(removed.begin(), removed.end());
  auto gone = [&](uint64_t uid) { return std::binary_search(removed.begin(), removed.end(), uid); };
  const double weak_shared = config_.intersection_factor * weak;
  for (auto it = shared_.begin(); it != shared_.end();) {
    if (gone(it->first.first) || gone(it->first.second) ||
        it->second.density * fade(now - it->second.updated) < weak_shared) {
      it = shared_.erase(it);
    } else {
      ++it;
    }
  }
}

void DBStream::recluster() {
  const double now = static_cast<double>(time_);
  const size_t m = weight_.size();
  std::vector<double> weight(m);
  for (size_t i = 0; i < m; ++i) weight[i] = weight_[i] * fade(now - updated_[i]);
  auto strong = [&](size_t i) { return weight[i] >= config_.minimum_weight; };
  std::vector<std::pair<uint64_t, size_t>> by_uid(m);
  for (size_t i = 0; i < m; ++i) by_uid[i] = {uid_[i], i};
  std::sort(by_uid.begin(), by_uid.end());
  auto index_of = [&](uint64_t uid) {
    auto it = std::lower_bound(by_uid.begin(), by_uid.end(), std::make_pair(uid, size_t{0}));
    return it != by_uid.end() && it->first == uid ? it->second : m;
  };
  cluster::UnionFind sets(m);
  for (const auto& [pair, s] : shared_) {
    const size_t a = index_of(pair.first), b = index_of(pair.second);
    if (a == m || b == m || !strong(a) || !strong(b)) continue;
    const double density = s.density * fade(now - s.updated);
    if (density / ((weight[a] + weight[b]) / 2) > config_.intersection_factor) sets.unite(a, b);
  }
  std::vector<int32_t> group(m, -1), group_of_root(m, -1);
  size_t n_groups = 0;
  for (size_t i = 0; i < m; ++i) {
    if (!strong(i)) continue;
    int32_t& g = group_of_root[sets.find(i)];
    if (g < 0) g = static_cast<int32_t>(n_groups++);
    group[i] = g;
  }
  std::vector<int32_t> ids;
  cluster::carry_ids(group, id_, weight, n_groups, ids);
  for (size_t i = 0; i < m; ++i) id_[i] = group[i] >= 0 ? ids[group[i]] : -1;
  n_macro_ = n_groups;
}

std::optional<uint32_t> DBStream::cluster(const Features& x, Workspace& workspace) const {
  if (n_macro_ == 0) return std::nullopt;
  auto& s = workspace.scratch<cluster::Scratch>();
  cluster::densify(x, dim_, s.x);
  int32_t best_id = -1;
  double best = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < weight_.size(); ++i) {
    if (id_[i] < 0) continue;
    const double d = cluster::squared_distance(s.x.data(), centre_.data() + i * dim_, dim_);
    if (d < best) {
      best = d;
      best_id = id_[i];
    }
  }
  if (best_id < 0) return std::nullopt;
  return static_cast<uint32_t>(best_id);
}

bool DBStream::center(uint32_t id, std::vector<double>& out) const {
  const double now = static_cast<double>(time_);
  std::vector<double> sum(dim_, 0.0);
  double total = 0;
  for (size_t i = 0; i < weight_.size(); ++i) {
    if (id_[i] != static_cast<int32_t>(id)) continue;
    const double w = weight_[i] * fade(now - updated_[i]);
    for (size_t j = 0; j < dim_; ++j) sum[j] += w * centre_[i * dim_ + j];
    total += w;
  }
  if (!(total > 0)) return false;
  for (double& v : sum) v /= total;
  out.swap(sum);
  return true;
}

void DBStream::save(BinaryWriter& out) const {
  out.put<uint64_t>(dim_);
  out.put(time_);
  out.put(next_uid_);
  out.put_vector(centre_);
  out.put_vector(weight_);
  out.put_vector(updated_);
  out.put_vector(uid_);
  out.put_vector(id_);
  out.put<uint64_t>(shared_.size());
  for (const auto& [pair, s] : shared_) {
    out.put(pair.first);
    out.put(pair.second);
    out.put(s.density);
    out.put(s.updated);
  }
  out.put<uint64_t>(n_macro_);
}

void DBStream::load(BinaryReader& in) {
  dim_ = in.get<uint64_t>();
  time_ = in.get<uint64_t>();
  next_uid_ = in.get<uint64_t>();
  centre_ = in.get_vector<double>();
  weight_ = in.get_vector<double>();
  updated_ = in.get_vector<double>();
  uid_ = in.get_vector<uint64_t>();
  id_ = in.get_vector<int32_t>();
  const size_t m = weight_.size();
  if (dim_ > (size_t{1} << 32) || centre_.size() != m * dim_ || updated_.size() != m ||
      uid_.size() != m || id_.size() != m) {
    in.fail("DBSTREAM micro-clusters");
  }
  for (size_t i = 0; i < m; ++i) {
    if (uid_[i] >= next_uid_ || id_[i] < -1) in.fail("DBSTREAM micro-cluster");
  }
  const auto n = in.get<uint64_t>();
  in.check_count(n, 32, "DBSTREAM shared densities");
  shared_.clear();
  for (uint64_t k = 0; k < n; ++k) {
    const auto a = in.get<uint64_t>(), b = in.get<uint64_t>();
    Shared s;
    s.density = in.get<double>();
    s.updated = in.get<double>();
    if (a >= b || b >= next_uid_) in.fail("DBSTREAM shared density");
    shared_[{a, b}] = s;
  }
  n_macro_ = in.get<uint64_t>();
}

}  // namespace rtml
