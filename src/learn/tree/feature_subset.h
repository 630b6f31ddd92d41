// The random feature subset a leaf of an adaptive random forest's tree watches.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "rtml/core/features.h"
#include "rtml/core/random.h"
#include "rtml/learn/tree/split_test.h"

namespace rtml::detail {

// Writes to out, sorted, max_features distinct feature keys of x (numeric indices and
// categorical columns | kCategoryKey) drawn from rng (all of them when x has fewer), by a
// partial Fisher-Yates shuffle over the sorted keys.
inline void sample_feature_subset(const Features& x, int max_features, Random& rng,
                                  std::vector<uint32_t>& out) {
  out.clear();
  for (const auto& f : x.numbers()) out.push_back(f.index);
  for (const auto& c : x.categories()) out.push_back(kCategoryKey | c.column);
  std::sort(out.begin(), out.end());
  size_t m = std::min(out.size(), static_cast<size_t>(max_features));
  for (size_t i = 0; i < m; ++i) std::swap(out[i], out[i + rng.below(out.size() - i)]);
  out.resize(m);
  std::sort(out.begin(), out.end());
}

}  // namespace rtml::detail
