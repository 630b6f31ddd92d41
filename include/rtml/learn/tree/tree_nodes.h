// TreeNodes: the shape of a binary decision tree over numeric features, shared by the
// Hoeffding trees.
#pragma once

#include <cstdint>
#include <vector>

#include "rtml/core/binary_io.h"
#include "rtml/core/features.h"

namespace rtml::detail {

struct TreeNode {
  int32_t feature = -1;  // -1: a leaf
  double threshold = 0;
  uint32_t left = 0, right = 0;  // node indices of a split
  uint32_t leaf = 0;             // the leaf's slot, for a leaf
  uint32_t depth = 0;
};

// Nodes in one vector, the root first. A split sends x[feature] <= threshold, and an
// absent feature, to the left. Not thread-safe.
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
      double v = 0;
      bool found = false;
      for (const auto& f : x.numbers()) {
        if (f.index == static_cast<uint32_t>(node.feature)) {
          v = f.value;
          found = true;
          break;
        }
      }
      n = (!found || v <= node.threshold) ? node.left : node.right;
    }
    return n;
  }

  // Turns leaf node `node` into a split whose children are new leaf nodes using leaf
  // slots left_leaf and right_leaf.
  void split(uint32_t node, int32_t feature, double threshold, uint32_t left_leaf,
             uint32_t right_leaf) {
    uint32_t depth = nodes_[node].depth + 1;
    nodes_.push_back(TreeNode{-1, 0, 0, 0, left_leaf, depth});
    nodes_.push_back(TreeNode{-1, 0, 0, 0, right_leaf, depth});
    TreeNode& n = nodes_[node];
    n.feature = feature;
    n.threshold = threshold;
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
