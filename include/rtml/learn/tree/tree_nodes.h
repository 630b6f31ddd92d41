// TreeNodes: the shape of a binary decision tree over numeric and categorical features,
// shared by the Hoeffding trees.
#pragma once

#include <cstdint>
#include <vector>

#include "rtml/core/binary_io.h"
#include "rtml/core/features.h"
#include "rtml/learn/tree/split_test.h"

namespace rtml::detail {

struct TreeNode {
  int32_t feature = -1;  // -1: a leaf
  double threshold = 0;
  uint32_t left = 0, right = 0;  // node indices of a split
  uint32_t leaf = 0;             // the leaf's slot, for a leaf
  uint32_t depth = 0;
  bool nominal = false;

  SplitTest test() const { return SplitTest{feature, nominal, threshold}; }
};

// Nodes in one vector, the root first. A split sends the events its SplitTest accepts
// to the left. Not thread-safe.
class TreeNodes {
 public:
  TreeNodes() { nodes_.push_back(TreeNode{}); }

  const TreeNode& operator[](uint32_t i) const { return nodes_[i]; }
  size_t size() const { return nodes_.size(); }

  // The index of the leaf node x falls into.
  uint32_t sort(const Features& x) const {
    uint32_t n = 0;
    while (nodes_[n].feature >= 0) {
      const TreeNode& node = nodes_[n];
      n = node.test().goes_left(x) ? node.left : node.right;
    }
    return n;
  }

  // Turns leaf node `node` into a split whose children are new leaf nodes using leaf
  // slots left_leaf and right_leaf.
  void split(uint32_t node, const SplitTest& test, uint32_t left_leaf, uint32_t right_leaf) {
    uint32_t depth = nodes_[node].depth + 1;
    nodes_.push_back(TreeNode{-1, 0, 0, 0, left_leaf, depth, false});
    nodes_.push_back(TreeNode{-1, 0, 0, 0, right_leaf, depth, false});
    TreeNode& n = nodes_[node];
    n.feature = test.feature;
    n.threshold = test.threshold;
    n.nominal = test.nominal;
    n.left = static_cast<uint32_t>(nodes_.size() - 2);
    n.right = static_cast<uint32_t>(nodes_.size() - 1);
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
    }
  }

  void load(BinaryReader& in) {
    auto n = in.get<uint64_t>();
    if (n == 0 || n > (1u << 28)) in.fail("tree node count");
    nodes_.assign(n, TreeNode{});
    for (auto& node : nodes_) {
      node.feature = in.get<int32_t>();
      node.threshold = in.get<double>();
      node.left = in.get<uint32_t>();
      node.right = in.get<uint32_t>();
      node.leaf = in.get<uint32_t>();
      node.depth = in.get<uint32_t>();
      node.nominal = in.version() >= 2 && in.get<uint8_t>() != 0;
    }
  }

  // Checks that every split points at nodes and every leaf at one of `leaves` slots.
  bool valid(size_t leaves) const {
    for (const auto& node : nodes_) {
      bool bad = node.feature >= 0 ? (node.left >= nodes_.size() || node.right >= nodes_.size())
                                   : node.leaf >= leaves;
      if (bad) return false;
    }
    return true;
  }

 private:
  std::vector<TreeNode> nodes_;
};

}  // namespace rtml::detail
