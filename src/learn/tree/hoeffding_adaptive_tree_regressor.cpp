#include "rtml/learn/tree/hoeffding_adaptive_tree_regressor.h"

#include <algorithm>
#include <cmath>

#include "adaptive_node.h"
#include "regression_leaf.h"
#include "rtml/core/error.h"
#include "rtml/core/params.h"

namespace rtml {

using detail::RegressionLeaf;

std::unique_ptr<Model> HoeffdingAdaptiveTreeRegressor::make(ParamSet& p) {
  Config c;
  c.grace_period = p.number("grace_period", 200);
  c.delta = p.number("delta", 1e-7);
  c.tau = p.number("tau", 0.05);
  auto lp = p.choice("leaf_prediction", "adaptive", {"mean", "model", "adaptive"});
  c.leaf_prediction = lp == "mean"    ? HoeffdingTreeRegressor::LeafPrediction::kMean
                      : lp == "model" ? HoeffdingTreeRegressor::LeafPrediction::kModel
                                      : HoeffdingTreeRegressor::LeafPrediction::kAdaptive;
  c.digits = static_cast<int>(p.integer("digits", 1));
  c.min_samples_split = p.number("min_samples_split", 5);
  c.max_depth = static_cast<int>(p.integer("max_depth", 1000));
  c.adwin_delta = p.number("adwin_delta", 0.002);
  c.drift_window_threshold = p.number("drift_window_threshold", 300);
  c.switch_significance = p.number("switch_significance", 0.05);
  c.bootstrap_sampling = p.boolean("bootstrap_sampling", true);
  c.seed = static_cast<uint64_t>(p.integer("seed", 42));
  c.max_size_mib = p.number("max_size", 100);
  c.memory_estimate_period = p.number("memory_estimate_period", 1000000);
  c.binary_split = p.boolean("binary_split", true);
  if (!(c.grace_period >= 1) || !(c.delta > 0 && c.delta < 1) || c.digits < 0 || c.digits > 10 ||
      c.max_depth < 1 || !(c.adwin_delta > 0 && c.adwin_delta < 1) ||
      !(c.switch_significance > 0 && c.switch_significance < 1) || !(c.max_size_mib > 0) ||
      !(c.memory_estimate_period >= 1)) {
    throw Error(
        "hoeffding_adaptive_tree_regressor: grace_period >= 1, delta, adwin_delta and "
        "switch_significance in (0, 1), digits in [0, 10], max_depth >= 1, max_size > 0 (MiB), "
        "memory_estimate_period >= 1");
  }
  return std::make_unique<HoeffdingAdaptiveTreeRegressor>(c);
}

HoeffdingAdaptiveTreeRegressor::HoeffdingAdaptiveTreeRegressor(Config config)
    : config_(config),
      rule_(detail::regression_rule(config)),
      root_(new_leaf(0)),
      rng_(config.seed),
      // As the classifier: the nodes' ADWIN windows take what the structure leaves.
      budget_(config.max_size_mib * 0.6, config.memory_estimate_period) {}

HoeffdingAdaptiveTreeRegressor::~HoeffdingAdaptiveTreeRegressor() = default;

std::unique_ptr<HoeffdingAdaptiveTreeRegressor::Node> HoeffdingAdaptiveTreeRegressor::new_leaf(
    uint32_t depth) const {
  return Node::new_leaf(depth, config_.adwin_delta);
}

size_t HoeffdingAdaptiveTreeRegressor::leaf_count() const { return detail::count_leaves(*root_); }

double HoeffdingAdaptiveTreeRegressor::main_prediction(const Node& subtree,
                                                       const Features& x) const {
  return subtree.main_leaf(x).leaf->value(x, rule_.vote);
}

double HoeffdingAdaptiveTreeRegressor::error_of(double y, double predicted) const {
  double r = std::abs(y - predicted);
  if (!(error_scale_ > 0)) return r > 0 ? 1.0 : 0.0;
  return std::min(1.0, r / error_scale_);
}

void HoeffdingAdaptiveTreeRegressor::learn(const Features& x, const Target& y, double weight) {
  error_scale_ = target_n_ > 1 ? 3 * std::sqrt(target_m2_ / (target_n_ - 1)) : 0.0;
  double predicted = main_prediction(*root_, x);
  learn_node(root_, x, y.value, weight, predicted, true);
  // The scale of the errors takes this target in after the nodes scored it.
  target_n_ += 1;
  double d = y.value - target_mean_;
  target_mean_ += d / target_n_;
  target_m2_ += d * (y.value - target_mean_);
  if (budget_.count(weight)) enforce_memory_limit(true);
}

size_t HoeffdingAdaptiveTreeRegressor::memory_bytes() const {
  return sizeof(*this) + detail::tree_bytes(*root_);
}

void HoeffdingAdaptiveTreeRegressor::enforce_memory_limit(bool restructure) {
  size_t used = memory_bytes();
  if (!budget_.measured(used, counts_.leaves)) return;
  // Least promising first: the least squared error left to explain (n * variance).
  auto promise = [](const RegressionLeaf& leaf) { return leaf.target.n * leaf.target.variance(); };
  auto merge = [](const RegressionLeaf& a, const RegressionLeaf& b) {
    // The merged leaf keeps the heavier side's model and both sides' target statistics.
    auto merged = (a.target.n >= b.target.n ? a : b).child(detail::TargetStat{});
    merged->target = detail::TargetStat::merge(a.target, b.target);
    merged->mean_error = std::max(a.mean_error, b.mean_error);
    merged->model_error = std::max(a.model_error, b.model_error);
    return merged;
  };
  detail::shed_memory(root_, used, budget_.limit(), restructure, config_.adwin_delta, sizeof(*this),
                      promise, merge);
}

void HoeffdingAdaptiveTreeRegressor::learn_node(std::unique_ptr<Node>& slot, const Features& x,
                                                double y, double weight, double predicted,
                                                bool is_root) {
  if (slot->is_leaf()) {
    learn_leaf(*slot, x, y, weight, predicted);
    return;
  }
  detail::AdaptiveRule rule{config_.adwin_delta, config_.drift_window_threshold,
                            config_.switch_significance};
  if (detail::adapt_branch(slot, error_of(y, predicted), rule, counts_,
                           [&](uint32_t d) { return new_leaf(d); })) {
    // As the classifier: a new root learns the event that promoted it.
    if (is_root) learn_node(slot, x, y, weight, main_prediction(*slot, x), true);
    return;
  }
  Node& node = *slot;
  if (node.alternate != nullptr) {
    learn_node(node.alternate, x, y, weight, main_prediction(*node.alternate, x), false);
  }
  uint64_t leaves = counts_.leaves;
  auto& child = node.child_to_learn(x, weight, budget_.room_to_grow(), [&](uint32_t depth) {
    ++counts_.leaves;
    return new_leaf(depth);
  });
  if (counts_.leaves > leaves && budget_.after_split(counts_.leaves)) enforce_memory_limit(false);
  learn_node(child, x, y, weight, predicted, false);
}

void HoeffdingAdaptiveTreeRegressor::learn_leaf(Node& node, const Features& x, double y,
                                                double weight, double predicted) {
  if (config_.bootstrap_sampling) {
    uint32_t k = rng_.poisson(1.0);
    if (k > 0) weight *= k;
  }
  node.track(error_of(y, predicted));
  RegressionLeaf& leaf = *node.leaf;
  leaf.learn(x, y, weight, rule_, 0, nullptr);
  if (leaf.target.n - leaf.last_attempt < config_.grace_period || !leaf.active) return;
  if (node.depth >= static_cast<uint32_t>(config_.max_depth)) {
    leaf.deactivate();
    return;
  }
  detail::RegressionSplit split = leaf.best_split(rule_);
  leaf.last_attempt = leaf.target.n;
  if (!split.split) return;
  // The leaf becomes a branch with a fresh error record and new leaves that start from
  // the split's target statistics and the leaf's model.
  auto child = [&](const detail::TargetStat& s) {
    auto c = std::make_unique<Node>(config_.adwin_delta);
    c->depth = node.depth + 1;
    c->leaf = leaf.child(s);
    return c;
  };
  if (split.test.multiway) {
    for (size_t i = 0; i < split.ways.size(); ++i) {
      node.ways.insert(split.ways[i].first, static_cast<uint32_t>(i), split.ways[i].second.n);
      node.branches.push_back(child(split.ways[i].second));
    }
    counts_.leaves += split.ways.size() - 1;
  } else {
    node.left = child(split.left);
    node.right = child(split.right);
    counts_.leaves += 1;
  }
  node.become_branch(split.test, config_.adwin_delta);  // `leaf` is gone from here on
  if (budget_.after_split(counts_.leaves)) enforce_memory_limit(false);
}

void HoeffdingAdaptiveTreeRegressor::collect(const Node& subtree, const Features& x, double& sum,
                                             int& count) const {
  const Node* n = &subtree;
  while (true) {
    if (n->alternate != nullptr) collect(*n->alternate, x, sum, count);
    if (n->is_leaf()) break;
    n = n->child(x);
  }
  // A leaf that has learnt nothing (a new alternate) has no estimate to give.
  if (n->leaf->target.n <= 0) return;
  sum += n->leaf->value(x, rule_.vote);
  count += 1;
}

void HoeffdingAdaptiveTreeRegressor::predict(const Features& x, Prediction& out, Workspace&) const {
  double sum = 0;
  int count = 0;
  collect(*root_, x, sum, count);
  out.value = count > 0 ? sum / count : 0.0;
  out.has_label = false;
}

void HoeffdingAdaptiveTreeRegressor::save(BinaryWriter& out) const {
  root_->save(out);
  out.put(rng_.state());
  out.put(counts_.switches);
  out.put(counts_.alternates);
  budget_.save(out);
  out.put(counts_.leaves);
  out.put(target_n_);
  out.put(target_mean_);
  out.put(target_m2_);
}

void HoeffdingAdaptiveTreeRegressor::load(BinaryReader& in) {
  root_ = Node::load(in, config_.adwin_delta);
  rng_.set_state(in.get<std::array<uint64_t, 4>>());
  counts_.switches = in.get<uint64_t>();
  counts_.alternates = in.get<uint64_t>();
  budget_.load(in);
  counts_.leaves = in.get<uint64_t>();
  target_n_ = in.get<double>();
  target_mean_ = in.get<double>();
  target_m2_ = in.get<double>();
  if (!(target_n_ >= 0 && target_m2_ >= 0)) in.fail("tree target statistics");
}

}  // namespace rtml
