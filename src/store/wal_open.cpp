#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "rtml/core/error.h"
#include "rtml/store/wal.h"
#include "wal_format.h"
#include "wal_ring.h"

namespace rtml::store {

void sync_wal_segments(const std::string& dir) {
  for (const auto& [lsn, path] : detail::wal_segments(dir)) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    if (::fdatasync(fd) != 0) {
      std::string why = std::strerror(errno);
      ::close(fd);
      throw Error(path + ": fdatasync failed: " + why);
    }
    ::close(fd);
  }
}

WalOpened open_wal(const std::string& dir, uint64_t first_needed_lsn, uint64_t floor_lsn,
                   FsyncSetting fsync, const std::function<void(const WalRecord&)>& fn) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(dir + ": cannot create the folder: " + ec.message());
  WalOpened out;
  WalScan scan = scan_wal(dir, first_needed_lsn, WalScanMode::kStrict, [&](const WalRecord& r) {
    fn(r);
    ++out.replayed;
  });
  const std::vector<WalRingRecord> ring = read_wal_ring(dir, scan);
  for (const auto& r : ring) {
    try {
      fn(WalRecord{r.lsn, r.payload});
    } catch (const Error& e) {
      throw Error(detail::wal_ring_file(dir) + ": LSN " + std::to_string(r.lsn) + ": " + e.what());
    }
    ++out.replayed;
  }
  if (scan.torn_bytes && ring.empty()) {
    out.warnings.push_back(scan.tail_file + ": an incomplete last record of " +
                           std::to_string(scan.torn_bytes) + " bytes at byte " +
                           std::to_string(scan.tail_offset) + " (a torn tail) was cut");
  }
  // An empty newest segment still says where the log goes on (its name's first LSN).
  uint64_t log_end = ring.empty() ? scan.last_lsn : ring.back().lsn;
  const auto segments = detail::wal_segments(dir);
  if (!segments.empty() && segments.back().first > 0) {
    log_end = std::max(log_end, segments.back().first - 1);
  }
  out.last_lsn = std::max(log_end, floor_lsn);
  if (out.last_lsn > log_end) {
    out.warnings.push_back("the log ends at LSN " + std::to_string(log_end) +
                           ", before the checkpoint (LSN " + std::to_string(floor_lsn) +
                           "): its tail was lost");
  }
  const bool sync = fsync.policy != FsyncPolicy::kNever;
  if (sync) sync_wal_segments(dir);
  cut_wal_tail(scan);
  append_wal_tail(scan, ring, sync);
  out.writer = std::make_unique<WalWriter>(dir, fsync, out.last_lsn);
  const std::string fresh = dir + "/" + detail::wal_segment_name(out.last_lsn + 1);
  if (!scan.tail_file.empty() && scan.tail_offset >= detail::kWalHeader &&
      scan.tail_file != fresh) {
    mark_segment_end(scan.tail_file, scan.tail_offset, out.last_lsn + 1, sync);
  }
  return out;
}

}  // namespace rtml::store
