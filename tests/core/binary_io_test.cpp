#include "rtml/core/binary_io.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../test_util.h"
#include "rtml/core/error.h"
#include "rtml/core/labels.h"
#include "rtml/core/schema.h"

namespace rtml {
namespace {

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

TEST(BinaryIo, RoundTripsValuesStringsAndVectors) {
  test::TempDir dir;
  BinaryWriter w;
  w.put<uint32_t>(7);
  w.put<double>(2.5);
  w.put_string("hello");
  w.put_vector(std::vector<double>{1, 2, 3});
  w.write_file(dir.file("f"), "TESTMAGC", 3);

  auto r = BinaryReader::open_file(dir.file("f"), "TESTMAGC", 3);
  EXPECT_EQ(r.version(), 3u);
  EXPECT_EQ(r.get<uint32_t>(), 7u);
  EXPECT_EQ(r.get<double>(), 2.5);
  EXPECT_EQ(r.get_string(), "hello");
  EXPECT_EQ(r.get_vector<double>(), (std::vector<double>{1, 2, 3}));
  EXPECT_TRUE(r.at_end());
  EXPECT_THROW(r.get<uint8_t>(), Error);
  EXPECT_FALSE(std::filesystem::exists(dir.file("f.tmp")));
}

TEST(BinaryIo, RefusesCorruptTruncatedForeignAndNewerFiles) {
  test::TempDir dir;
  BinaryWriter w;
  w.put_string("some payload that matters");
  w.write_file(dir.file("good"), "TESTMAGC", 1);
  std::string bytes = read_all(dir.file("good"));

  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x40;
  dir.write("flipped", flipped);
  try {
    BinaryReader::open_file(dir.file("flipped"), "TESTMAGC", 1);
    FAIL() << "corrupt file accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("checksum"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("flipped"), std::string::npos) << e.what();
  }
  dir.write("truncated", bytes.substr(0, bytes.size() - 5));
  EXPECT_THROW(BinaryReader::open_file(dir.file("truncated"), "TESTMAGC", 1), Error);
  dir.write("tiny", bytes.substr(0, 6));
  EXPECT_THROW(BinaryReader::open_file(dir.file("tiny"), "TESTMAGC", 1), Error);
  EXPECT_THROW(BinaryReader::open_file(dir.file("good"), "OTHERMAG", 1), Error);
  w.write_file(dir.file("newer"), "TESTMAGC", 9);
  EXPECT_THROW(BinaryReader::open_file(dir.file("newer"), "TESTMAGC", 1), Error);
  EXPECT_THROW(BinaryReader::open_file(dir.file("missing"), "TESTMAGC", 1), Error);
}

TEST(BinaryIo, ReaderRefusesLengthsPastTheEnd) {
  BinaryWriter w;
  w.put<uint64_t>(1000);  // a string length with no bytes behind it
  BinaryReader r(w.bytes());
  EXPECT_THROW(r.get_string(), Error);
}

TEST(Schema, InternsNamesAndCategoriesDenselyAndRoundTrips) {
  Schema s;
  EXPECT_EQ(s.intern("a"), 0u);
  EXPECT_EQ(s.intern("b"), 1u);
  EXPECT_EQ(s.intern("a"), 0u);
  EXPECT_EQ(s.find("b"), 1u);
  EXPECT_FALSE(s.find("c").has_value());
  EXPECT_EQ(s.intern_category(1, "x"), 0u);
  EXPECT_EQ(s.intern_category(1, "y"), 1u);
  EXPECT_EQ(s.intern_category(1, "x"), 0u);
  EXPECT_EQ(s.category_name(1, 1), "y");

  BinaryWriter w;
  s.save(w);
  BinaryReader r(w.bytes());
  Schema t;
  t.load(r);
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.name(1), "b");
  EXPECT_EQ(t.intern_category(1, "y"), 1u);
  EXPECT_EQ(feature_name(t, 7), "#7");
}

TEST(Labels, ANamedPositiveIsClassOneWhateverTheOrder) {
  Labels l;
  l.set_positive("UP");
  EXPECT_EQ(l.intern("UP", true), 1u);
  EXPECT_EQ(l.positive(), 1u);
  EXPECT_EQ(l.intern("DOWN", true), 0u);
  EXPECT_FALSE(l.intern("SIDEWAYS", true).has_value());
  EXPECT_EQ(l.positive(), 1u);

  Labels m;
  m.set_binary("0", "1");
  EXPECT_EQ(m.intern("1", true), 1u);
  EXPECT_EQ(m.intern("0", true), 0u);

  Labels multi;
  EXPECT_EQ(multi.intern("a", false), 0u);
  EXPECT_EQ(multi.intern("b", false), 1u);
  EXPECT_EQ(multi.intern("c", false), 2u);
}

TEST(Labels, ClassesComeInOrderAndThePositiveIsTheGreater) {
  Labels l;
  EXPECT_EQ(l.intern("UP", true), 0u);
  EXPECT_EQ(l.positive(), 1u);  // not known yet
  EXPECT_EQ(l.intern("DOWN", true), 1u);
  EXPECT_EQ(l.positive(), 0u);  // "UP" over "DOWN"
  EXPECT_FALSE(l.intern("SIDEWAYS", true).has_value());

  Labels n;  // numbers compare as numbers
  EXPECT_EQ(n.intern("9", true), 0u);
  EXPECT_EQ(n.intern("10", true), 1u);
  EXPECT_EQ(n.positive(), 1u);
  Labels pm;  // "+1" is a number
  EXPECT_EQ(pm.intern("-1", true), 0u);
  EXPECT_EQ(pm.intern("+1", true), 1u);
  EXPECT_EQ(pm.positive(), 1u);
  Labels t;  // else as text
  EXPECT_EQ(t.intern("9", true), 0u);
  EXPECT_EQ(t.intern("10x", true), 1u);
  EXPECT_EQ(t.positive(), 0u);

  // Kept through save and load, and a named positive with it.
  BinaryWriter w;
  l.save(w);
  BinaryReader r(w.bytes(), "labels");
  Labels back;
  back.load(r);
  EXPECT_EQ(back.positive(), 0u);
  EXPECT_EQ(back.name(0), "UP");
}

// --positive against a model that already knows its classes: agreeing is fine, anything
// else is an error, never a silent relabelling.
TEST(Labels, NamingThePositiveOfAKnownTargetMustAgree) {
  Labels fresh;
  fresh.name_positive("yes", "--positive");
  EXPECT_EQ(fresh.intern("no", true), 0u);
  EXPECT_EQ(fresh.intern("yes", true), 1u);
  fresh.name_positive("yes", "--positive");
  EXPECT_THROW(fresh.name_positive("no", "--positive"), Error);

  Labels seen;  // no name given: the greater of the two
  (void)seen.intern("UP", true);
  (void)seen.intern("DOWN", true);
  seen.name_positive("UP", "model.positive");
  try {
    seen.name_positive("DOWN", "model.positive");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("its positive class is 'UP'"), std::string::npos)
        << e.what();
  }
}

// A model file of version 2 numbered two classes with the positive one as class 1,
// whatever their values: it keeps meaning that.
TEST(Labels, AFileOfVersionTwoKeepsClassOneAsThePositive) {
  test::TempDir dir;
  Labels old;
  old.set_binary("yes", "no");  // "no" named positive, the lesser
  BinaryWriter w;
  w.put<uint64_t>(2);
  w.put_string("yes");
  w.put_string("no");
  w.put<uint8_t>(0);  // version 2 forgot the name once both classes were seen
  w.write_file(dir.file("v2.bin"), "LBL", 2);
  auto r = BinaryReader::open_file(dir.file("v2.bin"), "LBL", 3);
  Labels back;
  back.load(r);
  EXPECT_EQ(back.positive(), 1u);
  EXPECT_EQ(old.positive(), 1u);
}

}  // namespace
}  // namespace rtml
