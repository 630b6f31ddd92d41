// ByteSource: the bytes of a file, a gzip file or standard input, read in chunks.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace rtml {

// A forward-only stream of bytes. Gzip input is recognised by its magic bytes, not
// its name, and decompressed as it is read (concatenated gzip members included), so
// memory stays constant whatever the size of the input. Not thread-safe.
class ByteSource {
 public:
  virtual ~ByteSource() = default;

  // Opens path ("-" is standard input). Throws Error naming the path if it is
  // missing or unreadable.
  static std::unique_ptr<ByteSource> open(const std::string& path);
  // Reads bytes held in memory (not copied: they must outlive the source). Not
  // decompressed.
  static std::unique_ptr<ByteSource> from_memory(std::string name, std::string_view bytes);

  // Reads up to n bytes into buf and returns how many were read; 0 means the end.
  // Throws Error naming the source on a read error or a corrupt or truncated gzip
  // stream.
  virtual size_t read(char* buf, size_t n) = 0;

  const std::string& name() const { return name_; }

 protected:
  explicit ByteSource(std::string name) : name_(std::move(name)) {}

 private:
  std::string name_;
};

}  // namespace rtml
