// The WAL's reader tells a torn tail (an incomplete last record) from damage (a bad
// record followed by valid ones, a missing range of LSNs), and never writes.
#include "rtml/store/wal.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "../test_util.h"
#include "rtml/core/error.h"

namespace rtml::store {
namespace {

namespace fs = std::filesystem;

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), {});
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

std::string only_segment(const std::string& dir) {
  std::string seg;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().rfind("wal-", 0) == 0) {
      EXPECT_TRUE(seg.empty()) << "more than one segment";
      seg = e.path().string();
    }
  }
  return seg;
}

// Writes n records "record-<i>" of growing length with a clean close.
std::string write_log(const std::string& dir, int n) {
  fs::create_directories(dir);
  {
    WalWriter w(dir, FsyncSetting::parse("never"), 0);
    for (int i = 1; i <= n; ++i) w.append("record-" + std::string(static_cast<size_t>(i), 'x'));
  }
  return only_segment(dir);
}

// Writes segments of records, one per run (count, payload), rotating between runs.
void write_segments(const std::string& dir,
                    std::initializer_list<std::pair<int, std::string>> runs) {
  fs::create_directories(dir);
  WalWriter w(dir, FsyncSetting::parse("never"), 0);
  bool first = true;
  for (const auto& [count, payload] : runs) {
    if (!first) w.rotate();
    first = false;
    for (int i = 0; i < count; ++i) w.append(payload);
  }
}

std::vector<uint64_t> lsns(const std::string& dir, WalScan* out = nullptr,
                           WalScanMode mode = WalScanMode::kStrict) {
  std::vector<uint64_t> got;
  WalScan scan = scan_wal(dir, 1, mode, [&](const WalRecord& r) { got.push_back(r.lsn); });
  if (out) *out = scan;
  return got;
}

// Scans dir strictly and expects a refusal whose message holds `says`.
void expect_refused(const std::string& dir, uint64_t first_needed, const std::string& says,
                    const std::string& what) {
  try {
    scan_wal(dir, first_needed, WalScanMode::kStrict, [](const WalRecord&) {});
    ADD_FAILURE() << what << " was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
  }
}

TEST(Wal, ClosedSegmentEndsAtItsLastRecordAndReadsBackInOrder) {
  test::TempDir tmp;
  std::string seg = write_log(tmp.file("w"), 50);
  // 20 bytes of header, then per record a 16-byte frame and its payload.
  size_t expected = 20;
  for (int i = 1; i <= 50; ++i) expected += 16 + 7 + static_cast<size_t>(i);
  EXPECT_EQ(fs::file_size(seg), expected);
  WalScan scan;
  auto got = lsns(tmp.file("w"), &scan);
  ASSERT_EQ(got.size(), 50u);
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], i + 1);
  EXPECT_EQ(scan.torn_bytes, 0u);
  EXPECT_EQ(scan.tail_offset, expected);
}

// Every cut inside the last record is a torn tail: the records before it are read, the
// reader names the offset, and the file is untouched until cut_wal_tail.
TEST(Wal, EveryCutOfTheLastRecordIsATornTail) {
  test::TempDir tmp;
  std::string dir = tmp.file("w");
  std::string seg = write_log(dir, 5);
  const std::string whole = read_file(seg);
  const size_t last_record = whole.size() - (16 + 7 + 5);
  for (size_t cut = last_record + 1; cut < whole.size(); ++cut) {
    write_file(seg, whole.substr(0, cut));
    WalScan scan;
    auto got = lsns(dir, &scan);
    ASSERT_EQ(got.size(), 4u) << "cut at " << cut;
    EXPECT_EQ(scan.tail_offset, last_record);
    EXPECT_EQ(scan.tail_bytes, cut - last_record);
    EXPECT_EQ(read_file(seg), whole.substr(0, cut)) << "reading wrote to the file";
  }
  WalScan scan;
  lsns(dir, &scan);
  cut_wal_tail(scan);
  EXPECT_EQ(fs::file_size(seg), last_record);
}

// One byte flipped in any record but the last makes the log unreadable in strict mode,
// with the file and the offset of the damaged record in the message; the salvaging scan
// passes over exactly that record.
TEST(Wal, AFlippedByteBeforeTheLastRecordIsDamageNotATornTail) {
  test::TempDir tmp;
  std::string dir = tmp.file("w");
  std::string seg = write_log(dir, 12);
  const std::string whole = read_file(seg);
  std::vector<size_t> starts;
  for (size_t pos = 20, i = 1; i <= 12; ++i) {
    starts.push_back(pos);
    pos += 16 + 7 + i;
  }
  for (size_t r = 0; r + 1 < starts.size(); ++r) {
    for (size_t offset : {starts[r], starts[r] + 5, starts[r] + 9, starts[r] + 17}) {
      std::string bytes = whole;
      bytes[offset] ^= 0x20;
      write_file(seg, bytes);
      try {
        lsns(dir);
        ADD_FAILURE() << "record " << r + 1 << " damaged at byte " << offset << " was accepted";
      } catch (const Error& e) {
        std::string m = e.what();
        EXPECT_NE(m.find(seg + ": byte " + std::to_string(starts[r])), std::string::npos) << m;
        EXPECT_NE(m.find("repair"), std::string::npos) << m;
      }
      EXPECT_EQ(read_file(seg), bytes) << "a refused log was changed";
      WalScan scan;
      auto got = lsns(dir, &scan, WalScanMode::kSalvage);
      ASSERT_EQ(got.size(), 11u);
      ASSERT_EQ(scan.damage.size(), 1u);
      EXPECT_EQ(scan.damage[0].first_lsn, r + 1);
      EXPECT_EQ(scan.damage[0].last_lsn, r + 1);
      EXPECT_EQ(std::count(got.begin(), got.end(), r + 1), 0);
    }
  }
}

TEST(Wal, MissingLsnsAreDamage) {
  test::TempDir tmp;
  std::string dir = tmp.file("w");
  write_segments(dir, {{10, "a"}, {10, "b"}, {10, "c"}});
  EXPECT_EQ(lsns(dir).size(), 30u);
  auto none = [](const WalRecord&) {};
  // A segment in the middle removed: LSNs 11-20 are gone.
  fs::rename(dir + "/wal-00000000000000000011.log", tmp.file("aside"));
  expect_refused(dir, 1, "LSNs 11-20 are missing", "a log missing LSNs 11-20");
  WalScan scan = scan_wal(dir, 1, WalScanMode::kSalvage, none);
  EXPECT_EQ(scan.records, 20u);
  ASSERT_EQ(scan.damage.size(), 1u);
  EXPECT_EQ(scan.damage[0].first_lsn, 11u);
  EXPECT_EQ(scan.damage[0].last_lsn, 20u);
  // The first segment removed: fine if a snapshot covers LSNs 1-10, refused if not.
  fs::rename(tmp.file("aside"), dir + "/wal-00000000000000000011.log");
  fs::remove(dir + "/wal-00000000000000000001.log");
  EXPECT_EQ(scan_wal(dir, 11, WalScanMode::kStrict, none).records, 20u);
  EXPECT_THROW(scan_wal(dir, 1, WalScanMode::kStrict, none), Error);
  EXPECT_THROW(scan_wal(dir, 5, WalScanMode::kStrict, none), Error);
}

// A writer that dies leaves the space it reserved ahead as zeros after its last record:
// that is the log's end, not a torn record, and nothing acknowledged is missing.
TEST(Wal, AKilledWritersReservedZerosAreAnEndNotDamage) {
  test::TempDir tmp;
  std::string dir = tmp.file("w");
  fs::create_directories(dir);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto* w = new WalWriter(dir, FsyncSetting::parse("never"), 0);
    for (int i = 0; i < 1000; ++i) w->append("record");
    _exit(0);  // no destructor: the segment keeps its reserved zeros
  }
  int status;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  std::string seg = only_segment(dir);
  size_t used = 20 + 1000 * (16 + 6);
  ASSERT_GT(fs::file_size(seg), used) << "no space was reserved ahead";
  WalScan scan;
  auto got = lsns(dir, &scan);
  EXPECT_EQ(got.size(), 1000u);
  EXPECT_EQ(scan.tail_offset, used);
  EXPECT_EQ(scan.torn_bytes, 0u);
  EXPECT_EQ(scan.tail_bytes, fs::file_size(seg) - used);
}

// A writer killed between opening its next segment and closing the previous one leaves
// the previous one with its reserved zeros, before or after its end marker: an end,
// since the next segment goes on from the following LSN. Were records missing there,
// the LSNs would say so.
TEST(Wal, ZerosEndingAnOlderSegmentAreAnEndWhenTheNextGoesOn) {
  test::TempDir tmp;
  std::string dir = tmp.file("w");
  write_segments(dir, {{10, "a"}, {10, "b"}});
  std::string first = dir + "/wal-00000000000000000001.log";
  const size_t size = fs::file_size(first);
  EXPECT_EQ(size, 20 + 10 * (16 + 1) + 16);  // records, then the end marker
  // Killed after the marker: zeros after it.
  fs::resize_file(first, size + 4096);
  EXPECT_EQ(lsns(dir).size(), 20u);
  // Killed before the marker: zeros after the last record.
  fs::resize_file(first, size - 16);
  fs::resize_file(first, size - 16 + 4096);
  EXPECT_EQ(lsns(dir).size(), 20u);
  // The same zeros where the last record was: LSN 10 missing.
  fs::resize_file(first, size - 16 - 17);
  fs::resize_file(first, size - 16 - 17 + 4096);
  expect_refused(dir, 1, "LSN 10 is missing", "a log missing LSN 10");
}

// The newest segment removed: the end marker of the one before says it existed.
// The segment after the newest snapshot removed: every snapshot has one after it.
TEST(Wal, ARemovedNewestSegmentIsMissed) {
  test::TempDir tmp;
  std::string dir = tmp.file("w");
  write_segments(dir, {{10, "a"}, {10, "b"}});
  auto none = [](const WalRecord&) {};
  EXPECT_EQ(scan_wal(dir, 1, WalScanMode::kStrict, none).records, 20u);
  fs::remove(dir + "/wal-00000000000000000011.log");
  expect_refused(dir, 1, "(from LSN 11), which is missing", "a log whose newest segment is gone");
  // As if a snapshot at LSN 10 held the first segment's records: the marker names the
  // segment after it, which is missing.
  expect_refused(dir, 11, "(from LSN 11), which is missing",
                 "a snapshot without the segment after it");
  // A marker past the segment's last record: a writer that went on after a snapshot
  // holding the LSNs between. Fine when a snapshot covers them, missing LSNs if not.
  std::string first = dir + "/wal-00000000000000000001.log";
  fs::resize_file(first, fs::file_size(first) - 16);
  mark_segment_end(first, fs::file_size(first), 15, false);
  {
    // A segment that starts at LSN 15, written by a writer told that 14 came before.
    fs::remove_all(tmp.file("w15"));
    fs::create_directories(tmp.file("w15"));
    WalWriter w(tmp.file("w15"), FsyncSetting::parse("never"), 14);
    for (int i = 0; i < 3; ++i) w.append("c");
  }
  fs::rename(tmp.file("w15") + "/wal-00000000000000000015.log",
             dir + "/wal-00000000000000000015.log");
  EXPECT_EQ(scan_wal(dir, 15, WalScanMode::kStrict, none).records, 3u);
  expect_refused(dir, 1, "LSNs 11-14 are missing", "LSNs 11-14, in no file and no snapshot,");
}

// Damage to records a snapshot already holds costs nothing (a repair killed before it
// moved the old segments away leaves such a log).
TEST(Wal, DamageToRecordsASnapshotHoldsCostsNothing) {
  test::TempDir tmp;
  std::string dir = tmp.file("w");
  write_segments(dir, {{12, "record"}, {2, "record"}});
  std::string first = dir + "/wal-00000000000000000001.log";
  std::string bytes = read_file(first);
  bytes[20 + 4 * (16 + 6) + 18] ^= 0x10;  // in record 5's payload
  write_file(first, bytes);
  auto none = [](const WalRecord&) {};
  EXPECT_THROW(scan_wal(dir, 5, WalScanMode::kStrict, none), Error);
  EXPECT_EQ(scan_wal(dir, 6, WalScanMode::kStrict, none).records, 7u + 2u);
}

// Damage to a segment's header refuses the log; salvaging still reads the records
// after it, which prove themselves by checksum and LSN.
TEST(Wal, ADamagedHeaderIsRefusedAndItsRecordsSalvaged) {
  test::TempDir tmp;
  std::string dir = tmp.file("w");
  std::string seg = write_log(dir, 30);
  std::string bytes = read_file(seg);
  bytes[3] ^= 1;
  write_file(seg, bytes);
  EXPECT_THROW(lsns(dir), Error);
  WalScan scan;
  EXPECT_EQ(lsns(dir, &scan, WalScanMode::kSalvage).size(), 30u);
  ASSERT_EQ(scan.damage.size(), 1u);
  EXPECT_NE(scan.damage[0].reason.find("header"), std::string::npos);
}

// Segments close when full (64 MiB) and the next goes on from the following LSN; a
// record larger than a segment gets one of its own size.
TEST(Wal, SegmentsRollWhenFullAndAHugeRecordFits) {
  test::TempDir tmp;
  std::string dir = tmp.file("w");
  fs::create_directories(dir);
  const std::string kib(1024, 'k');
  const std::string huge((80u << 20) + 3, 'h');
  {
    WalWriter w(dir, FsyncSetting::parse("never"), 0);
    for (int i = 0; i < 70000; ++i) w.append(kib);
    w.append(huge);
    w.append("after");
  }
  std::vector<size_t> sizes;
  std::vector<uint64_t> got;
  scan_wal(dir, 1, WalScanMode::kStrict, [&](const WalRecord& r) {
    got.push_back(r.lsn);
    sizes.push_back(r.payload.size());
  });
  ASSERT_EQ(got.size(), 70002u);
  for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], i + 1);
  EXPECT_EQ(sizes[70000], huge.size());
  EXPECT_EQ(sizes[70001], 5u);
  size_t segs = 0;
  for (const auto& e : fs::directory_iterator(dir)) segs += e.path().extension() == ".log";
  EXPECT_EQ(segs, 3u);  // 64 MiB of small records, then the rest, then the huge one's own
}

}  // namespace
}  // namespace rtml::store
