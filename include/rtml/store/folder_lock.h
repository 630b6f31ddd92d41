// FolderLock: one process owns a folder (a store's, a server's); readers never write to it.
#pragma once

#include <string>

namespace rtml::store {

// A lock (flock) on the store folder itself, held until destruction; the OS drops it
// when the process dies, so a killed owner never leaves a stale lock. DIR/LOCK only
// tells a second opener which process holds the folder. Move-only. Not thread-safe.
class FolderLock {
 public:
  // For a writer: locks the folder exclusively and writes this process's id into
  // DIR/LOCK. Throws Error at once, naming the folder, what it is (`what`: "store",
  // "server folder") and the process id of the owner, if another process (or another
  // owner in this one) holds it.
  static FolderLock exclusive(const std::string& dir, const std::string& what = "store");
  // For a reader: locks the folder shared, creating and writing nothing. Throws Error if
  // a writer holds it.
  static FolderLock shared(const std::string& dir, const std::string& what = "store");

  // True if dir still names the locked folder (not moved away, not replaced).
  bool still_names(const std::string& dir) const;

  FolderLock() = default;
  FolderLock(FolderLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FolderLock& operator=(FolderLock&& other) noexcept;
  ~FolderLock();

 private:
  explicit FolderLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace rtml::store
