// AdaptiveNode: a node of a Hoeffding adaptive tree, classifier or regressor: a branch
// or a leaf, either with an ADWIN-watched error record and perhaps an alternate subtree.
// The trees differ only in their leaves (Leaf: ClassLeaf or RegressionLeaf) and in the
// error they feed it.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "rtml/core/binary_io.h"
#include "rtml/core/features.h"
#include "rtml/learn/drift/drift_detector.h"
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

// Calls f on every node, alternates and their subtrees included.
template <typename N, typename F>
void for_each_node(N& n, F&& f) {
  f(n);
  if (n.alternate != nullptr) for_each_node(*n.alternate, f);
  n.for_each_child([&](auto& c) { for_each_node(c, f); });
}

}  // namespace rtml::detail
