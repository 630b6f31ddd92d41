// The write-ahead log of the feature store: numbered records in segment files, each
// framed with its length and checksum, made durable under an fsync policy.
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
// append() copies a record into a buffer and numbers it (LSNs increase by one); the
// bytes reach the file and the disk by the policy: kAlways when the appender calls
// wait_durable() (concurrent appenders share one fsync: group commit), kEvery from a
// background thread every interval, kNever from the same thread without fsync.
//
// Thread-safe.
class WalWriter {
 public:
  // Starts a new segment after last_lsn in dir.
  WalWriter(std::string dir, FsyncSetting fsync, uint64_t last_lsn);
  ~WalWriter();

  // Numbers and buffers one record; returns its LSN.
  uint64_t append(std::string_view payload);
  // Blocks until the record lsn is on disk (writes and fsyncs if needed).
  void wait_durable(uint64_t lsn);
  // Writes and fsyncs everything appended so far.
  void flush();
  // Starts a new segment; returns the last LSN of the closed one(s).
  uint64_t rotate();
  uint64_t last_lsn() const;
  const FsyncSetting& fsync() const { return fsync_; }

 private:
  void open_segment(uint64_t first_lsn);
  // Moves the buffer to the file (and fsyncs if sync). Called with mu_ held; releases it
  // while doing I/O.
  void write_out(std::unique_lock<std::mutex>& lock, bool sync);
  void background();

  std::string dir_;
  FsyncSetting fsync_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string buffer_;
  uint64_t last_lsn_;
  uint64_t written_lsn_;  // in the file
  uint64_t durable_lsn_;  // fsynced
  bool io_busy_ = false;
  int fd_ = -1;
  bool stop_ = false;
  std::thread thread_;
};

// One record read back.
struct WalRecord {
  uint64_t lsn;
  std::string_view payload;
};

// Reads the segments of a folder in order. A record whose frame or checksum is bad at
// the end of the newest segment is a torn tail: the segment is truncated there and
// on_torn_tail says so. A bad record anywhere else is an Error.
struct WalReplay {
  uint64_t records = 0;
  uint64_t last_lsn = 0;
  uint64_t torn_bytes = 0;  // dropped from the tail
  std::string torn_file;
};
WalReplay replay_wal(const std::string& dir, const std::function<void(const WalRecord&)>& fn);

// Deletes segments whose records all have LSN <= lsn (never the newest segment).
void delete_wal_through(const std::string& dir, uint64_t lsn);

}  // namespace rtml::store
