// The dedup ring's open-addressing set against std::unordered_set, and the ring's
// first-in, first-out forgetting.
#include "../../src/store/event_dedup.h"

#include <gtest/gtest.h>

#include <unordered_set>

#include "rtml/core/random.h"

namespace rtml::store {
namespace {

TEST(EventDedup, HashSetAgreesWithAReferenceSetUnderInsertsAndErases) {
  detail::HashSet64 set;
  std::unordered_set<uint64_t> reference;
  Random rng(3);
  // Small values collide on purpose: long probe runs, wrap-around and backward shifts.
  for (int i = 0; i < 200000; ++i) {
    uint64_t h = 1 + rng.below(i < 100000 ? 5000 : uint64_t{1} << 62);
    if (rng.uniform() < 0.4) {
      set.erase(h);
      reference.erase(h);
    } else {
      EXPECT_EQ(set.insert(h), reference.insert(h).second);
    }
    uint64_t probe = 1 + rng.below(5000);
    ASSERT_EQ(set.contains(probe), reference.count(probe) > 0) << "step " << i;
  }
  for (uint64_t h : reference) ASSERT_TRUE(set.contains(h));
}

TEST(EventDedup, ForgetsTheOldestFirst) {
  detail::EventDedup dedup(4);
  for (uint64_t h = 1; h <= 6; ++h) dedup.add(h);
  EXPECT_FALSE(dedup.contains(1));
  EXPECT_FALSE(dedup.contains(2));
  for (uint64_t h = 3; h <= 6; ++h) EXPECT_TRUE(dedup.contains(h));
  dedup.add(5);  // already there: nothing is forgotten
  EXPECT_TRUE(dedup.contains(3));
}

}  // namespace
}  // namespace rtml::store
