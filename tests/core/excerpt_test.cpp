#include "rtml/core/excerpt.h"

#include <gtest/gtest.h>

namespace rtml {
namespace {

TEST(Excerpt, ShortTextIsQuotedWholeWithControlBytesEscaped) {
  EXPECT_EQ(excerpt("UP"), "UP");
  EXPECT_EQ(excerpt("a\nb\tc\rd\x01\x7f"), "a\\nb\\tc\\rd\\x01\\x7f");
  EXPECT_EQ(excerpt("caf\xc3\xa9"), "caf\xc3\xa9");  // UTF-8 passes as it is
}

TEST(Excerpt, LongTextIsCutAtACharacterBoundaryWithItsSize) {
  std::string huge(10 << 20, 'h');
  std::string e = excerpt(huge);
  EXPECT_EQ(e, std::string(kExcerptBytes, 'h') + "... (10485760 bytes)");
  // A two-byte character across the cut is left out whole, not split.
  std::string accents = "ab";
  for (int i = 0; i < 10; ++i) accents += "\xc3\xa9";
  EXPECT_EQ(excerpt(accents, 5), "ab\xc3\xa9... (22 bytes)");
  EXPECT_EQ(excerpt(accents, 4), "ab\xc3\xa9... (22 bytes)");
  EXPECT_EQ(excerpt("abc", 0), "... (3 bytes)");
}

}  // namespace
}  // namespace rtml
