// AdaptiveNode: a node of a Hoeffding adaptive tree, classifier or regressor: a branch
// or a leaf, either with an ADWIN-watched error record and perhaps an alternate subtree.
// The trees differ only in their leaves (Leaf: ClassLeaf or RegressionLeaf) and in the
// error they feed it.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "rtml/core/binary_io.h"
#include "rtml/core/features.h"
#include "rtml/learn/drift/drift_detector.h"
#include "rtml/learn/tree/adaptive_counts.h"
#include "rtml/learn/tree/memory_budget.h"
#include "rtml/learn/tree/split_test.h"
#include "rtml/learn/tree/way_table.h"

namespace rtml::detail {

// A branch (test.feature >= 0: two children, or a multiway split's branches) or a leaf;
// either may carry an alternate subtree (River grows alternates only under branches).
// Every node keeps the mean of its errors (each in [0, 1]) since its last reset, and
// ADWIN over the same stream to tell when it rose. Not thread-safe.
template <typename Leaf>
struct AdaptiveNode {
  SplitTest test;  // test.feature < 0: a leaf
  uint32_t depth = 0;
  std::unique_ptr<AdaptiveNode> left, right, alternate;
  // A multiway split's children, and its branches (WayTable children index `branches`).
  std::vector<std::unique_ptr<AdaptiveNode>> branches;
  WayTable ways;
  std::unique_ptr<Leaf> leaf;
  Adwin detector;
  double errors = 0, seen = 0;  // the running error mean is errors / seen

  explicit AdaptiveNode(double adwin_delta) : detector(adwin_delta) {}
  // A new, empty leaf at depth.
  static std::unique_ptr<AdaptiveNode> new_leaf(uint32_t depth, double adwin_delta) {
    auto n = std::make_unique<AdaptiveNode>(adwin_delta);
    n->depth = depth;
    n->leaf = std::make_unique<Leaf>();
    return n;
  }
  bool is_leaf() const { return test.feature < 0; }
  double error() const { return seen > 0 ? errors / seen : 0.0; }
  static int64_t category_of(const Features& x, int32_t column) {
    return detail::category_of(x, static_cast<uint32_t>(column));
  }
  const AdaptiveNode* child(const Features& x) const {
    if (test.multiway) {
      return branches[ways.children[ways.route(category_of(x, test.feature))]].get();
    }
    return test.goes_left(x) ? left.get() : right.get();
  }
  // The leaf node x reaches in this subtree, alternates aside.
  const AdaptiveNode& main_leaf(const Features& x) const {
    const AdaptiveNode* n = this;
    while (!n->is_leaf()) n = n->child(x);
    return *n;
  }
  // The child x goes to when the tree learns from it: the branch taken gains weight, and,
  // when may_grow, a category a multiway split has no branch for gets one, ending in
  // make_leaf(depth); otherwise that event takes the heaviest branch.
  template <typename MakeLeaf>
  std::unique_ptr<AdaptiveNode>& child_to_learn(const Features& x, double weight, bool may_grow,
                                                MakeLeaf&& make_leaf) {
    if (!test.multiway) return test.goes_left(x) ? left : right;
    int64_t id = category_of(x, test.feature);
    size_t at;
    if (may_grow && id >= 0 && ways.find(static_cast<uint32_t>(id)) < 0) {
      branches.push_back(make_leaf(depth + 1));
      at = ways.insert(static_cast<uint32_t>(id), static_cast<uint32_t>(branches.size() - 1), 0.0);
    } else {
      at = ways.route(id);
    }
    ways.weights[at] += weight;
    return branches[ways.children[at]];
  }
  // Calls f on each child (const if this node is), in branch order.
  template <typename F>
  void for_each_child(F&& f) const {
    each_child(*this, f);
  }
  template <typename F>
  void for_each_child(F&& f) {
    each_child(*this, f);
  }
  template <typename Self, typename F>
  static void each_child(Self& self, F& f) {
    if (self.test.multiway) {
      for (const auto& b : self.branches) f(static_cast<Self&>(*b));
    } else if (!self.is_leaf()) {
      f(static_cast<Self&>(*self.left));
      f(static_cast<Self&>(*self.right));
    }
  }
  // Feeds one error in [0, 1]; true when ADWIN saw the error rise.
  bool track(double error_now) {
    double before = error();
    detector.update(error_now);
    errors += error_now;
    seen += 1;
    if (!detector.drift_detected()) return false;
    if (before > error()) {  // the error fell: restart the mean, keep the subtree
      errors = seen = 0;
      return false;
    }
    return true;
  }
  enum class Verdict { kWait, kSwitch, kDrop };
  // Whether the alternate should replace this node (its error lower by the bound at
  // `significance`), be dropped (higher by it), or wait; both must have recorded more
  // than min_seen errors first.
  Verdict judge_alternate(double min_seen, double significance) const {
    if (alternate == nullptr || alternate->seen <= min_seen || seen <= min_seen) {
      return Verdict::kWait;
    }
    double old_error = error(), alt_error = alternate->error();
    double n = 1.0 / alternate->seen + 1.0 / seen;
    double bound =
        std::sqrt(2.0 * old_error * (1.0 - old_error) * std::log(2.0 / significance) * n);
    if (bound < old_error - alt_error) return Verdict::kSwitch;
    if (bound < alt_error - old_error) return Verdict::kDrop;
    return Verdict::kWait;
  }
  // Turns this leaf into a branch on `split`, whose children the caller adds; the
  // branch starts a fresh error record.
  void become_branch(const SplitTest& split, double adwin_delta) {
    test = split;
    leaf.reset();
    detector = Adwin(adwin_delta);
    errors = seen = 0;
  }
  // The node's own bytes (its leaf's excluded), as the memory limit counts them.
  size_t own_bytes() const {
    return sizeof(AdaptiveNode) + detector.bytes() - sizeof(Adwin) + ways.bytes() - sizeof(ways) +
           branches.capacity() * sizeof(branches[0]);
  }

  // Pre-order: a node, its alternate (flagged), then its children.
  void save(BinaryWriter& out) const {
    out.put(test.feature);
    out.put(test.threshold);
    out.put<uint8_t>(test.nominal);
    out.put<uint8_t>(test.multiway);
    out.put(depth);
    out.put(errors);
    out.put(seen);
    detector.save(out);
    if (is_leaf()) leaf->save(out);
    out.put<uint8_t>(alternate != nullptr);
    if (alternate != nullptr) alternate->save(out);
    if (test.multiway) {
      ways.save(out);
      out.put<uint64_t>(branches.size());
    }
    for_each_child([&](const AdaptiveNode& c) { c.save(out); });
  }
  static std::unique_ptr<AdaptiveNode> load(BinaryReader& in, double adwin_delta,
                                            uint32_t level = 0) {
    constexpr uint32_t kMaxLoadDepth = 4096;
    if (level > kMaxLoadDepth) in.fail("tree depth");
    auto n = std::make_unique<AdaptiveNode>(adwin_delta);
    n->test.feature = in.get<int32_t>();
    n->test.threshold = in.get<double>();
    if (in.version() >= 2) {
      n->test.nominal = in.get<uint8_t>() != 0;
      n->test.multiway = in.get<uint8_t>() != 0;
    }
    n->depth = in.get<uint32_t>();
    n->errors = in.get<double>();
    n->seen = in.get<double>();
    if (!(n->errors >= 0 && n->seen >= n->errors)) in.fail("tree error counts");
    n->detector.load(in);
    if (n->is_leaf()) {
      n->leaf = std::make_unique<Leaf>();
      n->leaf->load(in);
    }
    if (in.get<uint8_t>() != 0) n->alternate = load(in, adwin_delta, level + 1);
    if (n->test.multiway) {
      n->ways.load(in);
      auto count = in.get<uint64_t>();
      if (count != n->ways.ids.size()) in.fail("tree multiway branch count");
      for (uint32_t c : n->ways.children) {
        if (c >= count) in.fail("tree multiway branch");
      }
      for (uint64_t i = 0; i < count; ++i) n->branches.push_back(load(in, adwin_delta, level + 1));
    } else if (!n->is_leaf()) {
      n->left = load(in, adwin_delta, level + 1);
      n->right = load(in, adwin_delta, level + 1);
    }
    return n;
  }
};

// Folds, deepest first, each binary branch whose two children are inactive leaves back
// into one inactive leaf, merge(left leaf, right leaf), until used <= limit; multiway
// branches stay (their subtrees may fold). Takes what each fold frees off `used`. For a
// tree still over its limit once its leaves are inactive and its alternates gone.
template <typename Leaf, typename Merge>
void fold_inactive_leaves(AdaptiveNode<Leaf>& n, size_t& used, size_t limit, double adwin_delta,
                          Merge& merge) {
  if (n.is_leaf() || used <= limit) return;
  if (n.test.multiway) {
    for (auto& b : n.branches) fold_inactive_leaves(*b, used, limit, adwin_delta, merge);
    return;
  }
  fold_inactive_leaves(*n.left, used, limit, adwin_delta, merge);
  fold_inactive_leaves(*n.right, used, limit, adwin_delta, merge);
  if (used <= limit || !n.left->is_leaf() || !n.right->is_leaf() || n.left->leaf->active ||
      n.right->leaf->active) {
    return;
  }
  std::unique_ptr<Leaf> merged = merge(*n.left->leaf, *n.right->leaf);
  merged->deactivate();
  auto leaf_node_bytes = [](const AdaptiveNode<Leaf>& l) {
    return sizeof(AdaptiveNode<Leaf>) + l.detector.bytes() - sizeof(Adwin) + l.leaf->bytes();
  };
  size_t before = n.detector.bytes() + leaf_node_bytes(*n.left) + leaf_node_bytes(*n.right);
  n.left.reset();
  n.right.reset();
  n.test = SplitTest{};
  n.leaf = std::move(merged);
  n.detector = Adwin(adwin_delta);
  size_t after = n.detector.bytes() + n.leaf->bytes();
  used -= std::min(used, before - std::min(before, after));
}

// Calls f on every node, alternates and their subtrees included.
template <typename N, typename F>
void for_each_node(N& n, F&& f) {
  f(n);
  if (n.alternate != nullptr) for_each_node(*n.alternate, f);
  n.for_each_child([&](auto& c) { for_each_node(c, f); });
}

// The leaves of the main tree under root (alternates excluded).
template <typename Leaf>
size_t count_leaves(const AdaptiveNode<Leaf>& root) {
  size_t n = 0;
  std::vector<const AdaptiveNode<Leaf>*> todo{&root};
  while (!todo.empty()) {
    const AdaptiveNode<Leaf>* node = todo.back();
    todo.pop_back();
    if (node->is_leaf()) ++n;
    node->for_each_child([&](const AdaptiveNode<Leaf>& c) { todo.push_back(&c); });
  }
  return n;
}

// The bytes of every node and leaf under root, alternates included.
template <typename Leaf>
size_t tree_bytes(const AdaptiveNode<Leaf>& root) {
  size_t b = 0;
  for_each_node(root, [&](const AdaptiveNode<Leaf>& n) {
    b += n.own_bytes();
    if (n.is_leaf()) b += n.leaf->bytes();
  });
  return b;
}

// How an adaptive tree judges its alternates.
struct AdaptiveRule {
  double adwin_delta = 0.002;
  double drift_window_threshold = 300;
  double switch_significance = 0.05;
};

// A branch's step before its event goes on down: records error_now; when the error rose,
// starts an alternate, make_leaf(depth); otherwise judges the alternate it has, dropping
// it or, returning true, putting it in the branch's place (the branch is gone then).
template <typename Leaf, typename MakeLeaf>
bool adapt_branch(std::unique_ptr<AdaptiveNode<Leaf>>& slot, double error_now,
                  const AdaptiveRule& rule, AdaptiveCounts& counts, MakeLeaf&& make_leaf) {
  AdaptiveNode<Leaf>& node = *slot;
  if (node.track(error_now)) {
    node.errors = node.seen = 0;
    node.alternate = make_leaf(node.depth);
    ++counts.alternates;
    return false;
  }
  auto verdict = node.judge_alternate(rule.drift_window_threshold, rule.switch_significance);
  if (verdict == AdaptiveNode<Leaf>::Verdict::kSwitch) {
    ++counts.switches;
    std::unique_ptr<AdaptiveNode<Leaf>> alternate = std::move(node.alternate);
    slot = std::move(alternate);  // `node` is gone from here on
    return true;
  }
  if (verdict == AdaptiveNode<Leaf>::Verdict::kDrop) node.alternate.reset();
  return false;
}

// Brings a tree measured at `used` bytes under limit: deactivates its active leaves,
// least promise(leaf) first; then, with restructure (between events only: the nodes on
// an event's path are in use during it), drops every alternate and folds inactive
// sibling leaves back into their branch (fold_inactive_leaves with merge). An inactive
// leaf's ADWIN restarts: its window only served the leaf's error mean.
template <typename Leaf, typename Promise, typename Merge>
void shed_memory(std::unique_ptr<AdaptiveNode<Leaf>>& root, size_t used, size_t limit,
                 bool restructure, double adwin_delta, size_t fixed_bytes, Promise promise,
                 Merge merge) {
  using Node = AdaptiveNode<Leaf>;
  std::vector<std::pair<double, Node*>> order;
  for_each_node(*root, [&](Node& n) {
    if (n.is_leaf() && n.leaf->active) order.emplace_back(promise(*n.leaf), &n);
  });
  used = shed_least_promising(order, used, limit, [&](Node* node) {
    size_t before = node->leaf->bytes() + node->detector.bytes();
    node->leaf->deactivate();
    node->detector = Adwin(adwin_delta);
    return before - (node->leaf->bytes() + node->detector.bytes());
  });
  if (used <= limit || !restructure) return;
  for_each_node(*root, [](Node& n) { n.alternate.reset(); });
  while (true) {
    used = fixed_bytes + tree_bytes(*root);
    if (used <= limit || root->is_leaf()) break;
    size_t before = used;
    fold_inactive_leaves(*root, used, limit, adwin_delta, merge);
    if (fixed_bytes + tree_bytes(*root) >= before) break;  // nothing left to fold
  }
}

}  // namespace rtml::detail
