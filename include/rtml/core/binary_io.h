// BinaryWriter and BinaryReader: the versioned, checksummed file format that every
// rtml model file uses: magic, version, payload, then an XXH64 checksum of all that
// precedes it.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "rtml/core/error.h"

namespace rtml {

// Accumulates a payload in memory. Not thread-safe.
class BinaryWriter {
 public:
  template <typename T>
  requires std::is_trivially_copyable_v<T>
  void put(const T& v) {
    const auto* p = reinterpret_cast<const char*>(&v);
    buffer_.append(p, sizeof(T));
  }
  void put_string(std::string_view s);
  template <typename T, typename Allocator>
  requires std::is_trivially_copyable_v<T>
  void put_vector(const std::vector<T, Allocator>& v) {
    put<uint64_t>(v.size());
    const auto* p = reinterpret_cast<const char*>(v.data());
    buffer_.insert(buffer_.end(), p, p + v.size() * sizeof(T));
  }
  const std::string& bytes() const { return buffer_; }

  // Writes magic, version, the payload and the checksum to path: to a temporary file
  // first, fsynced, then renamed, so a crash never leaves a half-written file.
  // Throws Error naming the path on failure.
  void write_file(const std::string& path, std::string_view magic, uint32_t version) const;

 private:
  std::string buffer_;
};

// Reads a payload produced by BinaryWriter. Every read checks bounds and throws
// Error ("truncated ...") rather than reading past the end. Not thread-safe.
class BinaryReader {
 public:
  // Reads and verifies the file at path: its magic, a version in [1, max_version]
  // and its checksum. Throws Error naming the path and what is wrong.
  static BinaryReader open_file(const std::string& path, std::string_view magic,
                                uint32_t max_version);
  explicit BinaryReader(std::string bytes, std::string source = "buffer")
      : bytes_(std::move(bytes)), source_(std::move(source)) {}

  template <typename T>
  requires std::is_trivially_copyable_v<T> T get() {
    T v;
    std::memcpy(&v, take(sizeof(T)), sizeof(T));
    return v;
  }
  std::string get_string();
  template <typename T, typename Allocator = std::allocator<T>>
  requires std::is_trivially_copyable_v<T> std::vector<T, Allocator> get_vector() {
    auto n = get<uint64_t>();
    if (n > (bytes_.size() - pos_) / (sizeof(T) ? sizeof(T) : 1)) fail("vector length");
    std::vector<T, Allocator> v(n);
    if (n) std::memcpy(v.data(), take(n * sizeof(T)), n * sizeof(T));
    return v;
  }
  // The format version of the file read; a reader over a buffer from this process
  // (constructed from bytes) reports kCurrent, so that it reads the newest layout.
  static constexpr uint32_t kCurrent = 0xffffffffu;
  uint32_t version() const { return version_; }
  bool at_end() const { return pos_ == bytes_.size(); }
  size_t remaining() const { return bytes_.size() - pos_; }
  // Fails (naming what) unless n items of at least bytes_each bytes can still follow: a
  // count read from a file must not decide an allocation the file cannot fill.
  void check_count(uint64_t n, size_t bytes_each, std::string_view what) const {
    if (bytes_each && n > remaining() / bytes_each) fail(what);
  }
  const std::string& source() const { return source_; }
  [[noreturn]] void fail(std::string_view what) const;

 private:
  const char* take(size_t n);
  std::string bytes_;
  std::string source_;
  size_t pos_ = 0;
  uint32_t version_ = kCurrent;
};

}  // namespace rtml
