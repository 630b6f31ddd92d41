#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
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
#include "wal_ring.h"

namespace rtml::store {
namespace {

using namespace detail;

// A segment is closed once the next record would take it past this size (a record
// larger than that gets a segment of its own).
constexpr size_t kSegmentBytes = 64u << 20;
// How often the drain thread moves the ring's records to the segment file, at most:
// the ring holds 8 MiB, and a quarter full wakes it sooner. Measured (rtml bench store,
// every=10ms puts): 1 ms and 5 ms alike; 100 ms halved two threads' puts, the
// appenders then draining a full ring themselves.
constexpr std::chrono::milliseconds kDrainInterval(5);
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

// Takes lock's mutex, trying for a while before sleeping: appends hold it for about a
// hundred nanoseconds, and a futex sleep and wake-up costs tens of microseconds on a
// VM.
void lock_spinning(std::unique_lock<std::mutex>& lock) {
  for (int i = 0; i < 256; ++i) {
    if (lock.try_lock()) return;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }
  lock.lock();
}

// Writes the iovecs' bytes at offset, however many calls it takes. Throws Error.
void write_all_at(int fd, iovec* iov, int count, size_t offset, const std::string& path) {
  while (count > 0) {
    ssize_t w = ::pwritev(fd, iov, count, static_cast<off_t>(offset));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) throw Error(path + ": cannot write: " + (w < 0 ? errno_text() : "no progress"));
    offset += static_cast<size_t>(w);
    size_t left = static_cast<size_t>(w);
    for (; count > 0 && left >= iov->iov_len; --count, ++iov) left -= iov->iov_len;
    if (count > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
  }
}

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
    : dir_(std::move(dir)),
      fsync_(fsync),
      last_lsn_(last_lsn),
      drained_lsn_(last_lsn),
      durable_lsn_(last_lsn) {
  struct stat st;
  if (::stat(dir_.c_str(), &st) != 0) throw Error(dir_ + ": cannot open: " + errno_text());
  dir_dev_ = st.st_dev;
  dir_ino_ = st.st_ino;
  std::lock_guard lock(mu_);
  current_ = open_segment(last_lsn + 1);
  std::string why;
  ring_ = WalRing::create(dir_, &why);
  if (!why.empty()) {
    std::fprintf(stderr,
                 "rtml: store: no ring in shared memory for the WAL (%s): each record is "
                 "written to the log before it is acknowledged, which is slower\n",
                 why.c_str());
  }
  if (ring_) ring_->publish(current_.ino, current_.first_lsn, last_lsn + 1, 0);
  if (ring_) drain_thread_ = std::thread([this] { drain_in_background(); });
  if (fsync_.policy == FsyncPolicy::kEvery)
    sync_thread_ = std::thread([this] { sync_in_background(); });
}

WalWriter::~WalWriter() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  drain_cv_.notify_all();
  sync_cv_.notify_all();
  if (drain_thread_.joinable()) drain_thread_.join();
  if (sync_thread_.joinable()) sync_thread_.join();
  std::unique_lock sync_lock(sync_mu_);
  std::unique_lock io(io_mu_);
  std::unique_lock lock(mu_);
  bool drained = false;
  try {
    drain_all(lock);
    drained = true;
    close_segment(current_);
    if (fsync_.policy != FsyncPolicy::kNever) sync(lock);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rtml: store: closing the WAL: %s\n", e.what());
  }
  // Kept if its records could not be written: the next opener takes them from it.
  if (ring_ && drained) ring_->remove();
  for (int fd : closed_fds_) ::close(fd);
  if (current_.fd >= 0) ::close(current_.fd);
}

WalWriter::Segment WalWriter::open_segment(uint64_t first_lsn) {
  struct stat st;
  if (::stat(dir_.c_str(), &st) != 0 || st.st_dev != dir_dev_ || st.st_ino != dir_ino_) {
    throw Error(dir_ + ": the store folder was moved or replaced while open; not writing there");
  }
  Segment seg;
  seg.path = dir_ + "/" + wal_segment_name(first_lsn);
  seg.first_lsn = first_lsn;
  seg.fd = ::open(seg.path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (seg.fd < 0) throw Error(seg.path + ": cannot create: " + errno_text());
  try {
    char header[kWalHeader];
    std::memcpy(header, kWalMagic, 8);
    std::memcpy(header + 8, &kWalVersion, 4);
    std::memcpy(header + 12, &first_lsn, 8);
    write_all(seg.fd, header, kWalHeader, seg.path);
    if (::fstat(seg.fd, &st) != 0) throw Error(seg.path + ": cannot stat: " + errno_text());
    seg.ino = st.st_ino;
    seg.allocated = seg.used = seg.written = kWalHeader;
    if (fsync_.policy != FsyncPolicy::kNever) {
      // The segment's name must outlive an OS crash before its first record is
      // acknowledged as durable.
      if (::fsync(seg.fd) != 0) throw Error(seg.path + ": fsync failed: " + errno_text());
      fsync_dir(dir_);
    }
  } catch (...) {
    ::close(seg.fd);
    ::unlink(seg.path.c_str());
    throw;
  }
  return seg;
}

void WalWriter::close_segment(Segment& seg) {
  if (seg.fd < 0) return;
  // Drop the reserved zeros, so that a closed segment ends at its last record.
  if (seg.allocated != seg.written && ::ftruncate(seg.fd, static_cast<off_t>(seg.written)) != 0) {
    std::fprintf(stderr, "rtml: store: %s: cannot cut the reserved space: %s\n", seg.path.c_str(),
                 errno_text().c_str());
  }
  closed_fds_.push_back(seg.fd);
  seg.fd = -1;
  // Under kNever nobody syncs it: closed now, unless a flush() is syncing the list.
  if (fsync_.policy == FsyncPolicy::kNever && !syncing_) {
    for (int fd : closed_fds_) ::close(fd);
    closed_fds_.clear();
  }
}

void WalWriter::end_segment_and_move_on() {
  // The next segment exists before the old one says so: a marker never points at a
  // segment that was not created.
  Segment next = open_segment(last_lsn_ + 1);
  char marker[kWalFrame];
  put_wal_end_marker(marker, last_lsn_ + 1);
  if (::pwrite(current_.fd, marker, kWalFrame, static_cast<off_t>(current_.written)) ==
      static_cast<ssize_t>(kWalFrame)) {
    current_.written += kWalFrame;
  } else {
    // Without its marker the segment still ends at its last record, and the next one
    // goes on from the following LSN: a reader loses nothing.
    std::fprintf(stderr, "rtml: store: %s: cannot write the end marker: %s\n",
                 current_.path.c_str(), errno_text().c_str());
  }
  close_segment(current_);
  current_ = std::move(next);
  if (ring_) ring_->publish(current_.ino, current_.first_lsn, last_lsn_ + 1, head_);
}

void WalWriter::prepare(std::unique_lock<std::mutex>& lock, size_t n, bool io) {
  // Room for the record and for the end marker that closing the segment writes: after
  // every append, the reserved space holds the marker too.
  n += kWalFrame;
  auto full = [&] { return current_.used > kWalHeader && current_.used + n > kSegmentBytes; };
  if (full()) {
    std::unique_lock<std::mutex> io_lock;
    if (!io) {
      // io_mu_ comes before mu_.
      lock.unlock();
      io_lock = std::unique_lock(io_mu_);
      lock.lock();
    }
    if (full()) {
      drain_all(lock);
      end_segment_and_move_on();
    }
  }
  if (current_.used + n > current_.allocated) {
    size_t step = std::clamp(current_.allocated, kMinStep, kMaxStep);
    size_t want = std::max(current_.used + n, current_.allocated + step);
    size_t target = (want + kStepAlign - 1) / kStepAlign * kStepAlign;
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
  if (payload.size() >= kWalEndMarker) throw Error("a WAL record is limited to 4 GiB");
  const size_t n = kWalFrame + payload.size();
  if (ring_ && n <= ring_->size() / 2) {
    std::unique_lock lock(mu_, std::defer_lock);
    lock_spinning(lock);
    for (;;) {
      prepare(lock, n, false);
      if (head_ + n - drained_ <= ring_->size()) break;
      // Full (the drain thread is late, or the disk is failing): this appender drains,
      // and an error is its own. Meanwhile the segment may have changed: prepare again.
      lock.unlock();
      std::unique_lock io(io_mu_);
      lock.lock();
      drain_all(lock);
    }
    uint64_t lsn = last_lsn_ + 1;
    char frame[kWalFrame];
    put_wal_frame(frame, static_cast<uint32_t>(payload.size()), wal_checksum(lsn, payload), lsn);
    ring_->put(head_, frame, kWalFrame);
    ring_->put(head_ + kWalFrame, payload.data(), payload.size());
    head_ += n;
    current_.used += n;
    last_lsn_ = lsn;
    if (!drain_wanted_ && head_ - drained_ > ring_->size() / 4) {
      drain_wanted_ = true;
      drain_cv_.notify_one();
    }
    return lsn;
  }
  // No ring, or a record too large for it: written to the segment here, after what the
  // ring holds.
  std::unique_lock io(io_mu_);
  std::unique_lock lock(mu_);
  // Drained first: prepare() then reserves room after everything, and mu_ is not let go
  // (with io_mu_ held, nobody else rotates or drains) until the record is written.
  drain_all(lock);
  prepare(lock, n, true);
  uint64_t lsn = last_lsn_ + 1;
  char frame[kWalFrame];
  put_wal_frame(frame, static_cast<uint32_t>(payload.size()), wal_checksum(lsn, payload), lsn);
  iovec iov[2] = {{frame, kWalFrame}, {const_cast<char*>(payload.data()), payload.size()}};
  write_all_at(current_.fd, iov, 2, current_.written, current_.path);
  current_.written += n;
  current_.used += n;
  last_lsn_ = drained_lsn_ = lsn;
  if (ring_) ring_->publish(current_.ino, current_.first_lsn, lsn + 1, head_);
  return lsn;
}

void WalWriter::drain(std::unique_lock<std::mutex>& lock) {
  const uint64_t from = drained_, to = head_, lsn = last_lsn_;
  if (from == to) return;
  const int fd = current_.fd;
  const size_t offset = current_.written;
  const std::string path = current_.path;
  // Appenders go on meanwhile, after `to`; nothing before it moves until drained_ does.
  lock.unlock();
  const size_t size = ring_->size(), at = static_cast<size_t>(from % size);
  const size_t n = static_cast<size_t>(to - from), first = std::min(n, size - at);
  iovec iov[2] = {{ring_->data() + at, first}, {ring_->data(), n - first}};
  std::string failed;
  try {
    write_all_at(fd, iov, n > first ? 2 : 1, offset, path);
  } catch (const Error& e) {
    failed = e.what();
  }
  lock.lock();
  if (!failed.empty()) throw Error(failed);
  drained_ = to;
  drained_lsn_ = lsn;
  current_.written += n;
  ring_->publish(current_.ino, current_.first_lsn, lsn + 1, to);
}

void WalWriter::drain_all(std::unique_lock<std::mutex>& lock) {
  while (drained_ != head_) drain(lock);
}

void WalWriter::sync(std::unique_lock<std::mutex>& lock) {
  uint64_t upto = drained_lsn_;
  std::vector<int> closed;
  closed.swap(closed_fds_);
  // A segment closed meanwhile goes to closed_fds_ and stays open (syncing_), so fd
  // stays valid; only this sync closes what it took.
  int fd = current_.fd;
  syncing_ = true;
  std::string failed;
  lock.unlock();
  for (int c : closed) {
    if (::fdatasync(c) != 0 && failed.empty()) failed = errno_text();
  }
  if (fd >= 0 && ::fdatasync(fd) != 0 && failed.empty()) failed = errno_text();
  lock.lock();
  syncing_ = false;
  if (failed.empty()) {
    for (int c : closed) ::close(c);
    durable_lsn_ = std::max(durable_lsn_, upto);
  } else {
    closed_fds_.insert(closed_fds_.end(), closed.begin(), closed.end());
    throw Error(dir_ + ": fdatasync of the WAL failed: " + failed);
  }
}

void WalWriter::drain_then_sync(std::unique_lock<std::mutex>& sync_lock, uint64_t lsn) {
  (void)sync_lock;  // held: one sync at a time
  {
    std::unique_lock lock(mu_);
    if (durable_lsn_ >= lsn && closed_fds_.empty()) return;
  }
  std::unique_lock io(io_mu_);
  std::unique_lock lock(mu_);
  drain_all(lock);
  io.unlock();
  // Appenders and the drain thread go on during the fdatasync.
  sync(lock);
}

void WalWriter::wait_durable(uint64_t lsn) {
  // Callers queue on sync_mu_ while one syncs; the next finds its record already synced
  // by the previous one, or syncs all who came meanwhile: group commit.
  std::unique_lock sync_lock(sync_mu_);
  {
    std::lock_guard lock(mu_);
    if (durable_lsn_ >= lsn) return;
  }
  drain_then_sync(sync_lock, lsn);
}

void WalWriter::flush() {
  std::unique_lock sync_lock(sync_mu_);
  drain_then_sync(sync_lock, last_lsn());
}

uint64_t WalWriter::rotate() {
  std::unique_lock io(io_mu_);
  std::unique_lock lock(mu_);
  if (current_.used > kWalHeader) {
    drain_all(lock);
    end_segment_and_move_on();
  }
  return last_lsn_;
}

uint64_t WalWriter::last_lsn() const {
  std::lock_guard lock(mu_);
  return last_lsn_;
}

void WalWriter::drain_in_background() {
  bool reported = false;
  std::unique_lock lock(mu_);
  while (!stop_) {
    drain_cv_.wait_for(lock, kDrainInterval, [&] { return stop_ || drain_wanted_; });
    drain_wanted_ = false;
    if (stop_ || drained_ == head_) continue;
    lock.unlock();
    std::unique_lock io(io_mu_);
    lock.lock();
    try {
      drain_all(lock);
      reported = false;
    } catch (const std::exception& e) {
      // Said once until a drain succeeds again; the records stay in the ring, and an
      // appender that finds it full gets the error.
      if (!reported) std::fprintf(stderr, "rtml: store: %s\n", e.what());
      reported = true;
    }
  }
}

void WalWriter::sync_in_background() {
  const auto interval = std::chrono::milliseconds(fsync_.interval_ms);
  bool reported = false;
  std::unique_lock lock(mu_);
  while (!stop_) {
    sync_cv_.wait_for(lock, interval, [&] { return stop_; });
    if (stop_ || (durable_lsn_ == last_lsn_ && closed_fds_.empty())) continue;
    uint64_t upto = last_lsn_;
    lock.unlock();
    try {
      std::unique_lock sync_lock(sync_mu_);
      drain_then_sync(sync_lock, upto);
      reported = false;
    } catch (const std::exception& e) {
      // Said once until a sync succeeds again; the data stays in the OS's hands.
      if (!reported) std::fprintf(stderr, "rtml: store: %s\n", e.what());
      reported = true;
    }
    lock.lock();
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

void append_wal_tail(WalScan& scan, const std::vector<WalRingRecord>& records, bool sync) {
  if (records.empty()) return;
  std::string bytes;
  uint64_t lsn = scan.last_lsn;
  for (const auto& r : records) {
    if (r.lsn != lsn + 1 && lsn != 0) throw Error(scan.tail_file + ": records to append skip LSNs");
    lsn = r.lsn;
    char frame[kWalFrame];
    put_wal_frame(frame, static_cast<uint32_t>(r.payload.size()), wal_checksum(r.lsn, r.payload),
                  r.lsn);
    bytes.append(frame, kWalFrame);
    bytes.append(r.payload);
  }
  int fd = ::open(scan.tail_file.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) throw Error(scan.tail_file + ": cannot open: " + errno_text());
  iovec iov{bytes.data(), bytes.size()};
  std::string why;
  try {
    write_all_at(fd, &iov, 1, scan.tail_offset, scan.tail_file);
    if (::ftruncate(fd, static_cast<off_t>(scan.tail_offset + bytes.size())) != 0 ||
        (sync && ::fdatasync(fd) != 0)) {
      why = scan.tail_file + ": cannot write: " + errno_text();
    }
  } catch (const Error& e) {
    why = e.what();
  }
  ::close(fd);
  if (!why.empty()) throw Error(why);
  if (!scan.first_lsn) scan.first_lsn = records.front().lsn;
  scan.last_lsn = lsn;
  scan.records += records.size();
  scan.tail_offset += bytes.size();
  scan.tail_bytes = scan.torn_bytes = 0;
}

}  // namespace rtml::store
