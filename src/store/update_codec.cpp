#include "update_codec.h"

#include <cstring>

#include "rtml/core/error.h"

namespace rtml::store::detail {
namespace {

template <typename T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof(T));
}
void put_bytes(std::string& out, std::string_view s) {
  put<uint32_t>(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

struct Cursor {
  std::string_view b;
  size_t pos = 0;
  template <typename T>
  T get() {
    if (b.size() - pos < sizeof(T)) throw Error("WAL record: truncated");
    T v;
    std::memcpy(&v, b.data() + pos, sizeof(T));
    pos += sizeof(T);
    return v;
  }
  std::string_view bytes() {
    auto n = get<uint32_t>();
    if (b.size() - pos < n) throw Error("WAL record: truncated");
    std::string_view s = b.substr(pos, n);
    pos += n;
    return s;
  }
};

}  // namespace

void encode_update(const Update& u, uint32_t time, std::string& out) {
  out.clear();
  put<uint32_t>(out, time);
  put<uint8_t>(out, u.key.is_int());
  put_bytes(out, u.key.bytes());
  put<uint32_t>(out, static_cast<uint32_t>(u.set.size()));
  for (const auto& [name, v] : u.set) {
    put_bytes(out, name);
    put<uint8_t>(out, static_cast<uint8_t>(v.type));
    if (v.type == FeatureType::kNumber) {
      put<double>(out, v.number);
    } else if (v.type == FeatureType::kCategory) {
      put_bytes(out, v.text);
    } else {
      put_bytes(out, std::string_view(reinterpret_cast<const char*>(v.vector.data()),
                                      v.vector.size() * sizeof(float)));
    }
  }
  put<uint32_t>(out, static_cast<uint32_t>(u.del.size()));
  for (const auto& name : u.del) put_bytes(out, name);
}

Update decode_update(std::string_view bytes, uint32_t& time) {
  Cursor c{bytes};
  Update u;
  time = c.get<uint32_t>();
  bool is_int = c.get<uint8_t>();
  auto key = c.bytes();
  if (is_int) {
    if (key.size() != 8)
      throw Error("WAL record: integer key of " + std::to_string(key.size()) + " bytes");
    uint64_t id;
    std::memcpy(&id, key.data(), 8);
    u.key = EntityKey(id);
  } else {
    u.key = EntityKey(std::string(key));
  }
  auto n = c.get<uint32_t>();
  for (uint32_t i = 0; i < n; ++i) {
    std::string name(c.bytes());
    auto type = c.get<uint8_t>();
    FeatureValue v;
    if (type == 0) {
      v = FeatureValue::of_number(c.get<double>());
    } else if (type == 1) {
      v = FeatureValue::of_category(std::string(c.bytes()));
    } else if (type == 2) {
      auto raw = c.bytes();
      std::vector<float> f(raw.size() / sizeof(float));
      std::memcpy(f.data(), raw.data(), f.size() * sizeof(float));
      v = FeatureValue::of_vector(std::move(f));
    } else {
      throw Error("WAL record: unknown feature type " + std::to_string(type));
    }
    u.set.emplace_back(std::move(name), std::move(v));
  }
  auto d = c.get<uint32_t>();
  for (uint32_t i = 0; i < d; ++i) u.del.emplace_back(c.bytes());
  if (c.pos != bytes.size()) throw Error("WAL record: trailing bytes");
  u.time = time;
  return u;
}

}  // namespace rtml::store::detail
