// The store's promises about its folder, through the CLI as a user meets them: one
// writer per folder, damage refused (not cut) until `rtml store repair`, a gap in the
// history refused, and reading never writes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "../test_util.h"
#include "rtml/core/error.h"
#include "rtml/store/embedded_store.h"

namespace rtml {
namespace {

namespace fs = std::filesystem;
using store::EmbeddedStore;
using store::EntityKey;
using store::FeatureValue;
using store::StoreOptions;

const std::string kRtml = RTML_BINARY;

// Every file under dir (recursively) with its size and a hash of its bytes: a folder's
// fingerprint. The lock file holds the id of the last process that opened the store for
// writing, which a refused writer may rewrite: it is left out when with_lock is false.
std::map<std::string, std::string> contents(const std::string& dir, bool with_lock = true) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::string name = fs::relative(e.path(), dir).string();
    if (!with_lock && name == "LOCK") continue;
    std::ifstream f(e.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), {});
    out[name] = std::to_string(bytes.size()) + " bytes, hash " +
                std::to_string(std::hash<std::string>()(bytes));
  }
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), {});
}

// Lines {"key":"u<i>","set":{"v":i}} for i in [from, to].
std::string updates(int from, int to) {
  std::string out;
  for (int i = from; i <= to; ++i) {
    out += R"({"key":"u)" + std::to_string(i) + R"(","set":{"v":)" + std::to_string(i) + "}}\n";
  }
  return out;
}

test::CommandResult apply(const test::TempDir& tmp, const std::string& dir, int from, int to,
                          const std::string& extra = "") {
  auto input = tmp.write("in.jsonl", updates(from, to));
  // Acks to /dev/null; messages (stderr) to the result.
  return test::run("( " + kRtml + " store apply --dir " + dir + " " + extra + " < " + input +
                   " > /dev/null )");
}

std::vector<std::string> segments(const std::string& dir) {
  std::vector<std::string> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string n = e.path().filename().string();
    if (n.rfind("wal-", 0) == 0) out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void flip_byte(const std::string& path, size_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(static_cast<char>(c ^ 0x55));
}

size_t count_lines(const std::string& s) {
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
}

TEST(StoreFolder, OneWriterAtATime) {
  test::TempDir tmp;
  const std::string dir = tmp.file("s");
  // A first writer that keeps its stdin open: it owns the folder.
  int in[2];
  ASSERT_EQ(pipe(in), 0);
  pid_t first = fork();
  ASSERT_GE(first, 0);
  if (first == 0) {
    dup2(in[0], 0);
    close(in[1]);
    int devnull = ::open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    dup2(devnull, 2);
    execl(kRtml.c_str(), kRtml.c_str(), "store", "apply", "--dir", dir.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(in[0]);
  std::string lines = updates(1, 100);
  ASSERT_EQ(write(in[1], lines.data(), lines.size()), static_cast<ssize_t>(lines.size()));
  // Wait until it holds the lock (its first segment exists).
  for (int i = 0; i < 500 && segments(dir).empty(); ++i) usleep(10000);
  ASSERT_FALSE(segments(dir).empty());

  auto second = apply(tmp, dir, 1000, 1100);
  EXPECT_NE(second.exit_code, 0) << "a second writer was let in";
  EXPECT_NE(second.out.find("in use by process " + std::to_string(first)), std::string::npos)
      << second.out;
  // A reader is refused too, rather than reading a log that is being written.
  auto dump = test::run(kRtml + " store dump --dir " + dir);
  EXPECT_NE(dump.exit_code, 0);
  EXPECT_NE(dump.out.find("in use by process " + std::to_string(first)), std::string::npos)
      << dump.out;
  // Removing DIR/LOCK (a stale-lock cleanup script) lets nobody in: the lock is on the
  // folder; the file only names the owner.
  fs::remove(dir + "/LOCK");
  auto third = apply(tmp, dir, 2000, 2100);
  EXPECT_NE(third.exit_code, 0) << "a writer got in after LOCK was removed";
  EXPECT_NE(third.out.find("in use by another process"), std::string::npos) << third.out;
  // In one process, a second open of an open folder fails the same way.
  StoreOptions o;
  o.dir = dir;
  EXPECT_THROW(EmbeddedStore::open(o), Error);

  close(in[1]);
  int status;
  waitpid(first, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // Every update of the first writer is there, none of the second's.
  auto after = test::run(kRtml + " store dump --dir " + dir + " 2>/dev/null");
  ASSERT_EQ(after.exit_code, 0);
  EXPECT_EQ(count_lines(after.out), 100u);
  EXPECT_EQ(after.out.find("u1000"), std::string::npos);
  EXPECT_EQ(after.out.find("u2000"), std::string::npos);
  // Once it is gone, the next writer gets in, even after a kill -9 of the owner (the
  // OS drops the lock with the process).
  EXPECT_EQ(apply(tmp, dir, 101, 200).exit_code, 0);
}

TEST(StoreFolder, AKilledOwnerLeavesNoStaleLock) {
  test::TempDir tmp;
  const std::string dir = tmp.file("s");
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int devnull = ::open("/dev/null", O_RDWR);
    dup2(devnull, 1);
    dup2(devnull, 2);
    // stdin is a pipe nobody writes to: the writer waits forever.
    int p[2];
    if (pipe(p) != 0) _exit(126);
    dup2(p[0], 0);
    execl(kRtml.c_str(), kRtml.c_str(), "store", "apply", "--dir", dir.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  for (int i = 0; i < 500 && (!fs::exists(dir) || segments(dir).empty()); ++i) usleep(10000);
  ::kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  auto r = apply(tmp, dir, 1, 10);
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

// A byte flipped half-way through the newest WAL: every open refuses (naming the file
// and the byte), nothing is cut, and only repair salvages, saying what it dropped.
TEST(StoreFolder, DamageInTheMiddleIsRefusedUntilRepair) {
  test::TempDir tmp;
  const std::string dir = tmp.file("s");
  ASSERT_EQ(apply(tmp, dir, 1, 2000).exit_code, 0);
  auto segs = segments(dir);
  ASSERT_EQ(segs.size(), 1u);
  size_t size = fs::file_size(segs[0]);
  flip_byte(segs[0], size / 2);
  const auto before = contents(dir, false);
  const std::string damaged = read_file(segs[0]);

  for (const std::string& cmd :
       {kRtml + " store dump --dir " + dir, kRtml + " store apply --dir " + dir + " < /dev/null"}) {
    auto r = test::run(cmd);
    EXPECT_NE(r.exit_code, 0) << cmd << " opened a damaged store";
    EXPECT_NE(r.out.find(segs[0] + ": byte "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("followed by valid records"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("store repair"), std::string::npos) << r.out;
    EXPECT_EQ(contents(dir, false), before) << cmd << " changed the folder";
  }

  auto repair = test::run(kRtml + " store repair --dir " + dir);
  ASSERT_EQ(repair.exit_code, 0) << repair.out;
  // One record dropped, by file, offset and LSN; the rest kept.
  EXPECT_EQ(std::count(repair.out.begin(), repair.out.end(), '\n'), 3) << repair.out;
  EXPECT_NE(repair.out.find("dropped: " + segs[0] + ": byte "), std::string::npos) << repair.out;
  EXPECT_NE(repair.out.find("kept: 1999 entities"), std::string::npos) << repair.out;
  auto dump = test::run(kRtml + " store dump --dir " + dir + " 2>/dev/null");
  ASSERT_EQ(dump.exit_code, 0);
  EXPECT_EQ(count_lines(dump.out), 1999u);
  // The LSN it names is the update that is missing, and every other one reads right.
  auto at = repair.out.find(", LSN ");
  ASSERT_NE(at, std::string::npos);
  int lost = std::stoi(repair.out.substr(at + 6));
  for (int i = 1; i <= 2000; ++i) {
    std::string line =
        R"({"key":"u)" + std::to_string(i) + R"(","features":{"v":)" + std::to_string(i) + "}}\n";
    EXPECT_EQ(dump.out.find(line) != std::string::npos, i != lost) << i;
  }
  // Nothing was deleted: the damaged segment is in lost/, byte for byte.
  EXPECT_TRUE(read_file(dir + "/lost/" + fs::path(segs[0]).filename().string()) == damaged);
  // The repaired store takes writes and a second repair finds it sound.
  EXPECT_EQ(apply(tmp, dir, 5000, 5010).exit_code, 0);
  auto again = test::run(kRtml + " store repair --dir " + dir);
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_NE(again.out.find("sound"), std::string::npos) << again.out;
}

// Every snapshot corrupt and the older WAL segments already removed: the log starts in
// the middle of the history, so the store refuses to open instead of serving a part.
TEST(StoreFolder, AGapInTheHistoryIsRefused) {
  test::TempDir tmp;
  const std::string dir = tmp.file("s");
  ASSERT_EQ(apply(tmp, dir, 1, 30000, "--snapshot-every 300000").exit_code, 0);
  std::vector<std::string> snaps;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().rfind("snapshot-", 0) == 0) snaps.push_back(e.path());
  }
  ASSERT_EQ(snaps.size(), 2u);
  ASSERT_NE(fs::path(segments(dir)[0]).filename(), "wal-00000000000000000001.log")
      << "the first segment was expected to be gone after two snapshots";
  // With one snapshot corrupt the other covers the gap.
  flip_byte(snaps[1], 100);
  auto one = test::run(kRtml + " store dump --dir " + dir + " 2>/dev/null");
  EXPECT_EQ(one.exit_code, 0);
  EXPECT_EQ(count_lines(one.out), 30000u);
  flip_byte(snaps[0], 100);
  const auto before = contents(dir);
  auto r = test::run(kRtml + " store dump --dir " + dir);
  EXPECT_NE(r.exit_code, 0) << "opened with " << count_lines(r.out) << " lines";
  EXPECT_NE(r.out.find("are missing"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("no valid snapshot"), std::string::npos) << r.out;
  EXPECT_EQ(contents(dir), before);
  // repair keeps what remains and says which LSNs are gone.
  auto repair = test::run(kRtml + " store repair --dir " + dir);
  ASSERT_EQ(repair.exit_code, 0) << repair.out;
  EXPECT_NE(repair.out.find("LSNs 1-"), std::string::npos) << repair.out;
  EXPECT_NE(repair.out.find("a corrupt snapshot"), std::string::npos) << repair.out;
  auto dump = test::run(kRtml + " store dump --dir " + dir + " 2>/dev/null");
  EXPECT_EQ(dump.exit_code, 0);
  EXPECT_GT(count_lines(dump.out), 0u);
  EXPECT_LT(count_lines(dump.out), 30000u);
}

TEST(StoreFolder, ReadingNeverWrites) {
  test::TempDir tmp;
  // A missing folder is an error, not a new empty store.
  auto missing = test::run(kRtml + " store dump --dir " + tmp.file("missing"));
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.out.find("no store here"), std::string::npos) << missing.out;
  EXPECT_FALSE(fs::exists(tmp.file("missing")));

  // A store whose writer was killed: a torn tail of reserved zeros, and a partial last
  // record added by hand.
  const std::string dir = tmp.file("s");
  ASSERT_EQ(apply(tmp, dir, 1, 500).exit_code, 0);
  {
    std::ofstream f(segments(dir).back(), std::ios::binary | std::ios::app);
    f << std::string("\x40\x00\x00\x00\x12\x34", 6);
  }
  const auto before = contents(dir);
  auto dump = test::run(kRtml + " store dump --report --dir " + dir);
  EXPECT_EQ(dump.exit_code, 0) << dump.out;
  EXPECT_NE(dump.out.find("passed over"), std::string::npos) << dump.out;
  EXPECT_EQ(contents(dir), before) << "dump changed the folder";

  // And it works on a folder it may not write to, as a user without write permission
  // (root ignores permissions, so root runs it as nobody).
  fs::permissions(tmp.file(""), fs::perms::owner_all | fs::perms::group_exec |
                                    fs::perms::others_exec | fs::perms::group_read |
                                    fs::perms::others_read);
  test::run("chmod -R a-w " + dir + " && chmod -R a+rX " + dir);
  std::string as = ::geteuid() == 0 ? "setpriv --reuid=65534 --regid=65534 --clear-groups " : "";
  auto ro = test::run(as + kRtml + " store dump --dir " + dir + " 2>/dev/null");
  EXPECT_EQ(ro.exit_code, 0) << ro.out;
  EXPECT_EQ(count_lines(ro.out), 500u);
  test::run("chmod -R u+w " + dir);
  EXPECT_EQ(contents(dir), before);
}

// A full disk (here a file size limit, which fails fallocate the same way): lines the
// log cannot take are refused with the reason, the writer keeps running, and everything
// acknowledged before and after is there.
TEST(StoreFolder, AFullDiskRefusesLinesAndLosesNothingAcknowledged) {
  test::TempDir tmp;
  const std::string dir = tmp.file("s");
  auto input = tmp.write("in.jsonl", updates(1, 60000));
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::signal(SIGXFSZ, SIG_IGN);  // EFBIG instead of a signal
    struct rlimit limit = {2u << 20, 2u << 20};
    setrlimit(RLIMIT_FSIZE, &limit);
    int in = ::open(input.c_str(), O_RDONLY);
    dup2(in, 0);
    // Output to a pipe, which the file size limit does not cover.
    dup2(pipe_fds[1], 1);
    dup2(pipe_fds[1], 2);
    close(pipe_fds[0]);
    execl(kRtml.c_str(), kRtml.c_str(), "store", "apply", "--dir", dir.c_str(), "--snapshot-every",
          "0", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(pipe_fds[1]);
  std::string out;
  char buf[65536];
  for (ssize_t n; (n = read(pipe_fds[0], buf, sizeof(buf))) > 0;) out.append(buf, n);
  close(pipe_fds[0]);
  int status;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << "the writer died of a signal";
  EXPECT_EQ(WEXITSTATUS(status), 0);
  size_t acks = 0, refused = 0;
  std::istringstream lines(out);
  for (std::string l; std::getline(lines, l);) {
    if (l.rfind("ack ", 0) == 0) ++acks;
    if (l.rfind("error ", 0) == 0) {
      ++refused;
      EXPECT_NE(l.find("cannot reserve space"), std::string::npos) << l;
    }
  }
  EXPECT_GT(acks, 10000u);
  EXPECT_GT(refused, 0u) << "the limit was never reached";
  EXPECT_EQ(acks + refused, 60000u);
  auto dump = test::run(kRtml + " store dump --dir " + dir + " 2>/dev/null");
  ASSERT_EQ(dump.exit_code, 0);
  EXPECT_EQ(count_lines(dump.out), acks);
}

// What an OS crash can leave under every=N or never: the newest segment's tail gone.
// The store opens with what is left (the snapshot may be ahead of the log), a writer goes
// on, and the store keeps opening. Before, the writer started its segment past LSNs that
// no file held, and every later open refused.
TEST(StoreFolder, ALostLogTailLeavesAStoreThatKeepsOpening) {
  test::TempDir tmp;
  for (size_t keep : {200u, 2000u, 20000u}) {
    const std::string dir = tmp.file("s" + std::to_string(keep));
    // Two writers, so two segments whenever the background snapshot runs (each open
    // starts a segment; a snapshot's rotation alone is a race with the writer's exit).
    ASSERT_EQ(apply(tmp, dir, 1, 3000, "--fsync never --snapshot-every 60000").exit_code, 0);
    ASSERT_EQ(apply(tmp, dir, 3001, 6000, "--fsync never --snapshot-every 60000").exit_code, 0);
    auto segs = segments(dir);
    ASSERT_GE(segs.size(), 2u);
    fs::resize_file(segs.back(), std::min<size_t>(keep, fs::file_size(segs.back())));
    auto before = test::run(kRtml + " store dump --dir " + dir + " 2>/dev/null");
    ASSERT_EQ(before.exit_code, 0) << before.out;
    auto w = apply(tmp, dir, 7000, 7000);
    ASSERT_EQ(w.exit_code, 0) << w.out;
    auto after = test::run(kRtml + " store dump --dir " + dir + " 2>/dev/null");
    ASSERT_EQ(after.exit_code, 0) << "kept " << keep << " bytes: " << after.out;
    EXPECT_EQ(count_lines(after.out), count_lines(before.out) + 1);
    EXPECT_EQ(apply(tmp, dir, 7001, 7001).exit_code, 0);
    EXPECT_EQ(test::run(kRtml + " store dump --dir " + dir + " > /dev/null").exit_code, 0);
  }
}

// A snapshot being written when the writer died stays as a .tmp file: never read, and
// removed by the folder's next writer (not by a reader).
TEST(StoreFolder, AnUnfinishedSnapshotIsRemovedByTheNextWriter) {
  test::TempDir tmp;
  const std::string dir = tmp.file("s");
  ASSERT_EQ(apply(tmp, dir, 1, 10).exit_code, 0);
  std::string stale = dir + "/snapshot-00000000000000000005.snap.tmp";
  std::ofstream(stale) << "half a snapshot";
  EXPECT_EQ(test::run(kRtml + " store dump --dir " + dir + " > /dev/null").exit_code, 0);
  EXPECT_TRUE(fs::exists(stale));
  EXPECT_EQ(apply(tmp, dir, 11, 12).exit_code, 0);
  EXPECT_FALSE(fs::exists(stale));
}

// Found by a second hostile review. A segment started by a restarted writer is named by
// the end marker the restart writes into the segment before it, so removing it is seen.
TEST(StoreFolder, RemovingASegmentARestartStartedIsRefused) {
  test::TempDir tmp;
  const std::string dir = tmp.file("s");
  ASSERT_EQ(apply(tmp, dir, 1, 5, "--fsync always").exit_code, 0);
  ASSERT_EQ(apply(tmp, dir, 6, 10, "--fsync always").exit_code, 0);
  auto segs = segments(dir);
  ASSERT_GE(segs.size(), 2u);
  fs::remove(segs.back());
  auto r = test::run(kRtml + " store dump --dir " + dir);
  EXPECT_NE(r.exit_code, 0) << "opened with " << count_lines(r.out) << " lines";
  EXPECT_NE(r.out.find("which is missing"), std::string::npos) << r.out;
}

// A segment copied under an earlier name: repair keeps every record, the copy's too.
TEST(StoreFolder, RepairKeepsRecordsThatACopiedSegmentShadows) {
  test::TempDir tmp;
  const std::string dir = tmp.file("s");
  ASSERT_EQ(apply(tmp, dir, 1, 5).exit_code, 0);
  ASSERT_EQ(apply(tmp, dir, 6, 10).exit_code, 0);
  auto segs = segments(dir);
  ASSERT_EQ(segs.size(), 2u);  // 1-5 and 6-10
  fs::copy_file(segs[1], dir + "/wal-00000000000000000003.log");
  EXPECT_NE(test::run(kRtml + " store dump --dir " + dir).exit_code, 0);
  auto repair = test::run(kRtml + " store repair --dir " + dir);
  ASSERT_EQ(repair.exit_code, 0) << repair.out;
  auto dump = test::run(kRtml + " store dump --dir " + dir + " 2>/dev/null");
  EXPECT_EQ(count_lines(dump.out), 10u) << repair.out << dump.out;
}

// The tail of a segment before the newest snapshot lost (an OS crash can leave it: the
// snapshot is synced at once, the closed segment later): the snapshot holds those
// records, so the store opens.
TEST(StoreFolder, ALostTailThatASnapshotHoldsIsNoLoss) {
  test::TempDir tmp;
  const std::string dir = tmp.file("s");
  // Enough lines that the background snapshotter (every 15,000 WAL bytes, about 300
  // lines) has finished a snapshot before the writer exits, even under a sanitizer.
  ASSERT_EQ(apply(tmp, dir, 1, 3000, "--snapshot-every 15000").exit_code, 0);
  auto segs = segments(dir);
  ASSERT_GE(segs.size(), 2u);
  fs::resize_file(segs[0], fs::file_size(segs[0]) - 40);
  auto dump = test::run(kRtml + " store dump --dir " + dir + " 2>/dev/null");
  EXPECT_EQ(dump.exit_code, 0);
  EXPECT_EQ(count_lines(dump.out), 3000u);
}

// A symbolic link planted as DIR/LOCK: the writer does not write through it.
TEST(StoreFolder, TheLockFileIsNotWrittenThroughALink) {
  test::TempDir tmp;
  const std::string dir = tmp.file("s");
  fs::create_directories(dir);
  auto victim = tmp.write("victim.txt", "precious");
  fs::create_symlink(victim, dir + "/LOCK");
  EXPECT_EQ(apply(tmp, dir, 1, 3).exit_code, 0);
  EXPECT_EQ(read_file(victim), "precious");
}

// The folder moved away under a running writer, and a new one made under its name: the
// old writer must not write segments or snapshots into the new folder.
TEST(StoreFolder, AWriterWhoseFolderMovedWritesNothingIntoItsOldName) {
  test::TempDir tmp;
  const std::string dir = tmp.file("D");
  StoreOptions o;
  o.dir = dir;
  o.snapshot_wal_bytes = 0;
  auto s = EmbeddedStore::open(o);
  ASSERT_EQ(s->apply({EntityKey("a"), {{"v", FeatureValue::of_number(1)}}, {}, 0}).why(), "");
  fs::rename(dir, tmp.file("D2"));
  ASSERT_EQ(apply(tmp, dir, 1, 5).exit_code, 0);  // a second store under the old name
  const auto before = contents(dir);
  EXPECT_THROW(s->snapshot(), Error);
  s.reset();
  EXPECT_EQ(contents(dir), before);
  auto moved = test::run(kRtml + " store dump --dir " + tmp.file("D2") + " 2>/dev/null");
  EXPECT_EQ(moved.exit_code, 0);
  EXPECT_EQ(count_lines(moved.out), 1u);
}

}  // namespace
}  // namespace rtml
