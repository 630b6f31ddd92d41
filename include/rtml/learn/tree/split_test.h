// SplitTest: the question a split node of a Hoeffding tree asks of an event. Shared by
// the trees' nodes and their leaves' split searches.
#pragma once

#include <cstdint>

#include "rtml/core/features.h"

namespace rtml::detail {

// The category x holds in a categorical column, or -1.
inline int64_t category_of(const Features& x, uint32_t column) {
  for (const auto& c : x.categories()) {
    if (c.column == column) return c.id;
  }
  return -1;
}

// A numeric test sends x[feature] <= threshold, and an absent feature, left. A nominal
// test (one category against the rest) sends category `threshold` of categorical column
// `feature` left, and any other category, or none, right. A multiway test has a branch
// per category of column `feature` (see WayTable); goes_left does not apply to it.
struct SplitTest {
  int32_t feature = -1;  // -1: no test (a leaf)
  bool nominal = false;
  double threshold = 0;  // a category id for a nominal test (exact below 2^53)
  bool multiway = false;

  bool goes_left(const Features& x) const {
    if (nominal) return category_of(x, static_cast<uint32_t>(feature)) == threshold;
    for (const auto& f : x.numbers()) {
      if (f.index == static_cast<uint32_t>(feature)) return f.value <= threshold;
    }
    return true;
  }
};

// Keys of the features a leaf may watch: a numeric feature's index, or a categorical
// column with this bit set (numeric indices stay below it: hashers use at most 2^30).
constexpr uint32_t kCategoryKey = 0x80000000u;

}  // namespace rtml::detail
