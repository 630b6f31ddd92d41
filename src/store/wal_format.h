// The WAL's file format, shared by its writer and its reader.
//
// A segment "wal-<first lsn, 20 digits>.log" is a header (magic, version, first LSN)
// followed by records, each a frame (payload length, XXH32 of LSN and payload, LSN) and
// its payload. LSNs increase by exactly one from record to record and from segment to
// segment. A segment being written may end in zeros (space reserved ahead of the
// writer); a zero frame is never a valid record.
#pragma once

// The XXH32 state on the stack: no allocation per record.
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rtml::store::detail {

inline constexpr char kWalMagic[8] = {'R', 'T', 'M', 'L', 'W', 'A', 'L', '\0'};
inline constexpr uint32_t kWalVersion = 1;
inline constexpr size_t kWalHeader = 8 + 4 + 8;  // magic, version, first lsn
inline constexpr size_t kWalFrame = 4 + 4 + 8;   // length, checksum, lsn

std::string wal_segment_name(uint64_t first_lsn);

// The segments of dir as (first LSN, path), sorted by first LSN. Other files are ignored.
std::vector<std::pair<uint64_t, std::string>> wal_segments(const std::string& dir);

// Writes a frame (length, checksum, LSN) at `at`, kWalFrame bytes.
inline void put_wal_frame(char* at, uint32_t len, uint32_t sum, uint64_t lsn) {
  std::memcpy(at, &len, 4);
  std::memcpy(at + 4, &sum, 4);
  std::memcpy(at + 8, &lsn, 8);
}

// A segment that the writer left for the next one ends with a frame of this length (no
// record is that long), the LSN the next segment starts at, and wal_end_checksum of it.
inline constexpr uint32_t kWalEndMarker = 0xFFFFFFFFu;

inline uint32_t wal_end_checksum(uint64_t next_lsn) {
  return XXH32(&next_lsn, sizeof(next_lsn), 0x656e64);
}

// Writes the end marker naming next_lsn at `at`, kWalFrame bytes.
inline void put_wal_end_marker(char* at, uint64_t next_lsn) {
  put_wal_frame(at, kWalEndMarker, wal_end_checksum(next_lsn), next_lsn);
}

inline uint32_t wal_checksum(uint64_t lsn, std::string_view payload) {
  XXH32_state_t st;
  XXH32_reset(&st, 0x7761);
  XXH32_update(&st, &lsn, sizeof(lsn));
  XXH32_update(&st, payload.data(), payload.size());
  return XXH32_digest(&st);
}

}  // namespace rtml::store::detail
