#include "rtml/stream/byte_source.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "rtml/core/error.h"

namespace rtml {
namespace {

// Plain file descriptor reads, with a small look-ahead so the gzip check can peek.
class FdSource final : public ByteSource {
 public:
  FdSource(std::string name, int fd, bool owns, int stop_fd)
      : ByteSource(std::move(name)), fd_(fd), owns_(owns), stop_fd_(stop_fd) {}
  ~FdSource() override {
    if (owns_) ::close(fd_);
  }
  size_t read(char* buf, size_t n) override {
    size_t done = 0;
    if (pos_ < peeked_.size()) {
      done = std::min(n, peeked_.size() - pos_);
      std::memcpy(buf, peeked_.data() + pos_, done);
      pos_ += done;
      if (done == n) return done;
    }
    for (;;) {
      wait_for_input();
      ssize_t r = ::read(fd_, buf + done, n - done);
      if (r < 0) {
        if (errno == EINTR) continue;
        throw Error(name() + ": read failed: " + std::strerror(errno));
      }
      return done + static_cast<size_t>(r);
    }
  }
  // Reads up to n bytes ahead without consuming them.
  std::string_view peek(size_t n) {
    while (peeked_.size() < n) {
      wait_for_input();
      char tmp[64];
      ssize_t r = ::read(fd_, tmp, std::min(sizeof(tmp), n - peeked_.size()));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) throw Error(name() + ": read failed: " + std::strerror(errno));
      if (r == 0) break;
      peeked_.append(tmp, static_cast<size_t>(r));
    }
    return peeked_;
  }

 private:
  // Returns when fd_ has input (or its end) to read; throws ReadStopped if stop_fd_
  // becomes readable first. Without a stop_fd_, returns at once: read() blocks instead.
  void wait_for_input() {
    if (stop_fd_ < 0) return;
    pollfd p[2] = {{fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    for (;;) {
      int r = ::poll(p, 2, -1);
      if (r < 0 && errno == EINTR) continue;  // the handler has written by now, if it was ours
      if (r < 0) throw Error(name() + ": poll failed: " + std::strerror(errno));
      break;
    }
    if (p[1].revents != 0) throw ReadStopped();
  }

  int fd_;
  bool owns_;
  int stop_fd_;
  std::string peeked_;
  size_t pos_ = 0;
};

// Streaming gzip decompression over another source.
class GzipSource final : public ByteSource {
 public:
  explicit GzipSource(std::unique_ptr<FdSource> in)
      : ByteSource(in->name()), in_(std::move(in)), inbuf_(1 << 18) {
    std::memset(&zs_, 0, sizeof(zs_));
    if (inflateInit2(&zs_, 15 + 32) != Z_OK) throw Error(name() + ": cannot start gzip decoder");
  }
  ~GzipSource() override { inflateEnd(&zs_); }

  size_t read(char* buf, size_t n) override {
    if (done_) return 0;
    zs_.next_out = reinterpret_cast<Bytef*>(buf);
    zs_.avail_out = static_cast<uInt>(n);
    while (zs_.avail_out > 0) {
      if (zs_.avail_in == 0) {
        size_t got = in_->read(inbuf_.data(), inbuf_.size());
        if (got == 0) {
          if (!member_ended_) {
            throw Error(name() + ": corrupt gzip stream: unexpected end of file (truncated)");
          }
          done_ = true;
          break;
        }
        zs_.next_in = reinterpret_cast<Bytef*>(inbuf_.data());
        zs_.avail_in = static_cast<uInt>(got);
      }
      member_ended_ = false;
      int rc = inflate(&zs_, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        // Another gzip member may follow (as `cat a.gz b.gz` makes).
        member_ended_ = true;
        inflateReset(&zs_);
        continue;
      }
      if (rc == Z_BUF_ERROR && zs_.avail_in == 0) continue;
      if (rc != Z_OK) {
        throw Error(name() + ": corrupt gzip stream: " + (zs_.msg ? zs_.msg : zError(rc)));
      }
    }
    return n - zs_.avail_out;
  }

 private:
  std::unique_ptr<FdSource> in_;
  std::vector<char> inbuf_;
  z_stream zs_;
  bool member_ended_ = false;
  bool done_ = false;
};

class MemorySource final : public ByteSource {
 public:
  MemorySource(std::string name, std::string_view bytes)
      : ByteSource(std::move(name)), bytes_(bytes) {}
  size_t read(char* buf, size_t n) override {
    n = std::min(n, bytes_.size() - pos_);
    std::memcpy(buf, bytes_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

}  // namespace

std::unique_ptr<ByteSource> ByteSource::from_memory(std::string name, std::string_view bytes) {
  return std::make_unique<MemorySource>(std::move(name), bytes);
}

bool ByteSource::stop_requested(int stop_fd) {
  if (stop_fd < 0) return false;
  pollfd p{stop_fd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

std::unique_ptr<ByteSource> ByteSource::open(const std::string& path, int stop_fd) {
  std::unique_ptr<FdSource> src;
  if (path == "-") {
    src = std::make_unique<FdSource>("<stdin>", 0, false, stop_fd);
  } else {
    // Opening a FIFO waits for a writer; a signal handler installed without SA_RESTART
    // interrupts that wait (EINTR), which is when a requested stop shows.
    int fd;
    while ((fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC)) < 0 && errno == EINTR) {
      if (stop_requested(stop_fd)) throw ReadStopped();
    }
    if (fd < 0) throw Error(path + ": cannot open: " + std::strerror(errno));
    src = std::make_unique<FdSource>(path, fd, true, stop_fd);
  }
  auto head = src->peek(2);
  if (head.size() == 2 && static_cast<unsigned char>(head[0]) == 0x1f &&
      static_cast<unsigned char>(head[1]) == 0x8b) {
    return std::make_unique<GzipSource>(std::move(src));
  }
  return src;
}

}  // namespace rtml
