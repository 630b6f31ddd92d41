// WayTable: the branches of a multiway split on a categorical column. Shared by the
// Hoeffding trees.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "rtml/core/binary_io.h"

namespace rtml::detail {

// One branch per category, ids ascending, each with the child it leads to (a node index
// or a position among a node's children: the tree decides) and the weight that has gone
// down it. An event whose category has no branch, or that lacks the column, takes the
// heaviest branch, as River's "most common path". Not thread-safe.
struct WayTable {
  std::vector<uint32_t> ids;
  std::vector<uint32_t> children;
  std::vector<double> weights;

  // Position of category id, or -1.
  int64_t find(uint32_t id) const {
    auto it = std::lower_bound(ids.begin(), ids.end(), id);
    return it != ids.end() && *it == id ? it - ids.begin() : -1;
  }
  // Position of the branch with the most weight (the first on ties).
  size_t heaviest() const {
    return static_cast<size_t>(std::max_element(weights.begin(), weights.end()) - weights.begin());
  }
  // Position for x's category id: its branch, or the heaviest when it has none (id < 0
  // means the column is absent).
  size_t route(int64_t id) const {
    if (id >= 0) {
      if (int64_t at = find(static_cast<uint32_t>(id)); at >= 0) return static_cast<size_t>(at);
    }
    return heaviest();
  }
  // Adds a branch for category id (not yet present) to child with weight; returns its
  // position.
  size_t insert(uint32_t id, uint32_t child, double weight) {
    auto at = static_cast<size_t>(std::lower_bound(ids.begin(), ids.end(), id) - ids.begin());
    ids.insert(ids.begin() + static_cast<std::ptrdiff_t>(at), id);
    children.insert(children.begin() + static_cast<std::ptrdiff_t>(at), child);
    weights.insert(weights.begin() + static_cast<std::ptrdiff_t>(at), weight);
    return at;
  }
  size_t bytes() const {
    return sizeof(WayTable) + ids.capacity() * 4 + children.capacity() * 4 + weights.capacity() * 8;
  }

  void save(BinaryWriter& out) const {
    out.put_vector(ids);
    out.put_vector(children);
    out.put_vector(weights);
  }
  void load(BinaryReader& in) {
    ids = in.get_vector<uint32_t>();
    children = in.get_vector<uint32_t>();
    weights = in.get_vector<double>();
    if (ids.empty() || children.size() != ids.size() || weights.size() != ids.size() ||
        !std::is_sorted(ids.begin(), ids.end()) ||
        std::adjacent_find(ids.begin(), ids.end()) != ids.end()) {
      in.fail("multiway split branches");
    }
  }
};

}  // namespace rtml::detail
