#include "../../src/store/page_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "../test_util.h"
#include "rtml/core/random.h"

namespace rtml::store::detail {
namespace {

// Pieces of random sizes (up to 3 MiB, beyond a region's first size) are 64-aligned,
// never overlap, and keep what was written into them until clear().
TEST(PagePool, PiecesAreAlignedDisjointAndKeepTheirBytes) {
  PagePool pool;
  Random rng(5);
  std::vector<std::pair<char*, size_t>> pieces;
  for (int i = 0; i < 400; ++i) {
    size_t n = i % 50 == 0 ? (size_t{3} << 20) : 1 + rng.below(64 << 10);
    auto* p = static_cast<char*>(pool.allocate(n));
    ASSERT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
    std::memset(p, i & 0xff, n);
    pieces.emplace_back(p, n);
  }
  auto sorted = pieces;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 1; i < sorted.size(); ++i)
    ASSERT_LE(sorted[i - 1].first + sorted[i - 1].second, sorted[i].first);
  for (size_t i = 0; i < pieces.size(); ++i) {
    auto [p, n] = pieces[i];
    ASSERT_EQ(static_cast<unsigned char>(p[0]), i & 0xff);
    ASSERT_EQ(static_cast<unsigned char>(p[n - 1]), i & 0xff);
  }
  pool.clear();
  auto* again = static_cast<char*>(pool.allocate(100));
  std::memset(again, 1, 100);
  EXPECT_EQ(again[99], 1);
}

TEST(PagePool, RegionsAreAdvisedForHugePages) {
  std::string mode = test::thp_mode();
  if (mode != "madvise" && mode != "always") GTEST_SKIP() << "transparent huge pages: " << mode;
  PagePool pool;
  auto* p = static_cast<char*>(pool.allocate(16 << 10));
  p[0] = 1;
  EXPECT_EQ(test::thp_eligible(p), 1);
}

}  // namespace
}  // namespace rtml::store::detail
