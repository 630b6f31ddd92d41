#include "store_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "rtml/core/error.h"

namespace rtml::store::detail {
namespace {

// Who holds the lock on fd, for the message: the writer's process id from the file when
// a writer holds it, else readers.
std::string holder(int fd) {
  if (::flock(fd, LOCK_SH | LOCK_NB) == 0) {
    ::flock(fd, LOCK_UN);
    return "a reader (rtml store dump, or a read-only open)";
  }
  char buf[32] = {};
  ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
  std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid.empty() ? "another process" : "process " + pid;
}

}  // namespace

StoreLock StoreLock::exclusive(const std::string& dir) {
  std::string path = dir + "/LOCK";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(path + ": cannot open the store's lock file: " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    std::string who = err == EWOULDBLOCK ? holder(fd) : "";
    ::close(fd);
    if (err != EWOULDBLOCK) throw Error(path + ": cannot lock: " + std::strerror(err));
    throw Error(dir + ": the store is in use by " + who + " (it holds " + path +
                "); one process owns a store folder at a time");
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // The lock holds without the id; only the message of a second opener suffers.
  }
  return StoreLock(fd);
}

StoreLock StoreLock::shared(const std::string& dir) {
  std::string path = dir + "/LOCK";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return StoreLock();  // no writer has ever opened it (or a copy of a store)
  if (::flock(fd, LOCK_SH | LOCK_NB) != 0) {
    std::string who = holder(fd);
    ::close(fd);
    throw Error(dir + ": the store is in use by " + who + " (it holds " + path +
                "); read it once that process has stopped");
  }
  return StoreLock(fd);
}

StoreLock& StoreLock::operator=(StoreLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

StoreLock::~StoreLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace rtml::store::detail
