#include "rtml/store/wal.h"

#include <fcntl.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "rtml/core/error.h"
#include "rtml/core/file_io.h"

namespace rtml::store {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[8] = {'R', 'T', 'M', 'L', 'W', 'A', 'L', '\0'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeader = 8 + 4 + 8;  // magic, version, first lsn
constexpr size_t kFrame = 4 + 4 + 8;   // length, checksum, lsn

std::string segment_name(uint64_t first_lsn) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "wal-%020llu.log", static_cast<unsigned long long>(first_lsn));
  return buf;
}

// Segments of dir sorted by first LSN.
std::vector<std::pair<uint64_t, std::string>> segments(const std::string& dir) {
  std::vector<std::pair<uint64_t, std::string>> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (name.size() != 28 || name.rfind("wal-", 0) != 0 || name.substr(24) != ".log") continue;
    uint64_t lsn = 0;
    std::from_chars(name.data() + 4, name.data() + 24, lsn);
    out.emplace_back(lsn, entry.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

uint32_t frame_checksum(uint64_t lsn, std::string_view payload) {
  XXH32_state_t* st = XXH32_createState();
  XXH32_reset(st, 0x7761);
  XXH32_update(st, &lsn, sizeof(lsn));
  XXH32_update(st, payload.data(), payload.size());
  uint32_t h = XXH32_digest(st);
  XXH32_freeState(st);
  return h;
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
      written_lsn_(last_lsn),
      durable_lsn_(last_lsn) {
  open_segment(last_lsn + 1);
  if (fsync_.policy != FsyncPolicy::kAlways) thread_ = std::thread([this] { background(); });
}

WalWriter::~WalWriter() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  try {
    flush();
  } catch (...) {
  }
  if (fd_ >= 0) ::close(fd_);
}

void WalWriter::open_segment(uint64_t first_lsn) {
  std::string path = dir_ + "/" + segment_name(first_lsn);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(path + ": cannot create: " + std::strerror(errno));
  char header[kHeader];
  std::memcpy(header, kMagic, 8);
  std::memcpy(header + 8, &kVersion, 4);
  std::memcpy(header + 12, &first_lsn, 8);
  write_all(fd, header, kHeader, path);
  ::fsync(fd);
  fsync_dir(dir_);
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

uint64_t WalWriter::append(std::string_view payload) {
  std::lock_guard lock(mu_);
  uint64_t lsn = ++last_lsn_;
  uint32_t len = static_cast<uint32_t>(payload.size());
  uint32_t sum = frame_checksum(lsn, payload);
  char frame[kFrame];
  std::memcpy(frame, &len, 4);
  std::memcpy(frame + 4, &sum, 4);
  std::memcpy(frame + 8, &lsn, 8);
  buffer_.append(frame, kFrame);
  buffer_.append(payload);
  return lsn;
}

void WalWriter::write_out(std::unique_lock<std::mutex>& lock, bool sync) {
  io_busy_ = true;
  std::string out;
  out.swap(buffer_);
  uint64_t upto = last_lsn_;
  int fd = fd_;
  lock.unlock();
  try {
    write_all(fd, out.data(), out.size(), dir_ + "/wal");
    if (sync && ::fdatasync(fd) != 0)
      throw Error(dir_ + ": fdatasync failed: " + std::strerror(errno));
  } catch (...) {
    lock.lock();
    io_busy_ = false;
    cv_.notify_all();
    throw;
  }
  lock.lock();
  written_lsn_ = std::max(written_lsn_, upto);
  if (sync) durable_lsn_ = std::max(durable_lsn_, upto);
  io_busy_ = false;
  cv_.notify_all();
}

void WalWriter::wait_durable(uint64_t lsn) {
  std::unique_lock lock(mu_);
  while (durable_lsn_ < lsn) {
    if (io_busy_) {
      cv_.wait(lock);
    } else {
      write_out(lock, true);
    }
  }
}

void WalWriter::flush() {
  std::unique_lock lock(mu_);
  while (io_busy_) cv_.wait(lock);
  if (durable_lsn_ < last_lsn_ || !buffer_.empty()) write_out(lock, true);
}

uint64_t WalWriter::rotate() {
  std::unique_lock lock(mu_);
  while (io_busy_) cv_.wait(lock);
  if (!buffer_.empty() || durable_lsn_ < last_lsn_) write_out(lock, true);
  while (io_busy_) cv_.wait(lock);
  uint64_t last = last_lsn_;
  open_segment(last + 1);
  return last;
}

uint64_t WalWriter::last_lsn() const {
  std::lock_guard lock(mu_);
  return last_lsn_;
}

void WalWriter::background() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::milliseconds(fsync_.interval_ms), [&] { return stop_; });
    if (stop_) break;
    if (!io_busy_ && !buffer_.empty()) {
      try {
        write_out(lock, fsync_.policy == FsyncPolicy::kEvery);
      } catch (...) {
        // The next append's wait_durable or flush reports the error.
      }
    }
  }
}

WalReplay replay_wal(const std::string& dir, const std::function<void(const WalRecord&)>& fn) {
  WalReplay result;
  auto segs = segments(dir);
  for (size_t s = 0; s < segs.size(); ++s) {
    const std::string& path = segs[s].second;
    bool newest = s + 1 == segs.size();
    std::ifstream f(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), {});
    size_t good = 0;
    std::string problem;
    if (bytes.size() < kHeader || std::memcmp(bytes.data(), kMagic, 8) != 0) {
      problem = "bad segment header";
    } else {
      uint32_t version;
      std::memcpy(&version, bytes.data() + 8, 4);
      if (version != kVersion)
        throw Error(path + ": unsupported WAL version " + std::to_string(version));
      good = kHeader;
      while (good < bytes.size()) {
        if (bytes.size() - good < kFrame) {
          problem = "incomplete record frame";
          break;
        }
        uint32_t len, sum;
        uint64_t lsn;
        std::memcpy(&len, bytes.data() + good, 4);
        std::memcpy(&sum, bytes.data() + good + 4, 4);
        std::memcpy(&lsn, bytes.data() + good + 8, 8);
        if (len > bytes.size() - good - kFrame) {
          problem = "record length past the end";
          break;
        }
        std::string_view payload(bytes.data() + good + kFrame, len);
        if (frame_checksum(lsn, payload) != sum) {
          problem = "record checksum mismatch";
          break;
        }
        if (lsn <= result.last_lsn && result.records > 0) {
          throw Error(path + ": record at byte " + std::to_string(good) + " has LSN " +
                      std::to_string(lsn) + " after " + std::to_string(result.last_lsn));
        }
        try {
          fn(WalRecord{lsn, payload});
        } catch (const Error& e) {
          throw Error(path + ": record at byte " + std::to_string(good) + " (LSN " +
                      std::to_string(lsn) + "): " + e.what());
        }
        result.last_lsn = lsn;
        ++result.records;
        good += kFrame + len;
      }
    }
    if (problem.empty()) continue;
    if (!newest) {
      throw Error(path + ": corrupt at byte " + std::to_string(good) + " (" + problem +
                  ") in a segment that is not the newest: refusing to guess");
    }
    // A crash while appending: drop the partial record and keep what precedes it.
    result.torn_bytes = bytes.size() - good;
    result.torn_file = path;
    if (good < kHeader) {
      fs::remove(path);
    } else if (::truncate(path.c_str(), static_cast<off_t>(good)) != 0) {
      throw Error(path + ": cannot truncate the torn tail: " + std::strerror(errno));
    }
  }
  return result;
}

void delete_wal_through(const std::string& dir, uint64_t lsn) {
  auto segs = segments(dir);
  for (size_t s = 0; s + 1 < segs.size(); ++s) {
    // Segment s holds LSNs [first_s, first_{s+1} - 1].
    if (segs[s + 1].first - 1 <= lsn) fs::remove(segs[s].second);
  }
}

}  // namespace rtml::store
