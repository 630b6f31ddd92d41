// The WAL's reader tells a torn tail (an incomplete last record) from damage (a bad
// record followed by valid ones, a missing range of LSNs), and never writes.
#include "rtml/store/wal.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "../../src/store/wal_ring.h"
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
    w->flush();  // the records leave the ring for the segment
    _exit(0);    // no destructor: the segment keeps its reserved zeros
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
// record larger than a segment gets one of its own (written past the ring, which holds
// 8 MiB), and the record after it starts the next.
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
  EXPECT_EQ(segs, 4u);  // 64 MiB of small records, the rest, the huge one's own, "after"
}

// Payload i of the ring tests: unique, no payload a prefix of another, and pad bytes
// longer.
std::string ring_payload(int i, size_t pad = 0) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "<record %06d>", i);
  return buf + std::string(pad, 'p');
}

// A writer killed right after n appends (no flush, no destructor); returns how many of
// them its segment holds and leaves the scan in *scan. Skips the test if there is no
// shared memory for a ring here.
size_t kill_writer_after(const std::string& dir, int n, WalScan* scan, size_t pad = 0) {
  fs::create_directories(dir);
  pid_t pid = fork();
  if (pid == 0) {
    auto* w = new WalWriter(dir, FsyncSetting::parse("never"), 0);
    for (int i = 1; i <= n; ++i) w->append(ring_payload(i, pad));
    ::kill(::getpid(), SIGKILL);
  }
  int status;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status));
  return lsns(dir, scan).size();
}

// A killed writer's segment lacks what its drain thread had not moved yet; the ring in
// shared memory has it, from the segment's last record on, and appended to the
// segment it makes the log whole.
void expect_ring_completes_the_log(int n, size_t pad) {
  test::TempDir tmp;
  if (detail::wal_ring_file(tmp.file("")).empty()) GTEST_SKIP() << "RTML_WAL_RING_DIR=off";
  bool ring_held_some = false;
  for (int attempt = 0; attempt < 5 && !ring_held_some; ++attempt) {
    std::string dir = tmp.file("w" + std::to_string(attempt));
    WalScan scan;
    size_t in_file = kill_writer_after(dir, n, &scan, pad);
    auto ring = read_wal_ring(dir, scan);
    ASSERT_EQ(in_file + ring.size(), static_cast<size_t>(n)) << "lost between segment and ring";
    for (size_t i = 0; i < ring.size(); ++i) {
      ASSERT_EQ(ring[i].lsn, in_file + 1 + i);
      ASSERT_EQ(ring[i].payload, ring_payload(static_cast<int>(ring[i].lsn), pad));
    }
    ring_held_some = !ring.empty();
    append_wal_tail(scan, ring, false);
    uint64_t next = 1;
    scan_wal(dir, 1, WalScanMode::kStrict, [&](const WalRecord& r) {
      ASSERT_EQ(r.lsn, next);
      ASSERT_EQ(r.payload, ring_payload(static_cast<int>(next), pad));
      ++next;
    });
    ASSERT_EQ(next, static_cast<uint64_t>(n) + 1);
    EXPECT_EQ(scan.last_lsn, static_cast<uint64_t>(n));
    // Read again, the ring adds nothing the segment now has.
    EXPECT_TRUE(read_wal_ring(dir, scan).empty());
  }
  EXPECT_TRUE(ring_held_some) << "the drain thread had moved everything each time";
}

// A killed writer's segment lacks what its drain thread had not moved yet; the ring in
// shared memory has it, from the segment's last record on, and appended to the
// segment it makes the log whole.
TEST(WalRing, AKilledWritersRingHoldsWhatItsSegmentLacks) { expect_ring_completes_the_log(300, 0); }

// The same once the records have gone around the ring's end (8 MiB): 12 MiB of them.
TEST(WalRing, AKilledWritersRingIsReadAcrossItsEnd) { expect_ring_completes_the_log(100000, 100); }

// A ring is only believed for the very segment it was draining into: not for another
// folder's (a ring left by a deleted folder whose inode number came back), not for a
// copy that replaced the segment, not when others may write to it.
TEST(WalRing, ARingIsBelievedOnlyForItsOwnSegment) {
  test::TempDir tmp;
  std::string a = tmp.file("a"), b = tmp.file("b");
  std::string ring_a = detail::wal_ring_file(tmp.file(""));
  if (ring_a.empty()) GTEST_SKIP() << "RTML_WAL_RING_DIR=off";
  WalScan scan;
  size_t in_file = 0;
  for (int attempt = 0; attempt < 5; ++attempt) {
    fs::remove_all(a);
    in_file = kill_writer_after(a, 300, &scan);
    if (in_file < 300) break;
  }
  if (in_file == 300) GTEST_SKIP() << "the drain thread had moved everything each time";
  ASSERT_FALSE(read_wal_ring(a, scan).empty());
  ring_a = detail::wal_ring_file(a);

  // Another folder, whose own writer closed cleanly, given a's ring under its name.
  write_log(b, 5);
  WalScan scan_b;
  ASSERT_EQ(lsns(b, &scan_b).size(), 5u);
  fs::copy_file(ring_a, detail::wal_ring_file(b), fs::copy_options::overwrite_existing);
  EXPECT_TRUE(read_wal_ring(b, scan_b).empty());

  // Writable by others: not believed.
  ::chmod(ring_a.c_str(), 0666);
  EXPECT_TRUE(read_wal_ring(a, scan).empty());
  ::chmod(ring_a.c_str(), 0600);
  EXPECT_FALSE(read_wal_ring(a, scan).empty());

  // The segment replaced by a copy of itself (another inode): not the one drained into.
  std::string seg = only_segment(a);
  fs::copy_file(seg, seg + ".copy");
  fs::rename(seg + ".copy", seg);
  EXPECT_TRUE(read_wal_ring(a, scan).empty());
}

// A damaged record in the ring ends what is taken from it: the records before it are
// whole and in order, nothing after it is guessed at.
TEST(WalRing, ADamagedRingRecordEndsWhatIsTaken) {
  test::TempDir tmp;
  std::string dir = tmp.file("w");
  if (detail::wal_ring_file(tmp.file("")).empty()) GTEST_SKIP() << "RTML_WAL_RING_DIR=off";
  WalScan scan;
  size_t in_file = 300;
  for (int attempt = 0; attempt < 5 && in_file > 290; ++attempt) {
    fs::remove_all(dir);
    in_file = kill_writer_after(dir, 300, &scan);
  }
  if (in_file > 290) GTEST_SKIP() << "the drain thread had moved nearly everything each time";
  const int bad = static_cast<int>(in_file) + 5;
  std::string ring_file = detail::wal_ring_file(dir);
  std::string bytes = read_file(ring_file);
  size_t at = bytes.find(ring_payload(bad));
  ASSERT_NE(at, std::string::npos);
  bytes[at + 3] ^= 0x20;
  write_file(ring_file, bytes);
  auto ring = read_wal_ring(dir, scan);
  ASSERT_EQ(ring.size(), 4u);
  EXPECT_EQ(ring.back().lsn, static_cast<uint64_t>(bad - 1));
}

// A writer that closes cleanly leaves everything in its segment and removes its ring.
TEST(WalRing, ACleanCloseRemovesTheRing) {
  test::TempDir tmp;
  std::string dir = tmp.file("w");
  fs::create_directories(dir);
  std::string ring = detail::wal_ring_file(dir);
  if (ring.empty()) GTEST_SKIP() << "RTML_WAL_RING_DIR=off";
  {
    WalWriter w(dir, FsyncSetting::parse("never"), 0);
    for (int i = 1; i <= 100; ++i) w.append(ring_payload(i));
    EXPECT_TRUE(fs::exists(ring));
  }
  EXPECT_FALSE(fs::exists(ring));
  EXPECT_EQ(lsns(dir).size(), 100u);
}

// Records wrap around the ring's end many times over and still read back in order.
TEST(WalRing, RecordsGoOnAcrossTheRingsEnd) {
  test::TempDir tmp;
  std::string dir = tmp.file("w");
  fs::create_directories(dir);
  const int n = 150000;  // 150k records of about 100 bytes: two laps of an 8 MiB ring
  {
    WalWriter w(dir, FsyncSetting::parse("never"), 0);
    for (int i = 1; i <= n; ++i) w.append(ring_payload(i) + std::string(80 + i % 17, 'p'));
  }
  int next = 1;
  scan_wal(dir, 1, WalScanMode::kStrict, [&](const WalRecord& r) {
    ASSERT_EQ(r.lsn, static_cast<uint64_t>(next));
    ASSERT_EQ(r.payload, ring_payload(next) + std::string(80 + next % 17, 'p'));
    ++next;
  });
  EXPECT_EQ(next, n + 1);
}

// Without shared memory for a ring (here: its folder does not exist), the writer says
// so once and writes each record to its segment before append() returns.
TEST(WalRing, WithoutSharedMemoryEachRecordIsInTheSegmentAtOnce) {
  test::TempDir tmp;
  std::string dir = tmp.file("w");
  fs::create_directories(dir);
  const char* old = std::getenv("RTML_WAL_RING_DIR");
  std::string saved = old ? old : "";
  ::setenv("RTML_WAL_RING_DIR", tmp.file("no-such-folder").c_str(), 1);
  {
    testing::internal::CaptureStderr();
    WalWriter w(dir, FsyncSetting::parse("never"), 0);
    std::string said = testing::internal::GetCapturedStderr();
    EXPECT_NE(said.find("no ring in shared memory"), std::string::npos) << said;
    for (int i = 1; i <= 10; ++i) w.append(ring_payload(i));
    EXPECT_EQ(lsns(dir).size(), 10u);  // before any flush or close
  }
  if (old) {
    ::setenv("RTML_WAL_RING_DIR", saved.c_str(), 1);
  } else {
    ::unsetenv("RTML_WAL_RING_DIR");
  }
  EXPECT_EQ(lsns(dir).size(), 10u);
}

}  // namespace
}  // namespace rtml::store
