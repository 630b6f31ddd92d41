// StoreLock: one process owns a store folder; readers never write to it.
#pragma once

#include <string>

namespace rtml::store::detail {

// A lock on DIR/LOCK (flock), held until destruction; the OS drops it when the process
// dies, so a killed owner never leaves a stale lock. Move-only. Not thread-safe.
class StoreLock {
 public:
  // For a writer: creates DIR/LOCK if needed, locks it exclusively and writes this
  // process's id into it. Throws Error at once, naming the folder and the process id of
  // the owner, if another process (or another open store in this one) holds it.
  static StoreLock exclusive(const std::string& dir);
  // For a reader: locks DIR/LOCK shared if the file exists, without creating or writing
  // anything. Throws Error if a writer holds it.
  static StoreLock shared(const std::string& dir);

  StoreLock() = default;
  StoreLock(StoreLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  StoreLock& operator=(StoreLock&& other) noexcept;
  ~StoreLock();

 private:
  explicit StoreLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace rtml::store::detail
