// Reading the WAL back: strict for recovery, salvaging for repair. Never writes, except
// cut_wal_tail and delete_wal_through, which say so.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "rtml/core/error.h"
#include "rtml/core/file_io.h"
#include "rtml/store/wal.h"
#include "wal_format.h"

namespace rtml::store {
namespace detail {

namespace fs = std::filesystem;

std::string wal_segment_name(uint64_t first_lsn) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "wal-%020llu.log", static_cast<unsigned long long>(first_lsn));
  return buf;
}

std::vector<std::pair<uint64_t, std::string>> wal_segments(const std::string& dir) {
  std::vector<std::pair<uint64_t, std::string>> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (name.size() != 28 || name.rfind("wal-", 0) != 0 || name.substr(24) != ".log") continue;
    uint64_t lsn = 0;
    auto [p, ec] = std::from_chars(name.data() + 4, name.data() + 24, lsn);
    if (ec != std::errc() || p != name.data() + 24) continue;
    out.emplace_back(lsn, entry.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace detail

namespace {

using namespace detail;

// The record at pos if it is whole and its checksum matches; its LSN is not checked.
bool record_at(std::string_view bytes, size_t pos, WalRecord& rec, size_t& size) {
  if (bytes.size() - pos < kWalFrame) return false;
  uint32_t len, sum;
  uint64_t lsn;
  std::memcpy(&len, bytes.data() + pos, 4);
  std::memcpy(&sum, bytes.data() + pos + 4, 4);
  std::memcpy(&lsn, bytes.data() + pos + 8, 8);
  if (len > bytes.size() - pos - kWalFrame) return false;
  std::string_view payload = bytes.substr(pos + kWalFrame, len);
  if (wal_checksum(lsn, payload) != sum) return false;
  rec = WalRecord{lsn, payload};
  size = kWalFrame + len;
  return true;
}

// True if pos holds the marker that ends a segment the writer moved on from; its LSN
// (the next segment's first) is in next_lsn.
bool end_marker_at(std::string_view bytes, size_t pos, uint64_t& next_lsn) {
  if (bytes.size() - pos < kWalFrame) return false;
  uint32_t len, sum;
  std::memcpy(&len, bytes.data() + pos, 4);
  std::memcpy(&sum, bytes.data() + pos + 4, 4);
  std::memcpy(&next_lsn, bytes.data() + pos + 8, 8);
  return len == kWalEndMarker && sum == wal_end_checksum(next_lsn);
}

// The first offset after `from` that holds a whole record or an end marker with an LSN
// above after_lsn
// (and not absurdly far above it: records are at least a frame long), or npos. The LSN
// is compared before the checksum is computed, so a scan over zeros costs a load and a
// compare per byte.
size_t next_valid_record(std::string_view bytes, size_t from, uint64_t after_lsn) {
  if (bytes.size() < kWalFrame) return std::string_view::npos;
  uint64_t most = after_lsn + (bytes.size() - std::min(from, bytes.size())) / kWalFrame + 1;
  for (size_t q = from; q + kWalFrame <= bytes.size(); ++q) {
    uint64_t lsn;
    std::memcpy(&lsn, bytes.data() + q + 8, 8);
    if (lsn <= after_lsn || lsn > most) continue;
    WalRecord rec;
    size_t size;
    uint64_t marked;
    if (record_at(bytes, q, rec, size) || end_marker_at(bytes, q, marked)) return q;
  }
  return std::string_view::npos;
}

uint64_t nonzero_span(std::string_view bytes, size_t from) {
  size_t end = bytes.size();
  while (end > from && bytes[end - 1] == '\0') --end;
  return end - from;
}

std::string lsn_range(uint64_t first, uint64_t last) {
  return first == last ? "LSN " + std::to_string(first) + " is"
                       : "LSNs " + std::to_string(first) + "-" + std::to_string(last) + " are";
}

std::string at(const std::string& path, uint64_t offset) {
  return path + ": byte " + std::to_string(offset);
}

}  // namespace

WalScan scan_wal(const std::string& dir, uint64_t first_needed_lsn, WalScanMode mode,
                 const std::function<void(const WalRecord&)>& fn) {
  const bool salvage = mode == WalScanMode::kSalvage;
  const std::string repair_hint = "; the files were left as they are: `rtml store repair --dir " +
                                  dir + "` keeps every valid record and says what it drops";
  WalScan scan;
  auto damage = [&](WalDamage d) {
    // Records that a snapshot already holds are not needed: damage to them alone (say,
    // a repair killed before it moved the old segments away) costs nothing.
    if (d.bytes && d.first_lsn && d.last_lsn >= d.first_lsn && d.last_lsn < first_needed_lsn) {
      return;
    }
    if (!salvage) throw Error(at(d.file, d.offset) + ": " + d.reason + repair_hint);
    scan.damage.push_back(std::move(d));
  };
  // The next LSN the log must hold.
  uint64_t expected = first_needed_lsn;
  auto segs = wal_segments(dir);
  for (size_t s = 0; s < segs.size(); ++s) {
    const auto& [name_lsn, path] = segs[s];
    const bool newest = s + 1 == segs.size();
    std::string bytes = read_file(path);
    if (bytes.size() < kWalHeader) {
      if (newest) {
        // Created, then the process died before its header was whole.
        scan.tail_file = path;
        scan.tail_offset = 0;
        scan.tail_bytes = bytes.size();
        scan.torn_bytes = nonzero_span(bytes, 0);
        break;
      }
      damage({path, 0, bytes.size(), 0, 0, "a segment shorter than its header"});
      continue;
    }
    uint32_t version;
    uint64_t header_lsn;
    std::memcpy(&version, bytes.data() + 8, 4);
    std::memcpy(&header_lsn, bytes.data() + 12, 8);
    if (std::memcmp(bytes.data(), kWalMagic, 8) != 0 || version != kWalVersion ||
        header_lsn != name_lsn) {
      // Salvaging goes on to the records after the header: each proves itself by its
      // checksum and LSN, and the file name says where the segment starts.
      damage({path, 0, kWalHeader, 0, 0,
              std::memcmp(bytes.data(), kWalMagic, 8) != 0 ? "a damaged segment header (bad magic)"
              : version != kWalVersion ? "unsupported WAL version " + std::to_string(version)
                                       : "the header's LSN " + std::to_string(header_lsn) +
                                             " differs from the file name's"});
    }
    if (name_lsn > expected) {
      // Nothing holds LSNs expected..name_lsn-1: a removed segment, or a log whose
      // snapshot is gone.
      damage({path, 0, 0, expected, name_lsn - 1,
              lsn_range(expected, name_lsn - 1) + " missing: the log jumps to " +
                  std::to_string(name_lsn) + " here" +
                  (expected == first_needed_lsn && scan.records == 0
                       ? ", and no valid snapshot covers what came before"
                       : "")});
    } else if (name_lsn < expected && scan.records > 0) {
      damage({path, 0, 0, 0, 0,
              "the segment starts at LSN " + std::to_string(name_lsn) + ", but LSN " +
                  std::to_string(expected - 1) + " was already read"});
    }
    expected = std::max(expected, name_lsn);
    uint64_t next = name_lsn;   // this segment's next LSN
    uint64_t continues_at = 0;  // from its end marker: the next segment's first LSN
    size_t pos = kWalHeader;
    while (pos < bytes.size()) {
      WalRecord rec;
      size_t size;
      if (end_marker_at(bytes, pos, continues_at) && continues_at >= next) {
        // A marker past the next LSN: the writer went on after a snapshot that holds the
        // LSNs between (a log that lost its tail behind its snapshot); if none does,
        // they are missing.
        uint64_t from = std::max(next, expected);
        if (from < continues_at) {
          damage({path, pos, 0, from, continues_at - 1,
                  lsn_range(from, continues_at - 1) + " missing: the segment ends by naming " +
                      std::to_string(continues_at) + " as the next LSN"});
        }
        break;
      }
      continues_at = 0;
      bool whole = record_at(bytes, pos, rec, size);
      if (whole && rec.lsn > next) {
        // A whole record further on than expected (say, a segment copied under another
        // name): the LSNs skipped are missing unless read already.
        uint64_t from = std::max(next, expected);
        if (from < rec.lsn) {
          damage({path, pos, 0, from, rec.lsn - 1,
                  lsn_range(from, rec.lsn - 1) + " missing before the record at this byte"});
        }
        next = rec.lsn;
      }
      if (whole && rec.lsn == next) {
        if (rec.lsn >= expected) {
          try {
            fn(rec);
          } catch (const Error& e) {
            damage({path, pos, size, rec.lsn, rec.lsn,
                    "the record (LSN " + std::to_string(rec.lsn) +
                        ") cannot be applied: " + e.what()});
          }
          if (scan.records++ == 0) scan.first_lsn = rec.lsn;
          scan.last_lsn = rec.lsn;
          expected = rec.lsn + 1;
        } else {
          ++scan.covered;
        }
        ++next;
        pos += size;
        continue;
      }
      // A bad record, or a good one out of sequence. If valid records follow, it is
      // damage; if not, the end of what the writer wrote.
      size_t q = next_valid_record(bytes, pos + 1, next - 1);
      if (q == std::string_view::npos && newest) {
        scan.tail_file = path;
        scan.tail_offset = pos;
        scan.tail_bytes = bytes.size() - pos;
        scan.torn_bytes = nonzero_span(bytes, pos);
        break;
      }
      std::string what = record_at(bytes, pos, rec, size)
                             ? "a record with LSN " + std::to_string(rec.lsn) + " where " +
                                   std::to_string(next) + " was expected"
                             : "a corrupt record (bad length or checksum)";
      if (q == std::string_view::npos && nonzero_span(bytes, pos) == 0) {
        // Space reserved ahead of a writer killed while it moved to the next segment:
        // the end of this one. Whether records are missing, the next segment's first
        // LSN tells.
        break;
      }
      if (q == std::string_view::npos) {
        // The next segment says where this one's records should have ended; if a
        // snapshot holds all of them, nothing is lost.
        uint64_t last = s + 1 < segs.size() && segs[s + 1].first > next ? segs[s + 1].first - 1 : 0;
        damage({path, pos, bytes.size() - pos, next, last,
                what + " in a segment that is not the newest (" +
                    std::to_string(bytes.size() - pos) + " bytes to its end)"});
        break;
      }
      uint64_t resume;  // the LSN of the record, or of the marker, found at q
      std::memcpy(&resume, bytes.data() + q + 8, 8);
      damage({path, pos, q - pos, next, resume - 1,
              what + ", followed by valid records (the next at byte " + std::to_string(q) +
                  ", LSN " + std::to_string(resume) + ")"});
      next = resume;
      pos = q;
    }
    if (newest && continues_at) {
      // The writer moved on to a segment that is not here: its records are lost.
      damage({path, pos, 0, continues_at, 0,
              "the segment ends by naming the next one (from LSN " + std::to_string(continues_at) +
                  "), which is missing"});
    }
    if (newest && scan.tail_file.empty()) {
      scan.tail_file = path;  // a clean end: nothing after the last record
      scan.tail_offset = bytes.size();
    }
  }
  return scan;
}

void cut_wal_tail(const WalScan& scan) {
  if (scan.tail_file.empty() || scan.tail_bytes == 0) return;
  if (scan.tail_offset < kWalHeader) {
    if (::unlink(scan.tail_file.c_str()) != 0 && errno != ENOENT) {
      throw Error(scan.tail_file + ": cannot remove: " + std::strerror(errno));
    }
    return;
  }
  if (::truncate(scan.tail_file.c_str(), static_cast<off_t>(scan.tail_offset)) != 0) {
    throw Error(scan.tail_file + ": cannot cut the torn tail: " + std::strerror(errno));
  }
}

void delete_wal_through(const std::string& dir, uint64_t lsn) {
  auto segs = wal_segments(dir);
  for (size_t s = 0; s + 1 < segs.size(); ++s) {
    // Segment s holds LSNs [first_s, first_{s+1} - 1].
    if (segs[s + 1].first - 1 <= lsn) fs::remove(segs[s].second);
  }
}

}  // namespace rtml::store
