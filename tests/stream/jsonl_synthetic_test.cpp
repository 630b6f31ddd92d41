#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "../test_util.h"
#include "rtml/core/error.h"
#include "rtml/stream/row_source.h"

namespace rtml {
namespace {

TEST(JsonLinesDecoder, ReadsScalarsAddsColumnsAndSkipsBadLines) {
  test::TempDir dir;
  std::vector<BadLine> bad;
  DecodeOptions o;
  o.on_bad_line = [&](const BadLine& b) { bad.push_back(b); };
  auto path = dir.write("a.jsonl",
                        "{\"x\": 1.5, \"c\": \"red\"}\n"
                        "not json\n"
                        "\n"
                        "{\"x\": null, \"c\": \"blue\", \"flag\": true, \"n\": 3}\r\n"
                        "{\"x\": [1, 2]}\n"
                        "{\"x\": \"abc\"}\n"
                        "[1]\n"
                        "{\"x\": \"2.5\"}");
  auto src = open_source(path, o);
  Row row;
  ASSERT_TRUE(src->next(row));
  EXPECT_EQ(row.values[0].number, 1.5);
  EXPECT_EQ(row.values[1].text, "red");
  ASSERT_TRUE(src->next(row));
  EXPECT_EQ(row.line, 4u);
  EXPECT_EQ(row.values[0].kind, ValueKind::kMissing);
  EXPECT_EQ(row.values[1].text, "blue");
  EXPECT_EQ(row.values[2].text, "true");
  EXPECT_EQ(row.values[3].number, 3);
  ASSERT_TRUE(src->next(row));
  EXPECT_EQ(row.values[0].number, 2.5);
  EXPECT_FALSE(src->next(row));
  ASSERT_EQ(src->columns().size(), 4u);
  EXPECT_EQ(src->columns()[2].type, ColumnType::kCategorical);
  ASSERT_EQ(bad.size(), 4u);
  EXPECT_EQ(bad[0].line, 2u);
  EXPECT_EQ(bad[0].reason, "not valid JSON");
  EXPECT_NE(bad[1].reason.find("nested"), std::string::npos);
  EXPECT_NE(bad[2].reason.find("expected a number"), std::string::npos);
  EXPECT_EQ(bad[3].reason, "expected a JSON object");
  EXPECT_EQ(src->stats().skipped, 4u);
}

// Numbers the fast parser refuses are read as before it: an integer past 64 bits is a
// number; 1e400, past a double's range, is refused. As categories, integers read as
// written. A key given twice keeps its last value, null included. Escapes are undone;
// invalid UTF-8 and text after the object are refused.
TEST(JsonLinesDecoder, ReadsEveryNumberJsonAllowsAndTheLastOfARepeatedKey) {
  test::TempDir dir;
  std::vector<BadLine> bad;
  DecodeOptions o;
  o.types["cat"] = ColumnType::kCategorical;
  o.on_bad_line = [&](const BadLine& b) { bad.push_back(b); };
  auto path = dir.write("n.jsonl",
                        "{\"x\": 1, \"cat\": 18446744073709551615}\n"
                        "{\"x\": 1e400, \"cat\": -42}\n"
                        "{\"x\": 123456789012345678901234567890, \"cat\": 2.5}\n"
                        "{\"x\": 7, \"x\": null, \"cat\": \"a\\u00e9\\n\"}\n"
                        "{\"x\": 8, \"cat\": \"\xff\"}\n"
                        "{\"x\": 9} trailing\n");
  auto src = open_source(path, o);
  Row row;
  ASSERT_TRUE(src->next(row));
  EXPECT_EQ(row.values[0].number, 1);
  EXPECT_EQ(row.values[1].text, "18446744073709551615");
  ASSERT_TRUE(src->next(row));
  EXPECT_DOUBLE_EQ(row.values[0].number, 1.2345678901234568e29);
  EXPECT_EQ(row.values[1].text, "2.5");
  ASSERT_TRUE(src->next(row));
  EXPECT_EQ(row.values[0].kind, ValueKind::kMissing);
  EXPECT_EQ(row.values[1].text, "a\xc3\xa9\n");
  EXPECT_FALSE(src->next(row));
  ASSERT_EQ(bad.size(), 3u);
  EXPECT_EQ(bad[0].line, 2u);
  EXPECT_EQ(bad[1].line, 5u);
  EXPECT_EQ(bad[2].line, 6u);
  for (const auto& b : bad) EXPECT_EQ(b.reason, "not valid JSON");
}

std::vector<std::string> take(RowSource& s, int n) {
  std::vector<std::string> out;
  Row row;
  for (int i = 0; i < n && s.next(row); ++i) {
    std::string line;
    for (const auto& v : row.values) {
      line += v.kind == ValueKind::kText ? std::string(v.text) : std::to_string(v.number);
      line += ",";
    }
    out.push_back(line);
  }
  return out;
}

TEST(Synthetic, SeededStreamsReproduceAndSeedsDiffer) {
  for (std::string name : {"sea", "hyperplane", "agrawal"}) {
    auto a = open_source("synth:" + name + "?n=500&seed=7");
    auto b = open_source("synth:" + name + "?n=500&seed=7");
    auto c = open_source("synth:" + name + "?n=500&seed=8");
    auto ra = take(*a, 1000);
    EXPECT_EQ(ra.size(), 500u) << name;
    EXPECT_EQ(ra, take(*b, 1000)) << name;
    EXPECT_NE(ra, take(*c, 1000)) << name;
    EXPECT_EQ(a->columns().back().name, "class");
  }
}

TEST(Synthetic, SeaFollowsItsConceptsWithoutNoise) {
  auto s = open_source("synth:sea?n=4000&noise=0&drift_every=1000");
  const double theta[4] = {8, 9, 7, 9.5};
  Row row;
  for (int t = 0; s->next(row); ++t) {
    double sum = row.values[0].number + row.values[1].number;
    std::string expected = sum <= theta[t / 1000] ? "1" : "0";
    ASSERT_EQ(row.values[3].text, expected) << "event " << t;
  }
}

TEST(Synthetic, BlobsPlantTheirClustersAndSeasonalItsSeason) {
  // Blobs without spread around their centres: each blob's events are one point.
  auto b = open_source("synth:blobs?n=300&k=3&d=2&sd=0&seed=4");
  ASSERT_EQ(b->columns().size(), 3u);
  EXPECT_EQ(b->columns()[2].name, "blob");
  std::map<std::string, std::pair<double, double>> at;
  Row row;
  while (b->next(row)) {
    auto [it, fresh] = at.emplace(std::string(row.values[2].text),
                                  std::make_pair(row.values[0].number, row.values[1].number));
    EXPECT_EQ(it->second.first, row.values[0].number);
    EXPECT_EQ(it->second.second, row.values[1].number);
  }
  EXPECT_EQ(at.size(), 3u);
  // Noise 0: y_t = level + trend t + amplitude sin(2 pi t / period).
  auto s = open_source("synth:seasonal?n=50&period=10&level=5&trend=0.5&amplitude=2&noise=0");
  for (int t = 0; s->next(row); ++t) {
    EXPECT_EQ(row.values[0].number, t);
    EXPECT_NEAR(row.values[1].number, 5 + 0.5 * t + 2 * std::sin(2 * 3.14159265358979 * t / 10),
                1e-9);
  }
  EXPECT_THROW(open_source("synth:blobs?k=0"), Error);
  EXPECT_THROW(open_source("synth:seasonal?period=0"), Error);
}

TEST(Synthetic, UnknownGeneratorsAndParametersAreClearErrors) {
  EXPECT_THROW(open_source("synth:nope"), Error);
  try {
    open_source("synth:sea?n=10&colour=red");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown parameter 'colour'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("noise"), std::string::npos);
  }
  EXPECT_THROW(open_source("synth:sea?n=abc"), Error);
}

}  // namespace
}  // namespace rtml
