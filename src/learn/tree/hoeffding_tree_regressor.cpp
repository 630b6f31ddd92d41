#include "rtml/learn/tree/hoeffding_tree_regressor.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "feature_subset.h"
#include "rtml/core/error.h"
#include "rtml/core/params.h"

namespace rtml {
namespace {

// Weighted count, mean and sum of squared deviations.
struct Stat {
  double n = 0, mean = 0, m2 = 0;
  void add(double y, double w) {
    n += w;
    double d = y - mean;
    mean += w / n * d;
    m2 += w * d * (y - mean);
  }
  double variance() const { return n > 1 ? m2 / (n - 1) : 0.0; }
  static Stat merge(const Stat& a, const Stat& b) {
    Stat s;
    s.n = a.n + b.n;
    if (s.n <= 0) return s;
    double d = b.mean - a.mean;
    s.mean = a.mean + d * b.n / s.n;
    s.m2 = a.m2 + b.m2 + d * d * a.n * b.n / s.n;
    return s;
  }
  static Stat minus(const Stat& total, const Stat& part) {
    Stat s;
    s.n = total.n - part.n;
    if (s.n <= 0) return Stat{};
    s.mean = (total.n * total.mean - part.n * part.mean) / s.n;
    double d = part.mean - s.mean;
    s.m2 = std::max(0.0, total.m2 - part.m2 - d * d * part.n * s.n / total.n);
    return s;
  }
};

}  // namespace

struct HoeffdingTreeRegressor::Leaf {
  Stat target;
  std::vector<std::map<double, Stat>> values;  // by feature: rounded value -> target stats
  // By categorical column, first seen first: category id -> target stats.
  std::vector<std::pair<uint32_t, std::map<uint32_t, Stat>>> categories;
  std::vector<double> w;  // linear model
  double intercept = 0;
  double mean_error = 0, model_error = 0;  // decayed absolute errors
  double last_attempt = 0;
  bool active = true;  // false: no more split statistics (memory limit)
  // Features this leaf watches, sorted, once `sampled` (max_features > 0).
  std::vector<uint32_t> subset;
  bool sampled = false;

  bool watches(uint32_t feature) const {
    return !sampled || std::binary_search(subset.begin(), subset.end(), feature);
  }
  size_t bytes() const {
    // A map node holds the key, a Stat and the tree links (about 4 pointers' worth).
    size_t b = sizeof(Leaf) + w.capacity() * sizeof(double) + subset.capacity() * sizeof(uint32_t) +
               values.capacity() * sizeof(values[0]);
    for (const auto& m : values) b += m.size() * (sizeof(double) + sizeof(Stat) + 32);
    b += categories.capacity() * sizeof(categories[0]);
    for (const auto& [column, m] : categories) b += m.size() * (8 + sizeof(Stat) + 32);
    return b;
  }
  void deactivate() {
    active = false;
    std::vector<std::map<double, Stat>>().swap(values);
    decltype(categories)().swap(categories);
  }
  Stat& category(uint32_t column, uint32_t id) {
    for (auto& [c, m] : categories) {
      if (c == column) return m[id];
    }
    return categories.emplace_back(column, std::map<uint32_t, Stat>{}).second[id];
  }

  double model(const Features& x) const {
    double s = intercept;
    for (const auto& f : x.numbers()) {
      if (f.index < w.size()) s += w[f.index] * f.value;
    }
    return s;
  }
};

std::unique_ptr<Model> HoeffdingTreeRegressor::make(ParamSet& p) {
  Config c;
  c.grace_period = p.number("grace_period", 200);
  c.delta = p.number("delta", 1e-7);
  c.tau = p.number("tau", 0.05);
  auto lp = p.choice("leaf_prediction", "adaptive", {"mean", "model", "adaptive"});
  c.leaf_prediction = lp == "mean"    ? LeafPrediction::kMean
                      : lp == "model" ? LeafPrediction::kModel
                                      : LeafPrediction::kAdaptive;
  c.digits = static_cast<int>(p.integer("digits", 1));
  c.min_samples_split = p.number("min_samples_split", 5);
  c.max_depth = static_cast<int>(p.integer("max_depth", 1000));
  c.max_size_mib = p.number("max_size", 100);
  c.memory_estimate_period = p.number("memory_estimate_period", 1000000);
  c.binary_split = p.boolean("binary_split", true);
  if (!(c.grace_period >= 1) || !(c.delta > 0 && c.delta < 1) || c.digits < 0 || c.digits > 10 ||
      !(c.max_size_mib > 0) || !(c.memory_estimate_period >= 1)) {
    throw Error(
        "hoeffding_tree_regressor: grace_period >= 1, delta in (0, 1), digits in [0, 10], "
        "max_size > 0 (MiB), memory_estimate_period >= 1");
  }
  return std::make_unique<HoeffdingTreeRegressor>(c);
}

HoeffdingTreeRegressor::HoeffdingTreeRegressor(Config config)
    : config_(config),
      rng_(config.seed),
      budget_(config.max_size_mib, config.memory_estimate_period) {
  leaves_.push_back(std::make_unique<Leaf>());
}

HoeffdingTreeRegressor::~HoeffdingTreeRegressor() = default;

double HoeffdingTreeRegressor::leaf_value(const Leaf& leaf, const Features& x) const {
  switch (config_.leaf_prediction) {
    case LeafPrediction::kMean:
      return leaf.target.mean;
    case LeafPrediction::kModel:
      return leaf.model(x);
    case LeafPrediction::kAdaptive:
      return leaf.model_error < leaf.mean_error ? leaf.model(x) : leaf.target.mean;
  }
  return leaf.target.mean;
}

void HoeffdingTreeRegressor::predict(const Features& x, Prediction& out) {
  out.value = leaf_value(*leaves_[nodes_[nodes_.sort(x)].leaf], x);
  out.has_label = false;
}

void HoeffdingTreeRegressor::learn(const Features& x, const Target& y, double weight) {
  size_t leaves = leaves_.size();
  uint32_t node = nodes_.sort_to_learn(x, weight, budget_.room_to_grow(), [&] {
    leaves_.push_back(std::make_unique<Leaf>());
    return static_cast<uint32_t>(leaves_.size() - 1);
  });
  if (leaves_.size() > leaves && budget_.after_split(leaves_.size())) enforce_memory_limit();
  Leaf& leaf = *leaves_[nodes_[node].leaf];
  // Score both leaf predictors on this sample before learning from it.
  double model_pred = leaf.model(x);
  leaf.mean_error = config_.decay * leaf.mean_error + std::abs(y.value - leaf.target.mean);
  leaf.model_error = config_.decay * leaf.model_error + std::abs(y.value - model_pred);
  // The leaf's linear model: one SGD step on squared loss, as River's LinearRegression.
  double g = 2.0 * (model_pred - y.value) * weight;
  leaf.intercept -= config_.model_lr * g;
  uint32_t need = 0;
  for (const auto& f : x.numbers()) need = std::max(need, f.index + 1);
  if (need > leaf.w.size()) leaf.w.resize(need, 0.0);
  for (const auto& f : x.numbers()) leaf.w[f.index] -= config_.model_lr * g * f.value;

  leaf.target.add(y.value, weight);
  if (budget_.count(weight)) enforce_memory_limit();
  if (!leaf.active) return;
  double scale = std::pow(10.0, config_.digits);
  if (config_.max_features > 0 && !leaf.sampled) {
    leaf.sampled = true;
    detail::sample_feature_subset(x, config_.max_features, rng_, leaf.subset);
  }
  for (const auto& f : x.numbers()) {
    if (!leaf.watches(f.index)) continue;
    if (f.index >= leaf.values.size()) leaf.values.resize(f.index + 1);
    leaf.values[f.index][std::round(f.value * scale) / scale].add(y.value, weight);
  }
  for (const auto& c : x.categories()) {
    if (leaf.watches(detail::kCategoryKey | c.column))
      leaf.category(c.column, c.id).add(y.value, weight);
  }
  if (leaf.target.n - leaf.last_attempt >= config_.grace_period &&
      nodes_[node].depth < static_cast<uint32_t>(config_.max_depth)) {
    double seen = leaf.target.n;
    attempt_split(node);
    if (nodes_[node].feature < 0) leaves_[nodes_[node].leaf]->last_attempt = seen;
  }
}

size_t HoeffdingTreeRegressor::memory_bytes() const {
  size_t b = sizeof(*this) + nodes_.bytes() + leaves_.capacity() * sizeof(leaves_[0]);
  for (const auto& l : leaves_) b += l->bytes();
  return b;
}

void HoeffdingTreeRegressor::enforce_memory_limit() {
  size_t used = memory_bytes();
  if (!budget_.measured(used, leaves_.size())) return;
  // Least promising first: the least squared error left to explain (n * variance).
  std::vector<std::pair<double, uint32_t>> order;
  for (uint32_t i = 0; i < leaves_.size(); ++i) {
    const Leaf& l = *leaves_[i];
    if (l.active) order.emplace_back(l.target.n * l.target.variance(), i);
  }
  detail::shed_least_promising(order, used, budget_.limit(), [&](uint32_t i) {
    size_t before = leaves_[i]->bytes();
    leaves_[i]->deactivate();
    return before - leaves_[i]->bytes();
  });
}

void HoeffdingTreeRegressor::attempt_split(uint32_t node_index) {
  Leaf& leaf = *leaves_[nodes_[node_index].leaf];
  const Stat& total = leaf.target;
  double pre = total.variance();
  if (pre <= 0) return;
  struct Candidate {
    double merit = -std::numeric_limits<double>::infinity();
    detail::SplitTest test;
    Stat left, right;
    std::vector<std::pair<uint32_t, Stat>> ways;  // a multiway split's branches
  };
  std::vector<Candidate> best;
  for (size_t f = 0; f < leaf.values.size(); ++f) {
    const auto& values = leaf.values[f];
    if (values.size() < 2) continue;
    Candidate c;
    c.test.feature = static_cast<int32_t>(f);
    Stat left;
    // Thresholds at each kept value: x <= value goes left, as in sort().
    for (auto it = values.begin(); std::next(it) != values.end(); ++it) {
      left = Stat::merge(left, it->second);
      Stat right = Stat::minus(total, left);
      if (left.n < config_.min_samples_split || right.n < config_.min_samples_split) continue;
      double merit = pre - (left.n * left.variance() + right.n * right.variance()) / total.n;
      if (merit > c.merit) {
        c.merit = merit;
        c.test.threshold = it->first;
        c.left = left;
        c.right = right;
      }
    }
    if (c.merit > -std::numeric_limits<double>::infinity()) best.push_back(c);
  }
  // One category against the rest (other categories and events without the column,
  // which is where SplitTest sends them).
  for (const auto& [column, stats] : leaf.categories) {
    Candidate c;
    c.test.feature = static_cast<int32_t>(column);
    c.test.nominal = true;
    for (const auto& [id, left] : stats) {
      Stat right = Stat::minus(total, left);
      if (left.n < config_.min_samples_split || right.n < config_.min_samples_split) continue;
      double merit = pre - (left.n * left.variance() + right.n * right.variance()) / total.n;
      if (merit > c.merit) {
        c.merit = merit;
        c.test.threshold = static_cast<double>(id);
        c.left = left;
        c.right = right;
      }
    }
    if (!config_.binary_split && stats.size() >= 2) {
      // A branch per category; it needs two branches of min_samples_split, and wins a tie.
      double post = 0;
      int big = 0;
      for (const auto& [id, st] : stats) {
        post += st.n * st.variance();
        big += st.n >= config_.min_samples_split;
      }
      double merit = pre - post / total.n;
      if (big >= 2 && merit >= c.merit) {
        c.merit = merit;
        c.test = detail::SplitTest{static_cast<int32_t>(column), true, 0.0, true};
        c.ways.assign(stats.begin(), stats.end());
      }
    }
    if (c.merit > -std::numeric_limits<double>::infinity()) best.push_back(c);
  }
  if (best.empty()) return;
  std::sort(best.begin(), best.end(),
            [](const Candidate& a, const Candidate& b) { return a.merit < b.merit; });
  const Candidate& top = best.back();
  double second = best.size() > 1 ? best[best.size() - 2].merit : 0.0;
  double bound = std::sqrt(std::log(1.0 / config_.delta) / (2.0 * total.n));
  if (!(top.merit > 0 && (second / top.merit < 1 - bound || bound < config_.tau))) return;
  uint32_t old = nodes_[node_index].leaf;
  auto make_child = [&](const Stat& s) {
    auto child = std::make_unique<Leaf>();
    child->target = s;
    child->last_attempt = s.n;
    child->w = leaf.w;  // start from the parent's model
    child->intercept = leaf.intercept;
    return child;
  };
  if (top.test.multiway) {
    std::vector<uint32_t> ids;
    std::vector<double> weights;
    std::vector<std::unique_ptr<Leaf>> children;
    for (const auto& [id, st] : top.ways) {
      ids.push_back(id);
      weights.push_back(st.n);
      children.push_back(make_child(st));
    }
    auto column = static_cast<uint32_t>(top.test.feature);
    // `leaf` and `top` are gone from here on.
    auto slots = detail::place_leaves(leaves_, old, std::move(children));
    nodes_.split_multiway(node_index, column, ids, slots, weights);
    if (budget_.after_split(leaves_.size())) enforce_memory_limit();
    return;
  }
  auto left = make_child(top.left);
  auto right = make_child(top.right);
  detail::SplitTest test = top.test;
  leaves_[old] = std::move(left);  // `leaf` and `top` are gone from here on
  leaves_.push_back(std::move(right));
  nodes_.split(node_index, test, old, static_cast<uint32_t>(leaves_.size() - 1));
  if (budget_.after_split(leaves_.size())) enforce_memory_limit();
}

void HoeffdingTreeRegressor::save(BinaryWriter& out) const {
  nodes_.save(out);
  out.put<uint64_t>(leaves_.size());
  for (const auto& l : leaves_) {
    out.put(l->target);
    out.put<uint64_t>(l->values.size());
    for (const auto& m : l->values) {
      out.put<uint64_t>(m.size());
      for (const auto& [v, s] : m) {
        out.put(v);
        out.put(s);
      }
    }
    out.put_vector(l->w);
    out.put(l->intercept);
    out.put(l->mean_error);
    out.put(l->model_error);
    out.put(l->last_attempt);
    out.put<uint8_t>(l->sampled);
    out.put_vector(l->subset);
    out.put<uint8_t>(l->active);
    out.put<uint64_t>(l->categories.size());
    for (const auto& [column, m] : l->categories) {
      out.put(column);
      out.put<uint64_t>(m.size());
      for (const auto& [id, s] : m) {
        out.put(id);
        out.put(s);
      }
    }
  }
  out.put(rng_.state());
  budget_.save(out);
}

void HoeffdingTreeRegressor::load(BinaryReader& in) {
  nodes_.load(in);
  size_t n = nodes_.size();
  auto count = in.get<uint64_t>();
  if (count > n) in.fail("tree leaf count");
  leaves_.clear();
  for (uint64_t i = 0; i < count; ++i) {
    auto l = std::make_unique<Leaf>();
    l->target = in.get<Stat>();
    auto features = in.get<uint64_t>();
    if (features > (1u << 24)) in.fail("tree feature count");
    l->values.resize(features);
    for (auto& m : l->values) {
      for (auto k = in.get<uint64_t>(); k > 0; --k) {
        double v = in.get<double>();
        m[v] = in.get<Stat>();
      }
    }
    l->w = in.get_vector<double>();
    l->intercept = in.get<double>();
    l->mean_error = in.get<double>();
    l->model_error = in.get<double>();
    l->last_attempt = in.get<double>();
    l->sampled = in.get<uint8_t>();
    l->subset = in.get_vector<uint32_t>();
    l->active = in.get<uint8_t>();
    if (in.version() >= 2) {
      auto columns = in.get<uint64_t>();
      if (columns > (1u << 24)) in.fail("tree categorical column count");
      for (; columns > 0; --columns) {
        auto& m = l->categories.emplace_back(in.get<uint32_t>(), std::map<uint32_t, Stat>{}).second;
        for (auto k = in.get<uint64_t>(); k > 0; --k) {
          uint32_t id = in.get<uint32_t>();
          m[id] = in.get<Stat>();
        }
      }
    }
    leaves_.push_back(std::move(l));
  }
  if (!nodes_.valid(leaves_.size())) in.fail("tree structure");
  rng_.set_state(in.get<std::array<uint64_t, 4>>());
  budget_.load(in);
}

}  // namespace rtml
