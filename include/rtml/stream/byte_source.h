// ByteSource: the bytes of a file, a gzip file or standard input, read in chunks.
#pragma once

#include <cstddef>
#include <exception>
#include <memory>
#include <string>
#include <string_view>

namespace rtml {

// Thrown by a read that was stopped on request (see ByteSource::open's stop_fd): not a
// failure of the input, so not an Error. Whatever was read before it is good.
class ReadStopped : public std::exception {
 public:
  const char* what() const noexcept override { return "read stopped on request"; }
};

// A forward-only stream of bytes. Gzip input is recognised by its magic bytes, not
// its name, and decompressed as it is read (concatenated gzip members included), so
// memory stays constant whatever the size of the input. Not thread-safe.
class ByteSource {
 public:
  virtual ~ByteSource() = default;

  // Opens path ("-" is standard input). Throws Error naming the path if it is
  // missing or unreadable. With stop_fd >= 0, every wait for input (opening a FIFO,
  // reading a pipe that has nothing yet, or any read) also watches stop_fd: once it is
  // readable (a signal handler wrote to it), the open or read throws ReadStopped, and so
  // does every later read. stop_fd must outlive the source.
  static std::unique_ptr<ByteSource> open(const std::string& path, int stop_fd = -1);
  // Reads bytes held in memory (not copied: they must outlive the source). Not
  // decompressed.
  static std::unique_ptr<ByteSource> from_memory(std::string name, std::string_view bytes);

  // Reads up to n bytes into buf and returns how many were read; 0 means the end.
  // Throws Error naming the source on a read error or a corrupt or truncated gzip
  // stream, ReadStopped when stopped (see open()).
  virtual size_t read(char* buf, size_t n) = 0;

  const std::string& name() const { return name_; }

  // True once stop_fd (if >= 0) is readable: a stop was requested. Never waits. For
  // sources of other kinds (stream consumers) that honour the same stop_fd.
  static bool stop_requested(int stop_fd);

 protected:
  explicit ByteSource(std::string name) : name_(std::move(name)) {}

 private:
  std::string name_;
};

}  // namespace rtml
