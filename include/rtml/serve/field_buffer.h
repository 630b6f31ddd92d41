// FieldBuffer: the named fields of an event, owned, in one string.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rtml/core/row.h"

namespace rtml::serve {

// Owns an event's fields (a request's features) so that they can cross threads and go to
// a log: names and values packed into one string, read back as EventField views.
// Layout per field: u32 name length, name, u8 kind (ValueKind), then a double for a
// number or u32 length and bytes for a text. Not thread-safe.
class FieldBuffer {
 public:
  void clear() {
    bytes_.clear();
    count_ = 0;
  }
  // The bytes fields would take (reserve() them before adding: a buffer used again then
  // grows at most once for events of about one size).
  static size_t bytes_for(std::span<const EventField> fields) {
    size_t n = 0;
    for (const EventField& f : fields) {
      n += sizeof(uint32_t) + f.name.size() + 1 +
           (f.value.kind == ValueKind::kText ? sizeof(uint32_t) + f.value.text.size()
                                             : sizeof(double));
    }
    return n;
  }
  // Room for n bytes, with half as much again to spare when it must grow.
  void reserve(size_t n) {
    if (bytes_.capacity() < n) bytes_.reserve(n + n / 2);
  }
  void add_number(std::string_view name, double number) {
    put_name(name, ValueKind::kNumber);
    put(number);
  }
  void add_text(std::string_view name, std::string_view text) {
    put_name(name, ValueKind::kText);
    put(static_cast<uint32_t>(text.size()));
    bytes_.append(text);
  }
  void add(const EventField& f) {
    if (f.value.kind == ValueKind::kNumber) {
      add_number(f.name, f.value.number);
    } else if (f.value.kind == ValueKind::kText) {
      add_text(f.name, f.value.text);
    }
  }
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }

  // Writes views of the fields into out (cleared first), valid while this buffer lives
  // unchanged.
  void views(std::vector<EventField>& out) const {
    out.clear();
    size_t at = 0;
    while (at < bytes_.size()) {
      EventField f;
      uint32_t n = get<uint32_t>(at);
      f.name = std::string_view(bytes_).substr(at, n);
      at += n;
      f.value.kind = static_cast<ValueKind>(bytes_[at++]);
      if (f.value.kind == ValueKind::kNumber) {
        f.value.number = get<double>(at);
      } else {
        uint32_t t = get<uint32_t>(at);
        f.value.text = std::string_view(bytes_).substr(at, t);
        at += t;
      }
      out.push_back(f);
    }
  }

  // The packed form, for a log; from_bytes() reads it back. Returns false (leaving the
  // buffer empty) if bytes is not a valid packing.
  const std::string& bytes() const { return bytes_; }
  bool from_bytes(std::string_view bytes) {
    clear();
    size_t at = 0, count = 0;
    auto need = [&](size_t n) { return bytes.size() - at >= n; };
    while (at < bytes.size()) {
      uint32_t n;
      if (!need(4)) return fail();
      std::memcpy(&n, bytes.data() + at, 4);
      at += 4;
      if (!need(size_t{n} + 1)) return fail();
      at += n;
      auto kind = static_cast<ValueKind>(bytes[at++]);
      if (kind == ValueKind::kNumber) {
        if (!need(8)) return fail();
        at += 8;
      } else if (kind == ValueKind::kText) {
        uint32_t t;
        if (!need(4)) return fail();
        std::memcpy(&t, bytes.data() + at, 4);
        at += 4;
        if (!need(t)) return fail();
        at += t;
      } else {
        return fail();
      }
      ++count;
    }
    bytes_.assign(bytes);
    count_ = count;
    return true;
  }

 private:
  bool fail() {
    clear();
    return false;
  }
  template <class T>
  void put(T v) {
    bytes_.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  void put_name(std::string_view name, ValueKind kind) {
    put(static_cast<uint32_t>(name.size()));
    bytes_.append(name);
    bytes_ += static_cast<char>(kind);
    ++count_;
  }
  template <class T>
  T get(size_t& at) const {
    T v;
    std::memcpy(&v, bytes_.data() + at, sizeof v);
    at += sizeof v;
    return v;
  }

  std::string bytes_;
  size_t count_ = 0;
};

}  // namespace rtml::serve
