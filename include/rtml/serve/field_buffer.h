// FieldBuffer: the named fields of an event, owned, in one string.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "rtml/core/row.h"
#include "rtml/core/short_text.h"

namespace rtml::serve {

// Owns an event's fields (a request's features) so that they can cross threads and go to
// a log: names and values packed into one string, read back as EventField views.
// Layout per field: u32 name length, name, u8 kind (ValueKind), then a double for a
// number or u32 length and bytes for a text. Not thread-safe.
class FieldBuffer {
 public:
  void clear() {
    used_ = 0;
    count_ = 0;
  }
  // Room for n more bytes, with half as much again to spare when it must grow. Adding
  // what was reserved writes in place (a call per field, not one per part of it).
  void reserve(size_t n) {
    if (bytes_.size() - used_ < n) bytes_.resize(used_ + n + n / 2);
  }
  void add_number(std::string_view name, double number) {
    reserve(bytes_for_name(name) + sizeof(double));
    char* at = put_name(name, ValueKind::kNumber);
    std::memcpy(at, &number, sizeof number);
    used_ += bytes_for_name(name) + sizeof(double);
  }
  void add_text(std::string_view name, std::string_view text) {
    const size_t n = bytes_for_name(name) + sizeof(uint32_t) + text.size();
    reserve(n);
    char* at = put_name(name, ValueKind::kText);
    const auto length = static_cast<uint32_t>(text.size());
    std::memcpy(at, &length, sizeof length);
    if (!text.empty()) std::memcpy(at + sizeof length, text.data(), text.size());
    used_ += n;
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
    views(out, 0, used_);
  }
  // Appends to out views of the fields packed in bytes()[from, to) (whole fields: a
  // range that ends where one does), valid while this buffer lives unchanged.
  void views(std::vector<EventField>& out, size_t from, size_t to) const {
    size_t at = from;
    while (at < to) {
      EventField& f = out.emplace_back();
      uint32_t n = get<uint32_t>(at);
      f.name = std::string_view(bytes_.data() + at, n);
      at += n;
      f.value.kind = static_cast<ValueKind>(bytes_[at++]);
      if (f.value.kind == ValueKind::kNumber) {
        f.value.number = get<double>(at);
        f.value.text = {};
      } else {
        uint32_t t = get<uint32_t>(at);
        f.value.number = 0;
        f.value.text = std::string_view(bytes_.data() + at, t);
        at += t;
      }
    }
  }

  // The packed form, for a log; from_bytes() reads it back. Returns false (leaving the
  // buffer empty) if bytes is not a valid packing.
  std::string_view bytes() const { return std::string_view(bytes_.data(), used_); }
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
    reserve(bytes.size());
    if (!bytes.empty()) std::memcpy(bytes_.data(), bytes.data(), bytes.size());
    used_ = bytes.size();
    count_ = count;
    return true;
  }

 private:
  static size_t bytes_for_name(std::string_view name) { return sizeof(uint32_t) + name.size() + 1; }
  bool fail() {
    clear();
    return false;
  }
  // Writes a field's name and kind at the end (room reserved); returns where its value
  // goes. The caller adds the field's bytes to used_.
  char* put_name(std::string_view name, ValueKind kind) {
    char* at = bytes_.data() + used_;
    const auto length = static_cast<uint32_t>(name.size());
    std::memcpy(at, &length, sizeof length);
    at += sizeof length;
    copy_text(at, name.data(), name.size());
    at += name.size();
    *at++ = static_cast<char>(kind);
    ++count_;
    return at;
  }
  template <class T>
  T get(size_t& at) const {
    T v;
    std::memcpy(&v, bytes_.data() + at, sizeof v);
    at += sizeof v;
    return v;
  }

  // [0, used_) hold the fields; the rest is room (sized once, so that adding does not
  // check and grow a string part by part).
  std::string bytes_;
  size_t used_ = 0;
  size_t count_ = 0;
};

}  // namespace rtml::serve
