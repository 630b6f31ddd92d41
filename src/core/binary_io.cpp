#include "rtml/core/binary_io.h"

#include <fcntl.h>
#include <unistd.h>
#include <xxhash.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "rtml/core/file_io.h"
#include "rtml/core/hash.h"

namespace rtml {

void BinaryWriter::put_string(std::string_view s) {
  put<uint64_t>(s.size());
  buffer_.append(s);
}

void BinaryWriter::write_file(const std::string& path, std::string_view magic,
                              uint32_t version) const {
  std::string header(magic);
  header.append(reinterpret_cast<const char*>(&version), sizeof(version));
  XXH64_state_t* st = XXH64_createState();
  XXH64_reset(st, 0);
  XXH64_update(st, header.data(), header.size());
  XXH64_update(st, buffer_.data(), buffer_.size());
  uint64_t sum = XXH64_digest(st);
  XXH64_freeState(st);

  std::string file = header;
  file += buffer_;
  file.append(reinterpret_cast<const char*>(&sum), sizeof(sum));
  write_file_atomically(path, file);
}

BinaryReader BinaryReader::open_file(const std::string& path, std::string_view magic,
                                     uint32_t max_version) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot open: " + std::strerror(errno));
  std::ostringstream ss;
  ss << f.rdbuf();
  std::string bytes = ss.str();
  size_t header = magic.size() + sizeof(uint32_t);
  if (bytes.size() < header + sizeof(uint64_t)) {
    throw Error(path + ": not an rtml file (truncated: " + std::to_string(bytes.size()) +
                " bytes)");
  }
  if (std::string_view(bytes).substr(0, magic.size()) != magic) {
    throw Error(path + ": not an rtml file of this kind (expected magic '" + std::string(magic) +
                "')");
  }
  uint32_t version;
  std::memcpy(&version, bytes.data() + magic.size(), sizeof(version));
  if (version == 0 || version > max_version) {
    throw Error(path + ": unsupported format version " + std::to_string(version) +
                " (this build reads 1 to " + std::to_string(max_version) + ")");
  }
  uint64_t stored;
  std::memcpy(&stored, bytes.data() + bytes.size() - sizeof(stored), sizeof(stored));
  uint64_t actual = XXH64(bytes.data(), bytes.size() - sizeof(stored), 0);
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
  if (stored != actual) {
    throw Error(path + ": checksum mismatch: the file is corrupt or truncated");
  }
#endif
  BinaryReader r(bytes.substr(header, bytes.size() - header - sizeof(stored)), path);
  r.version_ = version;
  return r;
}

std::string BinaryReader::get_string() {
  auto n = get<uint64_t>();
  if (n > bytes_.size() - pos_) fail("string length");
  return std::string(take(n), n);
}

const char* BinaryReader::take(size_t n) {
  if (n > bytes_.size() - pos_) fail("read past the end");
  const char* p = bytes_.data() + pos_;
  pos_ += n;
  return p;
}

void BinaryReader::fail(std::string_view what) const {
  throw Error(source_ + ": malformed content at byte " + std::to_string(pos_) + " (" +
              std::string(what) + ")");
}

}  // namespace rtml
