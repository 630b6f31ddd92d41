#include "rtml/learn/tree/hoeffding_tree.h"

#include <algorithm>
#include <cmath>

#include "class_leaf.h"
#include "rtml/core/error.h"
#include "rtml/core/params.h"

namespace rtml {

using detail::ClassLeaf;
using detail::LeafVote;

namespace {

LeafVote leaf_vote(HoeffdingTreeClassifier::LeafPrediction p) {
  using LP = HoeffdingTreeClassifier::LeafPrediction;
  return p == LP::kMajority     ? LeafVote::kMajority
         : p == LP::kNaiveBayes ? LeafVote::kNaiveBayes
                                : LeafVote::kAdaptive;
}

}  // namespace

std::unique_ptr<Model> HoeffdingTreeClassifier::make(ParamSet& p) {
  Config c;
  c.grace_period = p.number("grace_period", 200);
  c.delta = p.number("delta", 1e-7);
  c.tie_threshold = p.number("tau", 0.05);
  c.criterion = p.choice("split_criterion", "info_gain", {"info_gain", "gini"}) == "gini"
                    ? Criterion::kGini
                    : Criterion::kInfoGain;
  auto lp = p.choice("leaf_prediction", "nba", {"mc", "nb", "nba"});
  c.leaf_prediction = lp == "mc"   ? LeafPrediction::kMajority
                      : lp == "nb" ? LeafPrediction::kNaiveBayes
                                   : LeafPrediction::kAdaptive;
  c.n_splits = static_cast<int>(p.integer("n_splits", 10));
  c.max_depth = static_cast<int>(p.integer("max_depth", 1000));
  c.max_size_mib = p.number("max_size", 100);
  c.memory_estimate_period = p.number("memory_estimate_period", 1000000);
  c.binary_split = p.boolean("binary_split", true);
  if (!(c.grace_period >= 1) || !(c.delta > 0 && c.delta < 1) || c.n_splits < 1 ||
      c.max_depth < 1 || !(c.max_size_mib > 0) || !(c.memory_estimate_period >= 1)) {
    throw Error(
        "hoeffding_tree: grace_period >= 1, delta in (0, 1), n_splits >= 1, max_depth >= 1, "
        "max_size > 0 (MiB), memory_estimate_period >= 1");
  }
  return std::make_unique<HoeffdingTreeClassifier>(c);
}

HoeffdingTreeClassifier::HoeffdingTreeClassifier(Config config)
    : config_(config),
      rng_(config.seed),
      budget_(config.max_size_mib, config.memory_estimate_period) {
  leaves_.push_back(std::make_unique<ClassLeaf>());
}

HoeffdingTreeClassifier::~HoeffdingTreeClassifier() = default;

size_t HoeffdingTreeClassifier::leaf_count() const { return leaves_.size(); }

size_t HoeffdingTreeClassifier::active_leaf_count() const {
  size_t n = 0;
  for (const auto& l : leaves_) n += l->active;
  return n;
}

size_t HoeffdingTreeClassifier::memory_bytes() const {
  size_t b = sizeof(*this) + nodes_.bytes() + leaves_.capacity() * sizeof(leaves_[0]);
  for (const auto& l : leaves_) b += l->bytes();
  return b;
}

bool HoeffdingTreeClassifier::vote(const Features& x, std::vector<double>& out) const {
  const ClassLeaf& leaf = *leaves_[nodes_[nodes_.sort(x)].leaf];
  if (leaf.total() <= 0) {
    out.clear();
    return false;
  }
  leaf.votes(x, leaf_vote(config_.leaf_prediction), out);
  return true;
}

void HoeffdingTreeClassifier::predict(const Features& x, Prediction& out, Workspace&) const {
  // The leaf's votes, made probabilities in place.
  if (!vote(x, out.proba)) {
    out.proba.clear();
    out.has_label = false;
    return;
  }
  double sum = 0;
  for (double v : out.proba) sum += v;
  for (double& p : out.proba) p = sum > 0 ? p / sum : 0.0;
  set_argmax_label(out);
  out.value = out.proba.size() == 2 ? out.proba[1] : out.proba[out.label];
}

void HoeffdingTreeClassifier::learn(const Features& x, const Target& y, double weight) {
  size_t leaves = leaves_.size();
  uint32_t node = nodes_.sort_to_learn(x, weight, budget_.room_to_grow(), [&] {
    leaves_.push_back(std::make_unique<ClassLeaf>());
    return static_cast<uint32_t>(leaves_.size() - 1);
  });
  if (leaves_.size() > leaves && budget_.after_split(leaves_.size())) enforce_memory_limit();
  ClassLeaf& leaf = *leaves_[nodes_[node].leaf];
  leaf.learn(x, y.label, weight, leaf_vote(config_.leaf_prediction), config_.max_features, &rng_);
  if (leaf.active) {
    double total = leaf.total();
    if (total - leaf.last_attempt >= config_.grace_period &&
        nodes_[node].depth < static_cast<uint32_t>(config_.max_depth)) {
      attempt_split(node);
      // attempt_split may have turned the node into a split node; its leaf is then gone.
      if (nodes_[node].feature < 0) leaves_[nodes_[node].leaf]->last_attempt = total;
    }
  }
  if (budget_.count(weight)) enforce_memory_limit();
}

void HoeffdingTreeClassifier::enforce_memory_limit() {
  size_t used = memory_bytes();
  if (!budget_.measured(used, leaves_.size())) return;
  // Least promising first: a leaf that misclassifies little weight has least to gain
  // from splitting further.
  std::vector<std::pair<double, uint32_t>> order;
  for (uint32_t i = 0; i < leaves_.size(); ++i) {
    const ClassLeaf& l = *leaves_[i];
    if (!l.active) continue;
    double top = l.classes.empty() ? 0.0 : *std::max_element(l.classes.begin(), l.classes.end());
    order.emplace_back(l.total() - top, i);
  }
  detail::shed_least_promising(order, used, budget_.limit(), [&](uint32_t i) {
    ClassLeaf& l = *leaves_[i];
    size_t before = l.bytes();
    l.deactivate();
    return before - l.bytes();
  });
}

void HoeffdingTreeClassifier::attempt_split(uint32_t node_index) {
  ClassLeaf& leaf = *leaves_[nodes_[node_index].leaf];
  detail::SplitRule rule{config_.criterion == Criterion::kGini, config_.n_splits, config_.delta,
                         config_.tie_threshold, config_.binary_split};
  detail::SplitChoice choice = leaf.best_split(rule);
  if (choice.kind == detail::SplitChoice::kWait) return;
  if (choice.kind == detail::SplitChoice::kDeactivate) {
    leaf.deactivate();  // not splitting is best: stop spending memory here
    return;
  }
  uint32_t old_leaf = nodes_[node_index].leaf;
  if (choice.test.multiway) {
    // A fresh leaf per category, starting from its class weights; the first takes the
    // old leaf's slot.
    std::vector<std::unique_ptr<ClassLeaf>> children;
    std::vector<double> weights;
    for (auto& classes : choice.way_weights) {
      auto& l = *children.emplace_back(std::make_unique<ClassLeaf>());
      l.classes = std::move(classes);
      l.last_attempt = l.total();
      weights.push_back(l.total());
    }
    // `leaf` is gone from here on.
    auto slots = detail::place_leaves(leaves_, old_leaf, std::move(children));
    nodes_.split_multiway(node_index, static_cast<uint32_t>(choice.test.feature), choice.way_ids,
                          slots, weights);
    if (budget_.after_split(leaves_.size())) enforce_memory_limit();
    return;
  }
  // Turn the leaf into a split node with two fresh leaves that start from the split's
  // class weights; the left one takes the old leaf's slot.
  auto left_leaf = std::make_unique<ClassLeaf>();
  left_leaf->classes = std::move(choice.left);
  left_leaf->last_attempt = left_leaf->total();
  auto right_leaf = std::make_unique<ClassLeaf>();
  right_leaf->classes = std::move(choice.right);
  right_leaf->last_attempt = right_leaf->total();
  left_leaf->shape_like(leaf);
  right_leaf->shape_like(leaf);
  leaves_[old_leaf] = std::move(left_leaf);  // `leaf` is gone from here on
  leaves_.push_back(std::move(right_leaf));
  nodes_.split(node_index, choice.test, old_leaf, static_cast<uint32_t>(leaves_.size() - 1));
  if (budget_.after_split(leaves_.size())) enforce_memory_limit();
}

void HoeffdingTreeClassifier::save(BinaryWriter& out) const {
  nodes_.save(out);
  out.put<uint64_t>(leaves_.size());
  for (const auto& l : leaves_) l->save(out);
  out.put(rng_.state());
  budget_.save(out);
}

void HoeffdingTreeClassifier::load(BinaryReader& in) {
  nodes_.load(in);
  size_t n = nodes_.size();
  auto leaves = in.get<uint64_t>();
  if (leaves > n) in.fail("tree leaf count");
  leaves_.clear();
  for (uint64_t i = 0; i < leaves; ++i) {
    auto l = std::make_unique<ClassLeaf>();
    l->load(in);
    leaves_.push_back(std::move(l));
  }
  if (!nodes_.valid(leaves_.size())) in.fail("tree structure");
  rng_.set_state(in.get<std::array<uint64_t, 4>>());
  budget_.load(in);
}

}  // namespace rtml
