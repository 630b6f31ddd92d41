#include "rtml/learn/anomaly/half_space_trees.h"

#include <algorithm>
#include <cmath>

#include "rtml/core/error.h"
#include "rtml/core/params.h"

namespace rtml {

std::unique_ptr<Model> HalfSpaceTrees::make(ParamSet& p) {
  Config c;
  c.n_trees = static_cast<int>(p.integer("n_trees", 10));
  c.height = static_cast<int>(p.integer("height", 8));
  auto window = p.integer("window_size", 250);
  c.seed = static_cast<uint64_t>(p.integer("seed", 42));
  if (c.n_trees < 1 || c.n_trees > 10000 || c.height < 1 || c.height > 24 || window < 1 ||
      window > (1 << 30)) {
    throw Error("half_space_trees: n_trees in [1, 10000], height in [1, 24], window_size >= 1");
  }
  c.window_size = static_cast<uint32_t>(window);
  return std::make_unique<HalfSpaceTrees>(c);
}

HalfSpaceTrees::HalfSpaceTrees(Config config) : config_(config), rng_(config.seed) {
  nodes_per_tree_ = (size_t{1} << (config_.height + 1)) - 1;
}

void HalfSpaceTrees::build(const Features& x) {
  std::vector<uint32_t> features;
  for (const auto& f : x.numbers()) features.push_back(f.index);
  std::sort(features.begin(), features.end());
  features.erase(std::unique(features.begin(), features.end()), features.end());
  if (features.empty()) return;  // nothing to split on yet
  features_ = std::move(features);
  const size_t internal = nodes_per_tree_ / 2, width = features_.size();
  feature_.assign(config_.n_trees * internal, 0);
  threshold_.assign(config_.n_trees * internal, 0.0);
  reference_.assign(config_.n_trees * nodes_per_tree_, 0);
  latest_.assign(config_.n_trees * nodes_per_tree_, 0);
  // Each node's range per feature, [lo, hi), starting from [0, 1); children inherit
  // their parent's ranges with the split feature's range halved at the threshold.
  // Features are positions in features_, so hashed indices cost nothing extra.
  struct Range {
    std::vector<double> lo, hi;
  };
  std::vector<Range> ranges(nodes_per_tree_);
  for (int t = 0; t < config_.n_trees; ++t) {
    ranges[0].lo.assign(width, 0.0);
    ranges[0].hi.assign(width, 1.0);
    for (size_t n = 0; n < internal; ++n) {
      auto f = static_cast<uint32_t>(rng_.below(width));
      double a = ranges[n].lo[f], b = ranges[n].hi[f];
      double at = rng_.uniform(a + 0.15 * (b - a), b - 0.15 * (b - a));
      feature_[t * internal + n] = f;
      threshold_[t * internal + n] = at;
      ranges[2 * n + 1] = ranges[n];
      ranges[2 * n + 1].hi[f] = at;
      ranges[2 * n + 2] = ranges[n];
      ranges[2 * n + 2].lo[f] = at;
    }
  }
}

void HalfSpaceTrees::load_dense(const Features& x, Walk& w) const {
  // Features outside the trees' set are ignored; absent ones count as 0.
  w.dense.assign(features_.size(), 0.0);
  for (const auto& f : x.numbers()) {
    auto it = std::lower_bound(features_.begin(), features_.end(), f.index);
    if (it != features_.end() && *it == f.index) w.dense[it - features_.begin()] = f.value;
  }
}

void HalfSpaceTrees::walk(size_t t, Walk& w) const {
  const size_t internal = nodes_per_tree_ / 2;
  w.path.clear();
  size_t n = 0;
  w.path.push_back(0);
  while (n < internal) {
    size_t i = t * internal + n;
    n = w.dense[feature_[i]] < threshold_[i] ? 2 * n + 1 : 2 * n + 2;
    w.path.push_back(static_cast<uint32_t>(n));
  }
}

double HalfSpaceTrees::score(const Features& x, Workspace& workspace) const {
  if (first_window_ || feature_.empty()) return 0.0;
  double s = 0;
  const double size_limit = 0.1 * config_.window_size;
  Walk& w = workspace.scratch<Walk>();
  load_dense(x, w);
  for (int t = 0; t < config_.n_trees; ++t) {
    walk(t, w);
    for (size_t depth = 0; depth < w.path.size(); ++depth) {
      double mass = reference_[t * nodes_per_tree_ + w.path[depth]];
      s += mass * std::ldexp(1.0, static_cast<int>(depth));
      if (mass < size_limit) break;
    }
  }
  double max_score = static_cast<double>(config_.n_trees) * config_.window_size *
                     (std::ldexp(1.0, config_.height + 1) - 1);
  return 1.0 - s / max_score;
}

void HalfSpaceTrees::predict(const Features& x, Prediction& out, Workspace& workspace) const {
  set_binary_prediction(score(x, workspace), out);
}

void HalfSpaceTrees::learn(const Features& x, const Target&, double) {
  if (feature_.empty()) build(x);
  if (feature_.empty()) return;
  load_dense(x, walk_);
  for (int t = 0; t < config_.n_trees; ++t) {
    walk(t, walk_);
    for (uint32_t n : walk_.path) ++latest_[t * nodes_per_tree_ + n];
  }
  if (++counter_ == config_.window_size) {
    reference_.swap(latest_);
    std::fill(latest_.begin(), latest_.end(), 0);
    first_window_ = false;
    counter_ = 0;
  }
}

void HalfSpaceTrees::save(BinaryWriter& out) const {
  out.put_vector(features_);
  out.put_vector(feature_);
  out.put_vector(threshold_);
  out.put_vector(reference_);
  out.put_vector(latest_);
  out.put(counter_);
  out.put<uint8_t>(first_window_);
  out.put(rng_.state());
}

void HalfSpaceTrees::load(BinaryReader& in) {
  features_ = in.get_vector<uint32_t>();
  feature_ = in.get_vector<uint32_t>();
  threshold_ = in.get_vector<double>();
  reference_ = in.get_vector<uint32_t>();
  latest_ = in.get_vector<uint32_t>();
  counter_ = in.get<uint32_t>();
  first_window_ = in.get<uint8_t>();
  rng_.set_state(in.get<std::array<uint64_t, 4>>());
  const size_t internal = nodes_per_tree_ / 2, trees = config_.n_trees;
  bool built = !feature_.empty();
  if ((built &&
       (feature_.size() != trees * internal || threshold_.size() != feature_.size() ||
        reference_.size() != trees * nodes_per_tree_ || latest_.size() != reference_.size())) ||
      counter_ >= config_.window_size) {
    in.fail("half-space tree shape");
  }
  for (uint32_t f : feature_) {
    if (f >= features_.size()) in.fail("half-space tree feature");
  }
  if (built == features_.empty() || !std::is_sorted(features_.begin(), features_.end())) {
    in.fail("half-space tree features");
  }
}

}  // namespace rtml
