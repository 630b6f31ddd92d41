// AdaptiveCounts: what a Hoeffding adaptive tree counts as it adapts. Shared by the
// adaptive trees.
#pragma once

#include <cstdint>

namespace rtml::detail {

// Alternates started, subtree switches, and leaves made by splits (alternates aside).
struct AdaptiveCounts {
  uint64_t switches = 0, alternates = 0;
  uint64_t leaves = 1;
};

}  // namespace rtml::detail
