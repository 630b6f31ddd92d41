#include "rtml/stream/csv_decoder.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>

#include "../test_util.h"
#include "rtml/core/error.h"

namespace rtml {
namespace {

struct Decoded {
  std::vector<Column> columns;
  std::vector<std::vector<std::string>> rows;  // "#" + number, "'text'" or "-" (missing)
  std::vector<BadLine> bad;
  DecodeStats stats;
};

Decoded decode(const std::string& path, DecodeOptions options = {}) {
  Decoded d;
  options.on_bad_line = [&](const BadLine& b) { d.bad.push_back(b); };
  auto src = open_source(path, options);
  Row row;
  while (src->next(row)) {
    std::vector<std::string> r;
    for (const auto& v : row.values) {
      if (v.kind == ValueKind::kMissing) {
        r.push_back("-");
      } else if (v.kind == ValueKind::kNumber) {
        char buf[64];
        std::snprintf(buf, sizeof(buf), "#%g", v.number);
        r.push_back(buf);
      } else {
        r.push_back("'" + std::string(v.text) + "'");
      }
    }
    d.rows.push_back(r);
  }
  d.columns = src->columns();
  d.stats = src->stats();
  return d;
}

void write_gzip(const std::string& path, const std::string& content) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, content.data(), static_cast<unsigned>(content.size()));
  gzclose(f);
}

TEST(CsvDecoder, InfersTypesAndReadsValues) {
  test::TempDir dir;
  auto d = decode(dir.write("a.csv", "x,name,y\n1.5,foo,1\n-2,bar,0\n"));
  ASSERT_EQ(d.columns.size(), 3u);
  EXPECT_EQ(d.columns[0].type, ColumnType::kNumeric);
  EXPECT_EQ(d.columns[1].type, ColumnType::kCategorical);
  EXPECT_EQ(d.columns[2].type, ColumnType::kNumeric);
  ASSERT_EQ(d.rows.size(), 2u);
  EXPECT_EQ(d.rows[0], (std::vector<std::string>{"#1.5", "'foo'", "#1"}));
  EXPECT_EQ(d.rows[1], (std::vector<std::string>{"#-2", "'bar'", "#0"}));
}

TEST(CsvDecoder, TypeOverridesWin) {
  test::TempDir dir;
  DecodeOptions o;
  o.types["y"] = ColumnType::kCategorical;
  auto d = decode(dir.write("a.csv", "x,y\n1,0\n2,1\n"), o);
  EXPECT_EQ(d.columns[1].type, ColumnType::kCategorical);
  EXPECT_EQ(d.rows[1][1], "'1'");
}

TEST(CsvDecoder, HandlesQuotesEscapesAndLineBreaksInsideQuotes) {
  test::TempDir dir;
  auto d =
      decode(dir.write("q.csv", "a,b\n\"x, y\",\"say \"\"hi\"\"\"\n\"two\nlines\",\"\"\nlast,1\n"));
  ASSERT_EQ(d.rows.size(), 3u) << (d.bad.empty() ? "" : d.bad[0].reason);
  EXPECT_EQ(d.rows[0], (std::vector<std::string>{"'x, y'", "'say \"hi\"'"}));
  EXPECT_EQ(d.rows[1], (std::vector<std::string>{"'two\nlines'", "-"}));
  EXPECT_EQ(d.rows[2][0], "'last'");
}

TEST(CsvDecoder, HandlesCrlfBomAndBlankLines) {
  test::TempDir dir;
  auto d = decode(dir.write("c.csv", "\xEF\xBB\xBFx,y\r\n1,2\r\n\r\n3,4\r\n"));
  EXPECT_EQ(d.columns[0].name, "x");
  ASSERT_EQ(d.rows.size(), 2u);
  EXPECT_EQ(d.rows[1], (std::vector<std::string>{"#3", "#4"}));
}

TEST(CsvDecoder, EmptyFieldsAreMissingAndNonFiniteNumbersAreCounted) {
  test::TempDir dir;
  auto d = decode(dir.write("e.csv", "x,y,z\n1,,3\nnan,inf,-Infinity\n 4 ,+5,6e0\n"));
  ASSERT_EQ(d.rows.size(), 3u);
  EXPECT_EQ(d.rows[0], (std::vector<std::string>{"#1", "-", "#3"}));
  EXPECT_EQ(d.rows[1], (std::vector<std::string>{"-", "-", "-"}));
  EXPECT_EQ(d.rows[2], (std::vector<std::string>{"#4", "#5", "#6"}));
  EXPECT_EQ(d.stats.non_finite, 3u);
  EXPECT_EQ(d.columns[0].type, ColumnType::kNumeric);
}

TEST(CsvDecoder, RaggedAndBadLinesAreReportedWithLineNumbersAndSkipped) {
  test::TempDir dir;
  DecodeOptions o;
  o.infer_rows = 1;  // so that 'oops' arrives after x was inferred numeric
  auto d = decode(dir.write("r.csv", "x,y\n1,2\n1,2,3\n4\noops,5\n6,7"), o);
  ASSERT_EQ(d.rows.size(), 2u);
  EXPECT_EQ(d.rows[1], (std::vector<std::string>{"#6", "#7"}));
  ASSERT_EQ(d.bad.size(), 3u);
  EXPECT_EQ(d.bad[0].line, 3u);
  EXPECT_EQ(d.bad[0].reason, "expected 2 fields, found 3");
  EXPECT_EQ(d.bad[1].line, 4u);
  EXPECT_EQ(d.bad[2].line, 5u);
  EXPECT_NE(d.bad[2].reason.find("column 'x': expected a number, got 'oops'"), std::string::npos);
  EXPECT_EQ(d.stats.skipped, 3u);
}

TEST(CsvDecoder, StrictModeMakesABadLineAnError) {
  test::TempDir dir;
  DecodeOptions o;
  o.strict = true;
  auto path = dir.write("s.csv", "x,y\n1,2\n3\n");
  auto src = open_source(path, o);
  Row row;
  EXPECT_TRUE(src->next(row));
  try {
    src->next(row);
    FAIL() << "no error in strict mode";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("s.csv:3: expected 2 fields, found 1"), std::string::npos)
        << e.what();
  }
}

TEST(CsvDecoder, MissingEmptyAndDuplicateHeaderInputsAreClearErrors) {
  test::TempDir dir;
  EXPECT_THROW(open_source(dir.file("nope.csv")), Error);
  EXPECT_THROW(open_source(dir.write("empty.csv", "")), Error);
  EXPECT_THROW(open_source(dir.write("dup.csv", "a,a\n1,2\n")), Error);
  std::filesystem::create_directory(dir.file("folder.csv"));
  try {
    open_source(dir.file("folder.csv"));
    FAIL() << "a folder was read as a file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("folder.csv"), std::string::npos) << e.what();
  }
}

TEST(CsvDecoder, ReadsGzipAndRefusesCorruptOrTruncatedGzip) {
  test::TempDir dir;
  std::string content = "x,y\n";
  for (int i = 0; i < 50000; ++i) content += std::to_string(i) + "," + std::to_string(i * 2) + "\n";
  write_gzip(dir.file("g.csv.gz"), content);
  auto d = decode(dir.file("g.csv.gz"));
  ASSERT_EQ(d.rows.size(), 50000u);
  EXPECT_EQ(d.rows[49999][1], "#99998");

  std::ifstream f(dir.file("g.csv.gz"), std::ios::binary);
  std::string gz((std::istreambuf_iterator<char>(f)), {});
  dir.write("trunc.csv.gz", gz.substr(0, gz.size() / 2));
  EXPECT_THROW(decode(dir.file("trunc.csv.gz")), Error);
  std::string bad = gz;
  for (size_t i = 20; i < 200; ++i) bad[i] = static_cast<char>(bad[i] ^ 0x5a);
  dir.write("bad.csv.gz", bad);
  try {
    decode(dir.file("bad.csv.gz"));
    FAIL() << "corrupt gzip accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gzip"), std::string::npos) << e.what();
  }
}

TEST(CsvDecoder, RecordsAcrossBufferBoundariesAndLongLines) {
  test::TempDir dir;
  std::string longtext(3 << 20, 'z');  // longer than the initial buffer
  std::string content = "a,b\n";
  for (int i = 0; i < 100000; ++i)
    content += "\"q" + std::to_string(i) + "\"," + std::to_string(i) + "\n";
  content += longtext + ",1\n";
  auto d = decode(dir.write("big.csv", content));
  ASSERT_EQ(d.rows.size(), 100001u);
  EXPECT_EQ(d.rows[99999][0], "'q99999'");
  EXPECT_EQ(d.rows[100000][0].size(), longtext.size() + 2);
}

TEST(CsvDecoder, ReadsElec2) {
  RTML_REQUIRE_DATA("elec2.csv.gz");
  auto d = decode(test::data_dir() + "/elec2.csv.gz");
  EXPECT_EQ(d.rows.size(), 45312u);
  EXPECT_EQ(d.columns.size(), 9u);
  EXPECT_EQ(d.columns[8].type, ColumnType::kCategorical);
  EXPECT_EQ(d.rows[0][8], "'UP'");
  EXPECT_EQ(d.stats.skipped, 0u);
}

TEST(ParseNumber, AcceptsNumbersOnly) {
  double v;
  EXPECT_TRUE(parse_number("1e3", v));
  EXPECT_EQ(v, 1000);
  EXPECT_TRUE(parse_number(" -0.5 ", v));
  EXPECT_EQ(v, -0.5);
  EXPECT_TRUE(parse_number("1e999", v));
  EXPECT_TRUE(std::isinf(v));
  EXPECT_FALSE(parse_number("1.5x", v));
  EXPECT_FALSE(parse_number("", v));
  EXPECT_FALSE(parse_number("UP", v));
}

}  // namespace
}  // namespace rtml
