#include "rtml/core/huge_page_allocator.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "../test_util.h"
#include "rtml/core/binary_io.h"

namespace rtml {
namespace {

using HugeVector = std::vector<uint64_t, HugePageAllocator<uint64_t>>;

TEST(HugePageAllocator, LargeArraysSitOnHugePageBoundariesAndKeepTheirValues) {
  HugeVector v;
  for (uint64_t i = 0; i < (uint64_t{4} << 20); ++i) v.push_back(i * 3);  // grows to 32 MiB
  EXPECT_EQ(reinterpret_cast<uintptr_t>(v.data()) % HugePageAllocator<uint64_t>::kHugePage, 0u);
  for (uint64_t i = 0; i < v.size(); i += 4099) ASSERT_EQ(v[i], i * 3);
  HugeVector small(10, 7);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(small.data()) % alignof(uint64_t), 0u);
  EXPECT_EQ(small[9], 7u);
}

TEST(HugePageAllocator, LargeArraysAreAdvisedForHugePages) {
  std::string mode = test::thp_mode();
  if (mode != "madvise" && mode != "always") GTEST_SKIP() << "transparent huge pages: " << mode;
  HugeVector v(size_t{8} << 20, 1);  // 64 MiB, touched
  EXPECT_EQ(test::thp_eligible(v.data()), 1);
  // A 4 MiB std::vector is eligible only when the kernel's mode is "always".
  if (mode == "madvise") {
    std::vector<uint64_t> plain(size_t{8} << 20, 1);
    EXPECT_EQ(test::thp_eligible(plain.data()), 0);
  }
}

TEST(HugePageAllocator, VectorsRoundTripThroughBinaryIo) {
  HugeVector v(size_t{1} << 19);
  for (size_t i = 0; i < v.size(); ++i) v[i] = i ^ 0x5555;
  BinaryWriter out;
  out.put_vector(v);
  BinaryReader in(out.bytes());
  EXPECT_EQ((in.get_vector<uint64_t, HugePageAllocator<uint64_t>>()), v);
}

}  // namespace
}  // namespace rtml
