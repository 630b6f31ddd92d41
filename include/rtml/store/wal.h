// The write-ahead log of the feature store: numbered records in segment files, each
// framed with its length and checksum, handed to the OS as they are appended and made
// durable on disk under an fsync policy.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace rtml::store {

// When the log's bytes, already in the OS's hands, are forced to the disk:
//   kAlways  before each append is acknowledged (wait_durable; concurrent appenders
//            share one fdatasync: group commit). An OS crash or power loss loses nothing
//            acknowledged.
//   kEvery   by a background thread every interval_ms. An OS crash loses at most the
//            last interval's acknowledged records.
//   kNever   never by rtml; the OS writes back when it chooses (Linux: within about 30 s).
// Under every policy a crash of the process alone loses nothing that append() returned.
enum class FsyncPolicy : uint8_t { kAlways, kEvery, kNever };

// Parses "always", "never" or "every=10ms" (also "every=1s"). Throws Error otherwise.
struct FsyncSetting {
  FsyncPolicy policy = FsyncPolicy::kEvery;
  uint32_t interval_ms = 10;
  static FsyncSetting parse(const std::string& text);
  std::string to_string() const;
};

// Appends records to the newest segment "wal-<first lsn>.log" of a folder.
//
// The segment is a shared memory mapping of the file: append() copies the record into
// the kernel's page cache, so when it returns the record survives a kill -9 of the
// process (it is the OS's, like a completed write()), at the cost of a memory copy
// instead of a system call. Space is reserved on disk ahead of the writer (fallocate),
// so a full disk is an Error from append(), never a SIGBUS. A segment is closed (and
// cut to its used length) when it is full, on rotate() and on destruction.
//
// Measured alternatives (rtml bench store, every=10ms, puts per second against the
// buffered writer this replaced, which acknowledged before the OS had the record): this
// mapping 0.65-0.73 on one thread and 0.74-0.94 on two; one write(2) per record with
// group commit 0.55-0.59 and 0.35-0.46 (a follower's wake-up costs more than its write);
// the mapping with large folios (MADV_HUGEPAGE) much worse still, each fdatasync then
// writing the whole 2 MiB folio being appended to. The mapping's cost is the kernel's:
// writeback write-protects each 4 KiB page it cleans, with a TLB shootdown on every core
// running the process (put p99 2 us before, 11 us now, on this 2-core VM).
//
// Thread-safe.
class WalWriter {
 public:
  // Starts a new segment after last_lsn in dir. Throws Error if it cannot be created.
  WalWriter(std::string dir, FsyncSetting fsync, uint64_t last_lsn);
  // Syncs (unless kNever) and closes the segment. Errors are reported on stderr.
  ~WalWriter();

  // Numbers one record (LSNs increase by one) and hands it to the OS; returns its LSN.
  // Throws Error if the log cannot grow (disk full); then nothing was logged.
  uint64_t append(std::string_view payload);
  // Blocks until the record lsn is on disk (fdatasync, shared with concurrent callers).
  void wait_durable(uint64_t lsn);
  // Forces everything appended so far to disk.
  void flush();
  // Closes the current segment and starts a new one (no-op if it holds no record yet);
  // returns the LSN of the last record before the new segment.
  uint64_t rotate();
  uint64_t last_lsn() const;
  const FsyncSetting& fsync() const { return fsync_; }

 private:
  struct Segment {
    std::string path;
    int fd = -1;
    char* map = nullptr;
    size_t capacity = 0;   // bytes mapped
    size_t allocated = 0;  // bytes reserved in the file (its size)
    size_t used = 0;       // header and records
  };
  // With mu_ held. Creates and maps a segment whose first record will be first_lsn.
  Segment open_segment(uint64_t first_lsn);
  // With mu_ held. Opens the next segment, then ends the current one with a marker that
  // names it (so that a reader knows a later segment must exist) and closes it.
  void end_segment_and_move_on();
  // With mu_ held. Unmaps seg, cuts the file to its used length and queues its fd for
  // the next sync (or closes it under kNever).
  void close_segment(Segment& seg);
  // With mu_ held. Makes room for n more bytes in the current segment.
  void reserve(size_t n);
  // With mu_ held and no sync running: fdatasyncs the closed segments and the current
  // one, releasing mu_ meanwhile. Throws Error if the disk refuses.
  void sync(std::unique_lock<std::mutex>& lock);
  void background();

  std::string dir_;
  // The folder's identity when opened: segments are created only while dir_ still
  // names it (a folder moved away under a running writer must not have its new
  // segments land in whatever now has its name).
  uint64_t dir_dev_ = 0, dir_ino_ = 0;
  FsyncSetting fsync_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  Segment current_;
  std::vector<int> closed_fds_;  // closed segments not yet synced
  uint64_t last_lsn_;
  uint64_t durable_lsn_;  // fdatasynced
  bool syncing_ = false;
  bool stop_ = false;
  std::thread thread_;
};

// One record read back.
struct WalRecord {
  uint64_t lsn;
  std::string_view payload;
};

// Damage that a salvaging scan passed over.
struct WalDamage {
  std::string file;
  uint64_t offset = 0;  // first byte passed over
  uint64_t bytes = 0;   // bytes passed over (0: none, e.g. a missing range of LSNs)
  // The LSNs known to be lost with it, first..last (0..0 if none or unknown).
  uint64_t first_lsn = 0, last_lsn = 0;
  std::string reason;
};

// What a scan of the log found.
struct WalScan {
  uint64_t records = 0;    // valid records passed to the callback
  uint64_t covered = 0;    // valid records before first_needed_lsn, not passed
  uint64_t first_lsn = 0;  // of the first record, 0 if none
  uint64_t last_lsn = 0;   // of the last record, 0 if none
  // Where the valid records of the newest segment end (tail_offset in tail_file), and
  // what lies after: torn_bytes bytes of an incomplete last record (not counting zeros
  // reserved ahead of the writer). tail_offset < kWalHeader: not even a whole header.
  std::string tail_file;
  uint64_t tail_offset = 0;
  uint64_t tail_bytes = 0;  // all bytes after tail_offset, zeros included
  uint64_t torn_bytes = 0;
  std::vector<WalDamage> damage;  // kSalvage only
};

enum class WalScanMode {
  // Only an incomplete last record of the newest segment may be bad; any other damage
  // (a bad record followed by valid ones, a bad segment, a missing range of LSNs) is an
  // Error naming the file and byte offset.
  kStrict,
  // Passes over damage, recording it in WalScan::damage, and reads every valid record.
  kSalvage,
};

// Reads the segments of dir in order and calls fn for each valid record. The log must
// hold every LSN from first_needed_lsn on (the first one a snapshot does not cover; 1
// without a snapshot): a log that starts later has lost history. Never writes: see
// cut_wal_tail. Errors thrown by fn are rethrown (kStrict) with the record's file and
// offset, or recorded as damage (kSalvage).
WalScan scan_wal(const std::string& dir, uint64_t first_needed_lsn, WalScanMode mode,
                 const std::function<void(const WalRecord&)>& fn);

// Cuts the newest segment after its last valid record (scan.tail_offset), removing it
// if not even its header is whole. Throws Error if the file cannot be changed.
void cut_wal_tail(const WalScan& scan);

// Ends the segment at path, cut at offset (its last record's end), with the marker that
// names next_lsn as the next segment's first: what a writer that opens a new segment
// after a restart does to the segment a dead writer left, so that losing the new one is
// seen. fdatasyncs it unless sync is false. Throws Error if the file cannot be written.
void mark_segment_end(const std::string& path, uint64_t offset, uint64_t next_lsn, bool sync);

// Deletes segments whose records all have LSN <= lsn (never the newest segment).
void delete_wal_through(const std::string& dir, uint64_t lsn);

}  // namespace rtml::store
