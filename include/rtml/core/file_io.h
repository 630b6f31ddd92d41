// Small, careful file operations shared by every file rtml writes.
#pragma once

#include <string>
#include <string_view>

namespace rtml {

// The whole content of the file at path. Throws Error naming path if it cannot be read.
std::string read_file(const std::string& path);
// Writes all n bytes to fd, retrying short writes and EINTR. Throws Error naming `what`.
void write_all(int fd, const char* p, size_t n, const std::string& what);
// fsyncs a folder, so that a file created or renamed in it survives a crash.
void fsync_dir(const std::string& dir);
// Writes bytes to path so that a crash leaves either the old file or the new one, never
// a mix: a temporary file beside it, fsync, rename, fsync of the folder. Throws Error
// naming the path.
void write_file_atomically(const std::string& path, std::string_view bytes);
// Throws Error naming path, now, if write_file_atomically(path, ...) could not write
// there: a folder that is missing or not writable, or path itself a folder. Creates and
// removes the temporary file the write would use. For a command that runs for a long time
// before it saves: it should fail before the run, not after it. Thread-safe.
void check_writable(const std::string& path);

}  // namespace rtml
