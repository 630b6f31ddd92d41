#include "rtml/learn/tree/hoeffding_adaptive_tree.h"

#include <algorithm>
#include <cmath>

#include "adaptive_node.h"
#include "class_leaf.h"
#include "rtml/core/error.h"
#include "rtml/core/params.h"
#include "rtml/learn/drift/drift_detector.h"

namespace rtml {

using detail::ClassLeaf;
using detail::LeafVote;

namespace {

LeafVote vote_of(uint8_t v) {
  return v == 0 ? LeafVote::kMajority : v == 1 ? LeafVote::kNaiveBayes : LeafVote::kAdaptive;
}

}  // namespace

std::unique_ptr<Model> HoeffdingAdaptiveTreeClassifier::make(ParamSet& p) {
  Config c;
  c.grace_period = p.number("grace_period", 200);
  c.delta = p.number("delta", 1e-7);
  c.tie_threshold = p.number("tau", 0.05);
  c.gini = p.choice("split_criterion", "info_gain", {"info_gain", "gini"}) == "gini";
  auto lp = p.choice("leaf_prediction", "nba", {"mc", "nb", "nba"});
  c.leaf_prediction = lp == "mc" ? 0 : lp == "nb" ? 1 : 2;
  c.n_splits = static_cast<int>(p.integer("n_splits", 10));
  c.max_depth = static_cast<int>(p.integer("max_depth", 1000));
  c.adwin_delta = p.number("adwin_delta", 0.002);
  c.drift_window_threshold = p.number("drift_window_threshold", 300);
  c.switch_significance = p.number("switch_significance", 0.05);
  c.bootstrap_sampling = p.boolean("bootstrap_sampling", true);
  c.seed = static_cast<uint64_t>(p.integer("seed", 42));
  c.max_size_mib = p.number("max_size", 100);
  c.memory_estimate_period = p.number("memory_estimate_period", 1000000);
  c.binary_split = p.boolean("binary_split", true);
  if (!(c.grace_period >= 1) || !(c.delta > 0 && c.delta < 1) || c.n_splits < 1 ||
      c.max_depth < 1 || !(c.adwin_delta > 0 && c.adwin_delta < 1) ||
      !(c.switch_significance > 0 && c.switch_significance < 1) || !(c.max_size_mib > 0) ||
      !(c.memory_estimate_period >= 1)) {
    throw Error(
        "hoeffding_adaptive_tree: grace_period >= 1, delta, adwin_delta and "
        "switch_significance in (0, 1), n_splits >= 1, max_depth >= 1, max_size > 0 (MiB), "
        "memory_estimate_period >= 1");
  }
  return std::make_unique<HoeffdingAdaptiveTreeClassifier>(c);
}

HoeffdingAdaptiveTreeClassifier::HoeffdingAdaptiveTreeClassifier(Config config)
    : config_(config),
      root_(new_leaf(0)),
      rng_(config.seed),
      // Every node's ADWIN window keeps growing with the log of the events it has seen,
      // and only a branch can shed it, so the tree stops growing at 60% of the limit and
      // leaves the rest to its windows.
      budget_(config.max_size_mib * 0.6, config.memory_estimate_period) {}

HoeffdingAdaptiveTreeClassifier::~HoeffdingAdaptiveTreeClassifier() = default;

std::unique_ptr<HoeffdingAdaptiveTreeClassifier::Node> HoeffdingAdaptiveTreeClassifier::new_leaf(
    uint32_t depth) const {
  return Node::new_leaf(depth, config_.adwin_delta);
}

size_t HoeffdingAdaptiveTreeClassifier::leaf_count() const { return detail::count_leaves(*root_); }

int HoeffdingAdaptiveTreeClassifier::main_prediction(const Node& subtree, const Features& x) {
  const Node* n = &subtree;
  while (!n->is_leaf()) n = n->child(x);
  if (n->leaf->total() <= 0) return -1;
  n->leaf->votes(x, vote_of(config_.leaf_prediction), votes_);
  return detail::argmax(votes_);
}

void HoeffdingAdaptiveTreeClassifier::learn(const Features& x, const Target& y, double weight) {
  int predicted = main_prediction(*root_, x);
  learn_node(root_, x, y.label, weight, predicted, true);
  if (budget_.count(weight)) enforce_memory_limit(true);
}

size_t HoeffdingAdaptiveTreeClassifier::memory_bytes() const {
  return sizeof(*this) + detail::tree_bytes(*root_);
}

void HoeffdingAdaptiveTreeClassifier::enforce_memory_limit(bool restructure) {
  size_t used = memory_bytes();
  if (!budget_.measured(used, counts_.leaves)) return;
  // Least promising first: the least misclassified weight.
  auto promise = [](const ClassLeaf& leaf) {
    const auto& c = leaf.classes;
    return leaf.total() - (c.empty() ? 0.0 : *std::max_element(c.begin(), c.end()));
  };
  auto merge = [](const ClassLeaf& a, const ClassLeaf& b) {
    auto merged = std::make_unique<ClassLeaf>();
    merged->classes.assign(std::max(a.classes.size(), b.classes.size()), 0.0);
    for (size_t c = 0; c < a.classes.size(); ++c) merged->classes[c] += a.classes[c];
    for (size_t c = 0; c < b.classes.size(); ++c) merged->classes[c] += b.classes[c];
    return merged;
  };
  detail::shed_memory(root_, used, budget_.limit(), restructure, config_.adwin_delta, sizeof(*this),
                      promise, merge);
}

void HoeffdingAdaptiveTreeClassifier::learn_node(std::unique_ptr<Node>& slot, const Features& x,
                                                 uint32_t y, double weight, int predicted,
                                                 bool is_root) {
  if (slot->is_leaf()) {
    learn_leaf(*slot, x, y, weight, predicted);
    return;
  }
  detail::AdaptiveRule rule{config_.adwin_delta, config_.drift_window_threshold,
                            config_.switch_significance};
  double wrong = predicted != static_cast<int>(y) ? 1.0 : 0.0;
  if (detail::adapt_branch(slot, wrong, rule, counts_, [&](uint32_t d) { return new_leaf(d); })) {
    // As River: a new root learns the event that promoted it; a new inner subtree
    // starts with the next one.
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
  // As after a split: only leaves change inside the descent.
  if (counts_.leaves > leaves && budget_.after_split(counts_.leaves)) enforce_memory_limit(false);
  learn_node(child, x, y, weight, predicted, false);
}

void HoeffdingAdaptiveTreeClassifier::learn_leaf(Node& node, const Features& x, uint32_t y,
                                                 double weight, int predicted) {
  if (config_.bootstrap_sampling) {
    uint32_t k = rng_.poisson(1.0);
    if (k > 0) weight *= k;
  }
  node.track(predicted != static_cast<int>(y) ? 1.0 : 0.0);
  ClassLeaf& leaf = *node.leaf;
  leaf.learn(x, y, weight, vote_of(config_.leaf_prediction), 0, nullptr);
  double total = leaf.total();
  if (total - leaf.last_attempt < config_.grace_period || !leaf.active) return;
  if (node.depth >= static_cast<uint32_t>(config_.max_depth)) {
    leaf.deactivate();
    return;
  }
  detail::SplitRule rule{config_.gini, config_.n_splits, config_.delta, config_.tie_threshold,
                         config_.binary_split};
  detail::SplitChoice choice = leaf.best_split(rule);
  leaf.last_attempt = total;
  if (choice.kind == detail::SplitChoice::kWait) return;
  if (choice.kind == detail::SplitChoice::kDeactivate) {
    leaf.deactivate();
    return;
  }
  // The leaf becomes a branch with a fresh error record and new leaves that start from
  // the split's class weights.
  if (choice.test.multiway) {
    for (size_t i = 0; i < choice.way_ids.size(); ++i) {
      auto child = new_leaf(node.depth + 1);
      child->leaf->classes = std::move(choice.way_weights[i]);
      child->leaf->last_attempt = child->leaf->total();
      node.ways.insert(choice.way_ids[i], static_cast<uint32_t>(i), child->leaf->total());
      node.branches.push_back(std::move(child));
    }
    node.become_branch(choice.test, config_.adwin_delta);
    counts_.leaves += node.branches.size() - 1;
    if (budget_.after_split(counts_.leaves)) enforce_memory_limit(false);
    return;
  }
  node.left = new_leaf(node.depth + 1);
  node.left->leaf->classes = std::move(choice.left);
  node.left->leaf->last_attempt = node.left->leaf->total();
  node.right = new_leaf(node.depth + 1);
  node.right->leaf->classes = std::move(choice.right);
  node.right->leaf->last_attempt = node.right->leaf->total();
  node.become_branch(choice.test, config_.adwin_delta);
  counts_.leaves += 1;  // two new leaves for one
  // As the Hoeffding tree: every split near the limit, and whenever it grew by half.
  // Inside the descent only leaves may change: the nodes on the path are in use.
  if (budget_.after_split(counts_.leaves)) enforce_memory_limit(false);
}

void HoeffdingAdaptiveTreeClassifier::collect(const Node& subtree, const Features& x,
                                              std::vector<double>& proba,
                                              std::vector<double>& votes_) const {
  const Node* n = &subtree;
  while (true) {
    if (n->alternate != nullptr) collect(*n->alternate, x, proba, votes_);
    if (n->is_leaf()) break;
    n = n->child(x);
  }
  const ClassLeaf& leaf = *n->leaf;
  if (leaf.total() <= 0) return;
  leaf.votes(x, vote_of(config_.leaf_prediction), votes_);
  double sum = 0;
  for (double v : votes_) sum += v;
  double error = n->error();
  // Weighted by the inverse squared error, so that the more accurate of a branch and its
  // alternate speaks louder; a leaf that has not erred gives its raw votes, as River.
  double scale = sum > 0 && error > 0 ? 1.0 / (sum * error * error) : 1.0;
  if (proba.size() < votes_.size()) proba.resize(votes_.size(), 0.0);
  for (size_t c = 0; c < votes_.size(); ++c) proba[c] += votes_[c] * scale;
}

void HoeffdingAdaptiveTreeClassifier::predict(const Features& x, Prediction& out,
                                              Workspace& workspace) const {
  out.proba.clear();
  collect(*root_, x, out.proba, workspace.scratch<std::vector<double>>());
  set_votes_prediction(out);
}

void HoeffdingAdaptiveTreeClassifier::save(BinaryWriter& out) const {
  root_->save(out);
  out.put(rng_.state());
  out.put(counts_.switches);
  out.put(counts_.alternates);
  budget_.save(out);
  out.put(counts_.leaves);
}

void HoeffdingAdaptiveTreeClassifier::load(BinaryReader& in) {
  root_ = Node::load(in, config_.adwin_delta);
  rng_.set_state(in.get<std::array<uint64_t, 4>>());
  counts_.switches = in.get<uint64_t>();
  counts_.alternates = in.get<uint64_t>();
  budget_.load(in);
  counts_.leaves = in.get<uint64_t>();
}

}  // namespace rtml
