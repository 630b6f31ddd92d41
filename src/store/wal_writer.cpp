#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "rtml/core/error.h"
#include "rtml/core/file_io.h"
#include "rtml/store/wal.h"
#include "wal_format.h"

namespace rtml::store {
namespace {

using namespace detail;

// A segment maps this much (or, for a record larger than that, the record's size):
// address space only; the file grows in steps as records arrive.
constexpr size_t kSegmentBytes = 64u << 20;
// The file is reserved ahead of the writer in steps from 4 MiB up to 16 MiB (doubling),
// ending on 2 MiB boundaries, so a busy store seldom calls fallocate under the lock.
constexpr size_t kMinStep = 4u << 20;
constexpr size_t kMaxStep = 16u << 20;
constexpr size_t kStepAlign = 2u << 20;

size_t round_to_page(size_t n) {
  size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  return (n + page - 1) / page * page;
}

std::string errno_text() { return std::strerror(errno); }

}  // namespace

FsyncSetting FsyncSetting::parse(const std::string& text) {
  FsyncSetting s;
  if (text == "always") {
    s.policy = FsyncPolicy::kAlways;
  } else if (text == "never") {
    s.policy = FsyncPolicy::kNever;
  } else if (text.rfind("every=", 0) == 0) {
    std::string v = text.substr(6);
    double scale = 1;
    if (v.size() > 2 && v.substr(v.size() - 2) == "ms") {
      v.resize(v.size() - 2);
    } else if (v.size() > 1 && v.back() == 's') {
      v.pop_back();
      scale = 1000;
    } else {
      throw Error("--fsync every=N needs a unit: every=10ms or every=1s");
    }
    double n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || p != v.data() + v.size() || n * scale < 1 || n * scale > 60000) {
      throw Error("--fsync every=N: N must be between 1ms and 60s, got '" + text.substr(6) + "'");
    }
    s.policy = FsyncPolicy::kEvery;
    s.interval_ms = static_cast<uint32_t>(n * scale);
  } else {
    throw Error("--fsync must be always, never or every=10ms, got '" + text + "'");
  }
  return s;
}

std::string FsyncSetting::to_string() const {
  switch (policy) {
    case FsyncPolicy::kAlways:
      return "always";
    case FsyncPolicy::kNever:
      return "never";
    case FsyncPolicy::kEvery:
      return "every=" + std::to_string(interval_ms) + "ms";
  }
  return "?";
}

WalWriter::WalWriter(std::string dir, FsyncSetting fsync, uint64_t last_lsn)
    : dir_(std::move(dir)), fsync_(fsync), last_lsn_(last_lsn), durable_lsn_(last_lsn) {
  struct stat st;
  if (::stat(dir_.c_str(), &st) != 0) throw Error(dir_ + ": cannot open: " + errno_text());
  dir_dev_ = st.st_dev;
  dir_ino_ = st.st_ino;
  std::lock_guard lock(mu_);
  current_ = open_segment(last_lsn + 1);
  if (fsync_.policy == FsyncPolicy::kEvery) thread_ = std::thread([this] { background(); });
}

WalWriter::~WalWriter() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::unique_lock lock(mu_);
  while (syncing_) cv_.wait(lock);
  try {
    close_segment(current_);
    if (fsync_.policy != FsyncPolicy::kNever) sync(lock);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rtml: store: closing the WAL: %s\n", e.what());
  }
  for (int fd : closed_fds_) ::close(fd);
}

WalWriter::Segment WalWriter::open_segment(uint64_t first_lsn) {
  struct stat st;
  if (::stat(dir_.c_str(), &st) != 0 || st.st_dev != dir_dev_ || st.st_ino != dir_ino_) {
    throw Error(dir_ + ": the store folder was moved or replaced while open; not writing there");
  }
  Segment seg;
  seg.path = dir_ + "/" + wal_segment_name(first_lsn);
  seg.capacity = kSegmentBytes;
  seg.fd = ::open(seg.path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (seg.fd < 0) throw Error(seg.path + ": cannot create: " + errno_text());
  try {
    char header[kWalHeader];
    std::memcpy(header, kWalMagic, 8);
    std::memcpy(header + 8, &kWalVersion, 4);
    std::memcpy(header + 12, &first_lsn, 8);
    write_all(seg.fd, header, kWalHeader, seg.path);
    seg.allocated = kWalHeader;
    seg.used = kWalHeader;
    if (fsync_.policy != FsyncPolicy::kNever) {
      // The segment's name must outlive an OS crash before its first record is
      // acknowledged as durable.
      if (::fsync(seg.fd) != 0) throw Error(seg.path + ": fsync failed: " + errno_text());
      fsync_dir(dir_);
    }
    void* map = ::mmap(nullptr, seg.capacity, PROT_READ | PROT_WRITE, MAP_SHARED, seg.fd, 0);
    if (map == MAP_FAILED) throw Error(seg.path + ": cannot map: " + errno_text());
    seg.map = static_cast<char*>(map);
  } catch (...) {
    ::close(seg.fd);
    ::unlink(seg.path.c_str());
    throw;
  }
  return seg;
}

void WalWriter::close_segment(Segment& seg) {
  if (seg.fd < 0) return;
  if (seg.map) ::munmap(seg.map, seg.capacity);
  seg.map = nullptr;
  // Drop the reserved zeros, so that a closed segment ends at its last record.
  if (seg.allocated != seg.used && ::ftruncate(seg.fd, static_cast<off_t>(seg.used)) != 0) {
    std::fprintf(stderr, "rtml: store: %s: cannot cut the reserved space: %s\n", seg.path.c_str(),
                 errno_text().c_str());
  }
  if (fsync_.policy == FsyncPolicy::kNever) {
    ::close(seg.fd);
  } else {
    closed_fds_.push_back(seg.fd);
  }
  seg.fd = -1;
}

void WalWriter::end_segment_and_move_on() {
  // The next segment exists before the old one says so: a marker never points at a
  // segment that was not created.
  Segment next = open_segment(last_lsn_ + 1);
  put_wal_end_marker(current_.map + current_.used, last_lsn_ + 1);
  current_.used += kWalFrame;
  close_segment(current_);
  current_ = next;
}

void WalWriter::reserve(size_t n) {
  // Room for the record and for the end marker that closing the segment writes: after
  // every append, the reserved space holds the marker too.
  n += kWalFrame;
  if (current_.used + n > current_.capacity) {
    if (current_.used > kWalHeader) end_segment_and_move_on();
    if (current_.used + n > current_.capacity) {
      // A record larger than a segment: a bigger mapping of the (empty) segment, which
      // keeps its name (the name says the LSN of its first record).
      size_t capacity = round_to_page(kWalHeader + n);
      void* map = ::mremap(current_.map, current_.capacity, capacity, MREMAP_MAYMOVE);
      if (map == MAP_FAILED) throw Error(current_.path + ": cannot map: " + errno_text());
      current_.map = static_cast<char*>(map);
      current_.capacity = capacity;
    }
  }
  if (current_.used + n > current_.allocated) {
    size_t step = std::clamp(current_.allocated, kMinStep, kMaxStep);
    size_t want = std::max(current_.used + n, current_.allocated + step);
    size_t target = std::min(current_.capacity, (want + kStepAlign - 1) / kStepAlign * kStepAlign);
    int rc = ::posix_fallocate(current_.fd, static_cast<off_t>(current_.allocated),
                               static_cast<off_t>(target - current_.allocated));
    if (rc != 0) {
      // Nearly full: reserve only what this record needs, so that the disk's last
      // megabytes still take records.
      target = round_to_page(current_.used + n);
      rc = ::posix_fallocate(current_.fd, static_cast<off_t>(current_.allocated),
                             static_cast<off_t>(target - current_.allocated));
    }
    if (rc != 0) {
      throw Error(current_.path + ": cannot reserve space for the log: " + std::strerror(rc));
    }
    current_.allocated = target;
  }
}

uint64_t WalWriter::append(std::string_view payload) {
  std::lock_guard lock(mu_);
  if (payload.size() >= kWalEndMarker) throw Error("a WAL record is limited to 4 GiB");
  reserve(kWalFrame + payload.size());
  uint64_t lsn = last_lsn_ + 1;
  char* at = current_.map + current_.used;
  put_wal_frame(at, static_cast<uint32_t>(payload.size()), wal_checksum(lsn, payload), lsn);
  std::memcpy(at + kWalFrame, payload.data(), payload.size());
  current_.used += kWalFrame + payload.size();
  last_lsn_ = lsn;
  return lsn;
}

void WalWriter::sync(std::unique_lock<std::mutex>& lock) {
  syncing_ = true;
  uint64_t upto = last_lsn_;
  std::vector<int> closed;
  closed.swap(closed_fds_);
  // A segment closed while this runs goes to closed_fds_ and is not closed before the
  // next sync, so the descriptor stays valid.
  int fd = current_.fd;
  std::string failed;
  lock.unlock();
  for (int c : closed) {
    if (::fdatasync(c) != 0 && failed.empty()) failed = errno_text();
  }
  if (fd >= 0 && ::fdatasync(fd) != 0 && failed.empty()) failed = errno_text();
  lock.lock();
  if (failed.empty()) {
    for (int c : closed) ::close(c);
    durable_lsn_ = std::max(durable_lsn_, upto);
  } else {
    closed_fds_.insert(closed_fds_.end(), closed.begin(), closed.end());
  }
  syncing_ = false;
  cv_.notify_all();
  if (!failed.empty()) throw Error(dir_ + ": fdatasync of the WAL failed: " + failed);
}

void WalWriter::wait_durable(uint64_t lsn) {
  std::unique_lock lock(mu_);
  while (durable_lsn_ < lsn) {
    if (syncing_) {
      cv_.wait(lock);
    } else {
      sync(lock);
    }
  }
}

void WalWriter::flush() {
  std::unique_lock lock(mu_);
  while (syncing_) cv_.wait(lock);
  if (durable_lsn_ < last_lsn_ || !closed_fds_.empty()) sync(lock);
}

uint64_t WalWriter::rotate() {
  std::lock_guard lock(mu_);
  if (current_.used > kWalHeader) {
    end_segment_and_move_on();
  }
  return last_lsn_;
}

uint64_t WalWriter::last_lsn() const {
  std::lock_guard lock(mu_);
  return last_lsn_;
}

void WalWriter::background() {
  std::unique_lock lock(mu_);
  bool reported = false;
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::milliseconds(fsync_.interval_ms), [&] { return stop_; });
    if (stop_) break;
    if (syncing_ || (durable_lsn_ == last_lsn_ && closed_fds_.empty())) continue;
    try {
      sync(lock);
      reported = false;
    } catch (const std::exception& e) {
      // Said once until a sync succeeds again; the data stays in the OS's hands.
      if (!reported) std::fprintf(stderr, "rtml: store: %s\n", e.what());
      reported = true;
    }
  }
}

void mark_segment_end(const std::string& path, uint64_t offset, uint64_t next_lsn, bool sync) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) throw Error(path + ": cannot open: " + errno_text());
  char marker[kWalFrame];
  put_wal_end_marker(marker, next_lsn);
  bool ok = ::pwrite(fd, marker, kWalFrame, static_cast<off_t>(offset)) ==
                static_cast<ssize_t>(kWalFrame) &&
            ::ftruncate(fd, static_cast<off_t>(offset + kWalFrame)) == 0 &&
            (!sync || ::fdatasync(fd) == 0);
  std::string why = ok ? "" : errno_text();
  ::close(fd);
  if (!ok) throw Error(path + ": cannot end the segment: " + why);
}

}  // namespace rtml::store
