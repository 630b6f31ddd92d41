// TreeNodes: the shape of a binary decision tree over numeric and categorical features,
// shared by the Hoeffding trees.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "rtml/core/binary_io.h"
#include "rtml/core/features.h"
#include "rtml/learn/tree/split_test.h"
#include "rtml/learn/tree/way_table.h"

namespace rtml::detail {

struct TreeNode {
  int32_t feature = -1;  // -1: a leaf
  double threshold = 0;
  // Node indices of a binary split's children; for a multiway split, left is the index
  // of its WayTable.
  uint32_t left = 0, right = 0;
  uint32_t leaf = 0;  // the leaf's slot, for a leaf
  uint32_t depth = 0;
  bool nominal = false;
  bool multiway = false;

  SplitTest test() const { return SplitTest{feature, nominal, threshold, multiway}; }
};

// Puts a split's new leaves into a tree's leaf slots: the first takes slot `reuse` (the
// leaf being split, gone from then on), the others go at the end. Returns their slots.
template <typename Leaf>
std::vector<uint32_t> place_leaves(std::vector<std::unique_ptr<Leaf>>& slots, uint32_t reuse,
                                   std::vector<std::unique_ptr<Leaf>> leaves) {
  std::vector<uint32_t> placed;
  for (size_t i = 0; i < leaves.size(); ++i) {
    if (i == 0) {
      slots[reuse] = std::move(leaves[0]);
      placed.push_back(reuse);
    } else {
      slots.push_back(std::move(leaves[i]));
      placed.push_back(static_cast<uint32_t>(slots.size() - 1));
    }
  }
  return placed;
}

// Nodes in one vector, the root first. A binary split sends the events its SplitTest
// accepts to the left; a multiway split sends each category down its own branch.
// Not thread-safe.
class TreeNodes {
 public:
  TreeNodes() { nodes_.push_back(TreeNode{}); }

  const TreeNode& operator[](uint32_t i) const { return nodes_[i]; }
  size_t size() const { return nodes_.size(); }
  size_t bytes() const {
    size_t b = nodes_.capacity() * sizeof(TreeNode) + ways_.capacity() * sizeof(WayTable);
    for (const auto& w : ways_) b += w.bytes() - sizeof(WayTable);
    return b;
  }

  // The index of the leaf node x falls into.
  uint32_t sort(const Features& x) const {
    uint32_t n = 0;
    while (nodes_[n].feature >= 0) {
      const TreeNode& node = nodes_[n];
      if (node.multiway) {
        const WayTable& w = ways_[node.left];
        n = w.children[w.route(category_of(x, static_cast<uint32_t>(node.feature)))];
      } else {
        n = node.test().goes_left(x) ? node.left : node.right;
      }
    }
    return n;
  }

  // sort() for an event the tree learns from: it adds weight to each multiway branch it
  // takes, and, when may_grow, a category that a multiway split has no branch for gets
  // one, ending in a new leaf node whose leaf slot new_leaf() returns (as River);
  // otherwise that event takes the heaviest branch.
  template <typename NewLeaf>
  uint32_t sort_to_learn(const Features& x, double weight, bool may_grow, NewLeaf&& new_leaf) {
    uint32_t n = 0;
    while (nodes_[n].feature >= 0) {
      const TreeNode& node = nodes_[n];
      if (!node.multiway) {
        n = node.test().goes_left(x) ? node.left : node.right;
        continue;
      }
      // Copies: adding a branch grows nodes_, which `node` points into.
      const uint32_t table = node.left, depth = node.depth;
      int64_t id = category_of(x, static_cast<uint32_t>(node.feature));
      size_t at;
      if (may_grow && id >= 0 && ways_[table].find(static_cast<uint32_t>(id)) < 0) {
        nodes_.push_back(TreeNode{-1, 0, 0, 0, new_leaf(), depth + 1, false, false});
        at = ways_[table].insert(static_cast<uint32_t>(id),
                                 static_cast<uint32_t>(nodes_.size() - 1), 0.0);
      } else {
        at = ways_[table].route(id);
      }
      WayTable& w = ways_[table];
      w.weights[at] += weight;
      n = w.children[at];
    }
    return n;
  }

  // Turns leaf node `node` into a binary split whose children are new leaf nodes using
  // leaf slots left_leaf and right_leaf.
  void split(uint32_t node, const SplitTest& test, uint32_t left_leaf, uint32_t right_leaf) {
    uint32_t depth = nodes_[node].depth + 1;
    nodes_.push_back(TreeNode{-1, 0, 0, 0, left_leaf, depth, false, false});
    nodes_.push_back(TreeNode{-1, 0, 0, 0, right_leaf, depth, false, false});
    TreeNode& n = nodes_[node];
    n.feature = test.feature;
    n.threshold = test.threshold;
    n.nominal = test.nominal;
    n.multiway = false;
    n.left = static_cast<uint32_t>(nodes_.size() - 2);
    n.right = static_cast<uint32_t>(nodes_.size() - 1);
  }

  // Turns leaf node `node` into a multiway split on categorical `column`: category ids[i]
  // leads to a new leaf node using leaf slot leaves[i], whose branch starts with
  // weights[i].
  void split_multiway(uint32_t node, uint32_t column, const std::vector<uint32_t>& ids,
                      const std::vector<uint32_t>& leaves, const std::vector<double>& weights) {
    uint32_t depth = nodes_[node].depth + 1;
    WayTable w;
    for (size_t i = 0; i < ids.size(); ++i) {
      nodes_.push_back(TreeNode{-1, 0, 0, 0, leaves[i], depth, false, false});
      w.insert(ids[i], static_cast<uint32_t>(nodes_.size() - 1), weights[i]);
    }
    ways_.push_back(std::move(w));
    TreeNode& n = nodes_[node];
    n.feature = static_cast<int32_t>(column);
    n.threshold = 0;
    n.nominal = true;
    n.multiway = true;
    n.left = static_cast<uint32_t>(ways_.size() - 1);
    n.right = 0;
  }

  void save(BinaryWriter& out) const {
    out.put<uint64_t>(nodes_.size());
    for (const auto& n : nodes_) {
      // Field by field: the struct has padding, whose bytes are not defined.
      out.put(n.feature);
      out.put(n.threshold);
      out.put(n.left);
      out.put(n.right);
      out.put(n.leaf);
      out.put(n.depth);
      out.put<uint8_t>(n.nominal);
      out.put<uint8_t>(n.multiway);
    }
    out.put<uint64_t>(ways_.size());
    for (const auto& w : ways_) w.save(out);
  }

  void load(BinaryReader& in) {
    auto n = in.get<uint64_t>();
    if (n == 0 || n > (1u << 28)) in.fail("tree node count");
    in.check_count(n, 28, "tree node count");
    nodes_.assign(n, TreeNode{});
    for (auto& node : nodes_) {
      node.feature = in.get<int32_t>();
      node.threshold = in.get<double>();
      node.left = in.get<uint32_t>();
      node.right = in.get<uint32_t>();
      node.leaf = in.get<uint32_t>();
      node.depth = in.get<uint32_t>();
      if (in.version() >= 2) {
        node.nominal = in.get<uint8_t>() != 0;
        node.multiway = in.get<uint8_t>() != 0;
      }
    }
    ways_.clear();
    if (in.version() < 2) return;
    auto ways = in.get<uint64_t>();
    if (ways > n) in.fail("tree multiway split count");
    in.check_count(ways, 8, "tree multiway split count");
    ways_.resize(ways);
    for (auto& w : ways_) w.load(in);
  }

  // Checks that every split points at nodes and every leaf at one of `leaves` slots.
  bool valid(size_t leaves) const {
    for (const auto& node : nodes_) {
      bool bad;
      if (node.feature < 0) {
        bad = node.leaf >= leaves;
      } else if (node.multiway) {
        bad = node.left >= ways_.size();
      } else {
        bad = node.left >= nodes_.size() || node.right >= nodes_.size();
      }
      if (bad) return false;
    }
    for (const auto& w : ways_) {
      for (uint32_t c : w.children) {
        if (c >= nodes_.size()) return false;
      }
    }
    return true;
  }

 private:
  std::vector<TreeNode> nodes_;
  std::vector<WayTable> ways_;  // the branches of the multiway splits
};

}  // namespace rtml::detail
