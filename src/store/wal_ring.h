// WalRing: where the WAL's writer puts a record before it reaches its segment file.
//
// A file in shared memory (/dev/shm), named after the store folder's device and inode,
// mapped by the writer. Appending copies a record into it: once the copy is done the
// record is the kernel's (tmpfs pages are never written back, so unlike a mapped
// segment file this costs no write-protect fault or TLB shootdown per page), and a
// kill -9 of the process cannot lose it. A drain thread moves the records to the
// segment file in large writes and publishes how far it got in the ring's header. A
// process that opens the folder after a crash appends what the ring holds past the
// segment's last record (read_wal_ring). The ring dies with the machine, like the page
// cache: the fsync policy alone says what outlives an OS crash.
//
// Layout: a 4 KiB header page, then the data area. Records are framed as in a segment
// (wal_format.h) and follow each other around the data area, a record crossing its end
// going on at its start. The header holds two slots, written in turn, each naming the
// segment being drained into (inode, first LSN), the LSN of the first record not yet
// drained and its position in the ring, with a checksum: a writer killed while writing
// one leaves the other.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace rtml::store::detail {

// Where the ring of the store folder dir lives: $RTML_WAL_RING_DIR (default /dev/shm)
// "/rtml-wal-<dev>-<ino>.ring". "" if RTML_WAL_RING_DIR is "off" or dir cannot be
// stat'ed.
std::string wal_ring_file(const std::string& dir);

// The writer's side. Not thread-safe: the WalWriter serializes calls.
class WalRing {
 public:
  // Creates (replacing any old one) and maps the ring of dir, with its memory reserved
  // and populated. Returns null if shared memory cannot be had (RTML_WAL_RING_DIR=off,
  // no /dev/shm, too little room, a file of another user under the name; *why then
  // says which, except for "off"): the writer then writes each record to its segment.
  static std::unique_ptr<WalRing> create(const std::string& dir, std::string* why);
  ~WalRing();

  char* data() const { return data_; }
  size_t size() const { return size_; }
  // Copies n bytes to the ring's logical position pos (any value; pos % size() is where),
  // wrapping around the end.
  void put(uint64_t pos, const void* bytes, size_t n);
  // Records that the records from next_lsn on, starting at ring position pos, are not
  // yet in the segment (inode seg_ino, first LSN seg_first_lsn): everything before is.
  void publish(uint64_t seg_ino, uint64_t seg_first_lsn, uint64_t next_lsn, uint64_t pos);
  // Unmaps and removes the file (after a clean close, when the segment holds it all).
  void remove();

 private:
  WalRing() = default;
  std::string path_;
  char* map_ = nullptr;
  size_t map_bytes_ = 0;
  char* data_ = nullptr;
  size_t size_ = 0;
  uint64_t seq_ = 0;
};

}  // namespace rtml::store::detail
