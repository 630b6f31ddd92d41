// Input built to hurt the readers: what must stay a bad line, skipped and counted, and
// never bring the process down.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../test_util.h"
#include "rtml/stream/row_source.h"

namespace rtml {
namespace {

std::string nested_arrays(size_t depth) {
  return "{\"a\": " + std::string(depth, '[') + std::string(depth, ']') + ", \"y\": \"p\"}";
}

std::string nested_objects(size_t depth) {
  std::string s;
  for (size_t i = 0; i < depth; ++i) s += "{\"k\": ";
  s += "1";
  s += std::string(depth, '}');
  return "{\"a\": " + s + ", \"y\": \"p\"}";
}

// A record nested 50,000 deep used to overflow the stack (signal 11): the JSON document was
// built and copied recursively, one call per level. The depth is capped before parsing, so such a
// line is one more bad line.
TEST(HostileInput, JsonLinesNestedFiftyThousandDeepIsABadLine) {
  test::TempDir dir;
  std::vector<BadLine> bad;
  DecodeOptions o;
  o.on_bad_line = [&](const BadLine& b) { bad.push_back(b); };
  auto path = dir.write("deep.jsonl", "{\"a\": 1, \"y\": \"p\"}\n" + nested_arrays(50000) + "\n" +
                                          nested_objects(1000000) + "\n" +
                                          "{\"a\": \"[{\\\"]\", \"y\": \"q\"}\n"
                                          "{\"a\": 2, \"y\": \"q\"}\n");
  auto src = open_source(path, o);
  Row row;
  ASSERT_TRUE(src->next(row));
  EXPECT_EQ(row.values[0].number, 1);
  // Brackets inside a string do not count as nesting; the value is just not a number.
  ASSERT_TRUE(src->next(row));
  EXPECT_EQ(row.line, 5u);
  EXPECT_EQ(row.values[0].number, 2);
  EXPECT_EQ(row.values[1].text, "q");
  EXPECT_FALSE(src->next(row));
  ASSERT_EQ(bad.size(), 3u);
  EXPECT_EQ(bad[0].line, 2u);
  EXPECT_NE(bad[0].reason.find("nested deeper than"), std::string::npos) << bad[0].reason;
  EXPECT_EQ(bad[1].line, 3u);
  EXPECT_NE(bad[1].reason.find("nested deeper than"), std::string::npos) << bad[1].reason;
  EXPECT_EQ(bad[2].line, 4u);
  EXPECT_NE(bad[2].reason.find("expected a number"), std::string::npos) << bad[2].reason;
  EXPECT_EQ(src->stats().skipped, 3u);
}

// The same through the command line, in a child process: it finishes, counts the line.
TEST(HostileInput, EvalSkipsADeeplyNestedRecordAndCarriesOn) {
  test::TempDir dir;
  std::string lines;
  for (int i = 0; i < 20; ++i) {
    lines += "{\"a\": " + std::to_string(i) + ", \"y\": \"" + (i % 2 ? "p" : "q") + "\"}\n";
    if (i == 10) lines += nested_arrays(50000) + "\n";
  }
  auto path = dir.write("deep.jsonl", lines);
  auto r = test::run(std::string(RTML_BINARY) + " eval --json --data " + path +
                     " --target y --model gaussian_nb");
  ASSERT_EQ(r.exit_code, 0) << r.out.substr(0, 2000);
  EXPECT_NE(r.out.find("deep.jsonl:12: skipped: nested deeper than"), std::string::npos)
      << r.out.substr(0, 2000);
  EXPECT_NE(test::last_line(r.out).find("\"events\":20,\"skipped\":1"), std::string::npos)
      << test::last_line(r.out);
}

}  // namespace
}  // namespace rtml
