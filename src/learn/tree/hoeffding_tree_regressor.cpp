#include "rtml/learn/tree/hoeffding_tree_regressor.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "regression_leaf.h"
#include "rtml/core/error.h"
#include "rtml/core/params.h"

namespace rtml {

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
      rule_(detail::regression_rule(config)),
      rng_(config.seed),
      budget_(config.max_size_mib, config.memory_estimate_period) {
  leaves_.push_back(std::make_unique<Leaf>());
}

HoeffdingTreeRegressor::~HoeffdingTreeRegressor() = default;

void HoeffdingTreeRegressor::predict(const Features& x, Prediction& out, Workspace&) const {
  out.value = leaves_[nodes_[nodes_.sort(x)].leaf]->value(x, rule_.vote);
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
  leaf.learn(x, y.value, weight, rule_, config_.max_features, &rng_);
  if (budget_.count(weight)) enforce_memory_limit();
  if (!leaf.active) return;
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
  uint32_t old = nodes_[node_index].leaf;
  detail::RegressionSplit top = leaves_[old]->best_split(rule_);
  if (!top.split) return;
  const Leaf& leaf = *leaves_[old];
  auto make_child = [&](const detail::TargetStat& s) { return leaf.child(s); };
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
    // `leaf` is gone from here on.
    auto slots = detail::place_leaves(leaves_, old, std::move(children));
    nodes_.split_multiway(node_index, column, ids, slots, weights);
    if (budget_.after_split(leaves_.size())) enforce_memory_limit();
    return;
  }
  auto left = make_child(top.left);
  auto right = make_child(top.right);
  leaves_[old] = std::move(left);  // `leaf` is gone from here on
  leaves_.push_back(std::move(right));
  nodes_.split(node_index, top.test, old, static_cast<uint32_t>(leaves_.size() - 1));
  if (budget_.after_split(leaves_.size())) enforce_memory_limit();
}

void HoeffdingTreeRegressor::save(BinaryWriter& out) const {
  nodes_.save(out);
  out.put<uint64_t>(leaves_.size());
  for (const auto& l : leaves_) l->save(out);
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
    l->load(in);
    leaves_.push_back(std::move(l));
  }
  if (!nodes_.valid(leaves_.size())) in.fail("tree structure");
  rng_.set_state(in.get<std::array<uint64_t, 4>>());
  budget_.load(in);
}

}  // namespace rtml
