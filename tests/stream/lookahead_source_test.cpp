#include "rtml/stream/lookahead_source.h"

#include <gtest/gtest.h>

#include "../test_util.h"
#include "rtml/core/error.h"

namespace rtml {
namespace {

std::string render(const Row& row) {
  std::string s = std::to_string(row.line) + ":";
  for (const auto& v : row.values) {
    s += v.kind == ValueKind::kText     ? std::string(v.text)
         : v.kind == ValueKind::kNumber ? std::to_string(static_cast<int>(v.number))
                                        : std::string("-");
    s += ",";
  }
  return s;
}

// Rows read ahead come back first, in order and whole (text included), then the rest;
// the source is read once.
TEST(LookaheadSource, HeldRowsComeBackFirstThenTheRest) {
  test::TempDir dir;
  auto path = dir.write("a.jsonl",
                        "{\"x\": 1, \"c\": \"red\"}\n"
                        "{\"x\": 2, \"c\": \"green\", \"d\": \"new\"}\n"
                        "bad\n"
                        "{\"x\": 3, \"c\": \"blue\"}\n"
                        "{\"x\": 4}\n");
  LookaheadSource src(open_source(path));
  const Row* r = src.read_ahead();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(render(*r), "1:1,red,");
  ASSERT_NE(src.read_ahead(), nullptr);
  EXPECT_EQ(src.held_rows(), 2u);
  EXPECT_GT(src.held_bytes(), 0u);
  EXPECT_EQ(src.columns().size(), 3u);  // "d" met while reading ahead
  EXPECT_EQ(src.stats().skipped, 0u);
  Row row;
  ASSERT_TRUE(src.next(row));
  EXPECT_EQ(render(row), "1:1,red,");  // narrower than columns(): held as it was read
  ASSERT_TRUE(src.next(row));
  EXPECT_EQ(render(row), "2:2,green,new,");
  EXPECT_THROW(src.read_ahead(), Error);
  ASSERT_TRUE(src.next(row));
  EXPECT_EQ(render(row), "4:3,blue,-,");
  EXPECT_EQ(src.held_rows(), 0u);
  EXPECT_EQ(src.held_bytes(), 0u);  // released once returned
  EXPECT_EQ(src.stats().skipped, 1u);
  ASSERT_TRUE(src.next(row));
  EXPECT_EQ(render(row), "5:4,-,-,");
  EXPECT_FALSE(src.next(row));
  EXPECT_FALSE(src.next(row));
}

TEST(LookaheadSource, ReadingAheadToTheEndKeepsEveryRow) {
  LookaheadSource src(open_source("synth:sea?n=50&seed=4"));
  std::vector<std::string> ahead;
  while (const Row* r = src.read_ahead()) ahead.push_back(render(*r));
  EXPECT_EQ(src.read_ahead(), nullptr);
  ASSERT_EQ(ahead.size(), 50u);
  Row row;
  for (const auto& expected : ahead) {
    ASSERT_TRUE(src.next(row));
    EXPECT_EQ(render(row), expected);
  }
  EXPECT_FALSE(src.next(row));
}

}  // namespace
}  // namespace rtml
