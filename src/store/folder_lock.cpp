#include "rtml/store/folder_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "rtml/core/error.h"

namespace rtml::store {
namespace {

// The lock is on the folder itself, not on a file in it: a file can be removed (by hand,
// or by a script that clears stale lock files) while its owner runs, and the next
// opener would then lock a new file and get in; the folder cannot go while it is open.
int open_folder(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw Error(dir + ": cannot open the store folder: " + std::strerror(errno));
  return fd;
}

// Who holds the lock on the folder fd, for the message: the writer's process id, which it
// leaves in DIR/LOCK, when a writer holds it; else readers.
std::string holder(const std::string& dir, int fd) {
  if (::flock(fd, LOCK_SH | LOCK_NB) == 0) {
    ::flock(fd, LOCK_UN);
    return "a reader (rtml store dump, or another read-only open)";
  }
  std::string pid;
  int f = ::open((dir + "/LOCK").c_str(), O_RDONLY | O_CLOEXEC);
  if (f >= 0) {
    char buf[32] = {};
    ssize_t n = ::read(f, buf, sizeof(buf) - 1);
    ::close(f);
    for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i) pid += buf[i];
  }
  return pid.empty() ? "another process" : "process " + pid;
}

}  // namespace

FolderLock FolderLock::exclusive(const std::string& dir, const std::string& what) {
  int fd = open_folder(dir);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    std::string who = err == EWOULDBLOCK ? holder(dir, fd) : "";
    ::close(fd);
    if (err != EWOULDBLOCK)
      throw Error(dir + ": cannot lock the " + what + ": " + std::strerror(err));
    throw Error(dir + ": the " + what + " is in use by " + who + "; one process owns a " + what +
                " at a time");
  }
  // Only for the message a second opener gets; the lock holds without it.
  std::string pid = std::to_string(::getpid()) + "\n";
  // Not through a link: whatever it points at is not ours to overwrite.
  int f =
      ::open((dir + "/LOCK").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (f >= 0) {
    if (::write(f, pid.data(), pid.size()) < 0) {
      // Said by the second opener as "another process".
    }
    ::close(f);
  }
  return FolderLock(fd);
}

FolderLock FolderLock::shared(const std::string& dir, const std::string& what) {
  int fd = open_folder(dir);
  if (::flock(fd, LOCK_SH | LOCK_NB) != 0) {
    std::string who = holder(dir, fd);
    ::close(fd);
    throw Error(dir + ": the " + what + " is in use by " + who +
                "; read it once that process has stopped");
  }
  return FolderLock(fd);
}

bool FolderLock::still_names(const std::string& dir) const {
  struct stat here, locked;
  return fd_ >= 0 && ::stat(dir.c_str(), &here) == 0 && ::fstat(fd_, &locked) == 0 &&
         here.st_dev == locked.st_dev && here.st_ino == locked.st_ino;
}

FolderLock& FolderLock::operator=(FolderLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

FolderLock::~FolderLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace rtml::store
