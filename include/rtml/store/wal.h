// The write-ahead log of the feature store: numbered records in segment files, each
// framed with its length and checksum, handed to the OS as they are appended and made
// durable on disk under an fsync policy.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace rtml::store {
namespace detail {
class WalRing;
}

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
// append() copies the record into a ring in shared memory (/dev/shm, see
// src/store/wal_ring.h): when it returns, the record is the kernel's and survives a
// kill -9 of the process, at the cost of a memory copy instead of a system call. A
// drain thread moves the records to the segment file in large writes every millisecond
// or so (and before a rotation, a sync or a close); a process that opens the folder
// after a crash takes what the ring still holds (read_wal_ring). Where no shared memory
// can be had (RTML_WAL_RING_DIR=off, a full /dev/shm), each record is written to the
// segment by append() itself: the same promise, at a system call per record. Space is
// reserved on disk ahead of the writer (fallocate), so a full disk is an Error from
// append(), never a record acknowledged and then lost. A segment is closed (and cut to
// its used length) when it passes 64 MiB, on rotate() and on destruction.
//
// Measured (rtml bench store, every=10ms, puts per second against the buffered writer
// of 76f2644, which acknowledged before the OS had the record, in the same run): this
// ring 1.0-1.1 on one thread and 1.5-1.6 on two, put p99 1.3 and 2.0 us (2 and 2.2
// before); appenders spin briefly on the mutex before sleeping (sleeping cost two
// threads p99 40 us). Alternatives measured before it: a shared mapping of the segment
// file 0.58-0.73 and 0.74-0.94 (writeback write-protects each 4 KiB page it cleans, with
// a TLB shootdown on every core running the process: p99 11 us); one write(2) per
// record with group commit 0.55-0.59 and 0.35-0.46; that mapping with large folios
// (MADV_HUGEPAGE) worse still.
//
// Thread-safe.
class WalWriter {
 public:
  // Starts a new segment after last_lsn in dir, and replaces dir's ring: whoever opens
  // a folder that a writer may have died in takes the old ring's records first
  // (read_wal_ring, append_wal_tail). Throws Error if the segment cannot be created.
  WalWriter(std::string dir, FsyncSetting fsync, uint64_t last_lsn);
  // Drains the ring, syncs (unless kNever), closes the segment and removes the ring.
  // Errors are reported on stderr (and the ring then kept).
  ~WalWriter();

  // Numbers one record (LSNs increase by one) and hands it to the OS; returns its LSN.
  // Throws Error if the log cannot grow (disk full), or if the ring is full and the
  // drain thread cannot write (a failing disk); then nothing was logged.
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
    uint64_t ino = 0;
    uint64_t first_lsn = 0;
    size_t allocated = 0;  // bytes reserved in the file (its size)
    size_t used = 0;       // header and records, those still in the ring included
    size_t written = 0;    // header and records in the file
  };
  // With mu_ held. Creates a segment whose first record will be first_lsn.
  Segment open_segment(uint64_t first_lsn);
  // With io_mu_ and mu_ held, the ring drained. Opens the next segment, then ends the
  // current one with a marker that names it (so that a reader knows a later segment
  // must exist) and closes it.
  void end_segment_and_move_on();
  // With io_mu_ and mu_ held, the ring drained. Cuts seg's file to its used length and
  // queues its fd for the next sync (or closes it under kNever).
  void close_segment(Segment& seg);
  // With mu_ held (and io_mu_ if io is true). Rotates if a record of n bytes would take
  // the segment past its size, and reserves room for it. May release and retake mu_.
  void prepare(std::unique_lock<std::mutex>& lock, size_t n, bool io);
  // With io_mu_ and mu_ held: writes the ring's records to the segment, releasing mu_
  // meanwhile. Returns with the ring drained up to where it was on entry.
  void drain(std::unique_lock<std::mutex>& lock);
  // With io_mu_ and mu_ held: drains until the ring is empty.
  void drain_all(std::unique_lock<std::mutex>& lock);
  // With sync_mu_ and mu_ held: fdatasyncs the closed segments and the current one up
  // to what is drained, releasing mu_ meanwhile. Throws Error if the disk refuses.
  void sync(std::unique_lock<std::mutex>& lock);
  // With sync_mu_ held (sync_lock): unless lsn is durable already, drains the ring and
  // syncs.
  void drain_then_sync(std::unique_lock<std::mutex>& sync_lock, uint64_t lsn);
  void drain_in_background();
  void sync_in_background();  // kEvery

  std::string dir_;
  // The folder's identity when opened: segments are created only while dir_ still
  // names it (a folder moved away under a running writer must not have its new
  // segments land in whatever now has its name).
  uint64_t dir_dev_ = 0, dir_ino_ = 0;
  FsyncSetting fsync_;
  // Locks, always taken in this order. sync_mu_: one fdatasync at a time. io_mu_: held
  // while writing to the segment files or replacing a segment. mu_: the state below.
  std::mutex sync_mu_;
  std::mutex io_mu_;
  mutable std::mutex mu_;
  std::condition_variable drain_cv_;
  std::condition_variable sync_cv_;
  std::unique_ptr<detail::WalRing> ring_;  // null: append() writes to the segment
  uint64_t head_ = 0;                      // ring position after the last record
  uint64_t drained_ = 0;                   // ring position of the first undrained record
  bool drain_wanted_ = false;
  bool syncing_ = false;  // closed_fds_ must stay open
  Segment current_;
  std::vector<int> closed_fds_;  // closed segments not yet synced
  uint64_t last_lsn_;
  uint64_t drained_lsn_;  // in the segment file
  uint64_t durable_lsn_;  // fdatasynced
  bool stop_ = false;
  std::thread drain_thread_;  // with a ring
  std::thread sync_thread_;   // kEvery
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

// A record that a writer acknowledged but had not yet moved from its ring to its segment.
struct WalRingRecord {
  uint64_t lsn;
  std::string payload;
};

// The records in dir's ring that go on after what a scan of the log found (after
// scan.last_lsn, or after the LSN before the newest segment's first): those a killed
// writer acknowledged but had not drained. Empty if there is no ring, or if it was not
// draining into scan.tail_file (another segment's, a stale one, another user's file).
// Never writes.
std::vector<WalRingRecord> read_wal_ring(const std::string& dir, const WalScan& scan);

// Writes records (consecutive LSNs after scan.last_lsn) into scan.tail_file at
// scan.tail_offset, cutting what followed, and fdatasyncs it if sync; updates scan to
// match. Throws Error if the file cannot be written.
void append_wal_tail(WalScan& scan, const std::vector<WalRingRecord>& records, bool sync);

// Removes dir's ring, if it has one: for tools that delete a store folder, after its
// writer is gone (the ring is named after the folder's inode, not kept in it).
void remove_wal_ring(const std::string& dir);

// fdatasyncs every segment of dir. Throws Error naming the file the disk refused.
void sync_wal_segments(const std::string& dir);

// A log opened for appending by open_wal().
struct WalOpened {
  std::unique_ptr<WalWriter> writer;
  uint64_t last_lsn = 0;  // the writer's first record comes after it
  uint64_t replayed = 0;  // records passed to fn
  std::vector<std::string> warnings;
};

// Opens the log of dir (created if missing) to go on after whatever wrote it last, a
// killed process included: calls fn with every record from first_needed_lsn on (a strict
// scan, then the records the dead writer still had in its ring), makes that log whole on
// disk (synced unless fsync is kNever, a torn tail cut, the ring's records appended to
// the segment they were meant for), and starts a writer after the last record, or after
// floor_lsn if that is later (a checkpoint ahead of a log whose tail an OS crash lost).
// The old writer's segment is then marked as going on in the new one. Throws Error
// naming the file and offset for damage other than a torn tail, or what fn throws.
// The store's own opening (EmbeddedStore) follows the same steps with a snapshot between.
WalOpened open_wal(const std::string& dir, uint64_t first_needed_lsn, uint64_t floor_lsn,
                   FsyncSetting fsync, const std::function<void(const WalRecord&)>& fn);

// Deletes segments whose records all have LSN <= lsn (never the newest segment).
void delete_wal_through(const std::string& dir, uint64_t lsn);

}  // namespace rtml::store
