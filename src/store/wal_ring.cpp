#include "wal_ring.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "rtml/core/error.h"
#include "rtml/store/wal.h"
#include "wal_format.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14
#endif

namespace rtml::store {
namespace detail {
namespace {

constexpr char kRingMagic[8] = {'R', 'T', 'M', 'L', 'R', 'I', 'N', 'G'};
constexpr uint32_t kRingVersion = 1;
constexpr size_t kHeaderBytes = 4096;
// Room for 8 MiB of records not yet drained: at a million 60-byte records a second,
// 140 ms of a drain thread that could not run.
constexpr size_t kRingBytes = 8u << 20;

struct Slot {
  uint64_t seq;  // which of the two slots is newer
  uint64_t seg_ino;
  uint64_t seg_first_lsn;
  uint64_t next_lsn;  // the first record not yet in the segment
  uint64_t pos;       // its position in the ring
  uint64_t check;     // XXH64 of the fields above
};

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t reserved;
  uint64_t data_bytes;
  Slot slots[2];
};
static_assert(sizeof(Header) <= kHeaderBytes);

uint64_t slot_check(const Slot& s) { return XXH64(&s, offsetof(Slot, check), 0x72696e67); }

bool owned_regular_file(int fd, struct stat& st) {
  return ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == ::geteuid() &&
         (st.st_mode & 022) == 0;
}

}  // namespace

std::string wal_ring_file(const std::string& dir) {
  const char* env = std::getenv("RTML_WAL_RING_DIR");
  std::string where = env && *env ? env : "/dev/shm";
  if (where == "off") return "";
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return "";
  char name[80];
  std::snprintf(name, sizeof(name), "/rtml-wal-%llx-%llx.ring",
                static_cast<unsigned long long>(st.st_dev),
                static_cast<unsigned long long>(st.st_ino));
  return where + name;
}

std::unique_ptr<WalRing> WalRing::create(const std::string& dir, std::string* why) {
  std::string path = wal_ring_file(dir);
  if (path.empty()) return nullptr;
  auto fail = [&](const std::string& reason) -> std::unique_ptr<WalRing> {
    if (why) *why = path + ": " + reason;
    return nullptr;
  };
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return fail(std::strerror(errno));
  struct stat st;
  if (!owned_regular_file(fd, st)) {
    ::close(fd);
    return fail("not a file of this user's that only it may write");
  }
  const size_t total = kHeaderBytes + kRingBytes;
  // Zeros first (an old ring's records were read by whoever opened the folder before
  // this writer), then memory for all of it: a full tmpfs is seen here, not as a SIGBUS.
  int rc = ::ftruncate(fd, 0) == 0 && ::ftruncate(fd, static_cast<off_t>(total)) == 0
               ? ::posix_fallocate(fd, 0, static_cast<off_t>(total))
               : errno;
  void* map =
      rc == 0 ? ::mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
  if (rc == 0 && map == MAP_FAILED) rc = errno;
  ::close(fd);
  if (map == MAP_FAILED) {
    ::unlink(path.c_str());
    return fail(std::strerror(rc));
  }
  std::unique_ptr<WalRing> ring(new WalRing());
  ring->path_ = std::move(path);
  ring->map_ = static_cast<char*>(map);
  ring->map_bytes_ = total;
  ring->data_ = ring->map_ + kHeaderBytes;
  ring->size_ = kRingBytes;
  // Page tables filled now, not by a fault on the first append to each page.
  if (::madvise(map, total, MADV_POPULATE_WRITE) != 0) {
    for (size_t at = 0; at < total; at += 4096) ring->map_[at] = 0;
  }
  Header h{};
  std::memcpy(h.magic, kRingMagic, 8);
  h.version = kRingVersion;
  h.data_bytes = kRingBytes;
  std::memcpy(ring->map_, &h, sizeof(h));
  return ring;
}

WalRing::~WalRing() {
  if (map_) ::munmap(map_, map_bytes_);
}

void WalRing::put(uint64_t pos, const void* bytes, size_t n) {
  size_t at = static_cast<size_t>(pos % size_);
  size_t first = std::min(n, size_ - at);
  std::memcpy(data_ + at, bytes, first);
  if (n > first) std::memcpy(data_, static_cast<const char*>(bytes) + first, n - first);
}

void WalRing::publish(uint64_t seg_ino, uint64_t seg_first_lsn, uint64_t next_lsn, uint64_t pos) {
  Slot s{++seq_, seg_ino, seg_first_lsn, next_lsn, pos, 0};
  s.check = slot_check(s);
  std::memcpy(map_ + offsetof(Header, slots) + (seq_ & 1) * sizeof(Slot), &s, sizeof(s));
}

void WalRing::remove() {
  if (map_) ::munmap(map_, map_bytes_);
  map_ = nullptr;
  ::unlink(path_.c_str());
}

}  // namespace detail

using namespace detail;

std::vector<WalRingRecord> read_wal_ring(const std::string& dir, const WalScan& scan) {
  std::vector<WalRingRecord> out;
  if (scan.tail_file.empty() || scan.tail_offset < kWalHeader) return out;
  std::string path = wal_ring_file(dir);
  if (path.empty()) return out;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return out;
  struct stat st;
  Header h;
  std::string data;
  bool ok = owned_regular_file(fd, st) && static_cast<size_t>(st.st_size) > kHeaderBytes &&
            ::pread(fd, &h, sizeof(h), 0) == static_cast<ssize_t>(sizeof(h)) &&
            std::memcmp(h.magic, kRingMagic, 8) == 0 && h.version == kRingVersion &&
            h.data_bytes == static_cast<uint64_t>(st.st_size) - kHeaderBytes;
  if (ok) {
    data.resize(h.data_bytes);
    ok = ::pread(fd, data.data(), data.size(), kHeaderBytes) == static_cast<ssize_t>(data.size());
  }
  ::close(fd);
  if (!ok) return out;

  const Slot* slot = nullptr;
  for (const Slot& s : h.slots) {
    if (s.check == slot_check(s) && s.seq != 0 && (!slot || s.seq > slot->seq)) slot = &s;
  }
  if (!slot) return out;
  // The ring must have been draining into the newest segment, this very file.
  struct stat seg;
  char header[kWalHeader];
  uint64_t seg_first = 0;
  int sfd = ::open(scan.tail_file.c_str(), O_RDONLY | O_CLOEXEC);
  if (sfd < 0) return out;
  ok = ::fstat(sfd, &seg) == 0 && ::pread(sfd, header, kWalHeader, 0) == kWalHeader &&
       std::memcmp(header, kWalMagic, 8) == 0;
  ::close(sfd);
  if (ok) std::memcpy(&seg_first, header + 12, 8);
  if (!ok || seg.st_ino != slot->seg_ino || seg_first != slot->seg_first_lsn) return out;

  // What the segment holds; the ring must go on from there without a gap.
  const uint64_t base = std::max(scan.last_lsn, seg_first - 1);
  if (slot->next_lsn > base + 1) return out;
  const size_t n = data.size();
  // The ring read from the slot's position on, as one run of bytes.
  size_t at = static_cast<size_t>(slot->pos % n);
  std::rotate(data.begin(), data.begin() + static_cast<ptrdiff_t>(at), data.end());
  uint64_t expect = slot->next_lsn;
  for (size_t off = 0; off + kWalFrame <= n;) {
    uint32_t len, sum;
    uint64_t lsn;
    std::memcpy(&len, data.data() + off, 4);
    std::memcpy(&sum, data.data() + off + 4, 4);
    std::memcpy(&lsn, data.data() + off + 8, 8);
    if (len >= kWalEndMarker || len > n - off - kWalFrame || lsn != expect) break;
    std::string_view payload(data.data() + off + kWalFrame, len);
    if (sum != wal_checksum(lsn, payload)) break;
    if (lsn > base) out.push_back({lsn, std::string(payload)});
    ++expect;
    off += kWalFrame + len;
  }
  return out;
}

void remove_wal_ring(const std::string& dir) {
  std::string path = wal_ring_file(dir);
  if (!path.empty()) ::unlink(path.c_str());
}

}  // namespace rtml::store
