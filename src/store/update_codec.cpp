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

RecordKind record_kind(std::string_view bytes) {
  if (bytes.empty() || static_cast<uint8_t>(bytes[0]) > 1) throw Error("WAL record: unknown kind");
  return static_cast<RecordKind>(bytes[0]);
}

namespace {

void put_key(std::string& out, const EntityKey& key) {
  put<uint8_t>(out, key.is_int());
  put_bytes(out, key.bytes());
}

EntityKey get_key(Cursor& c) {
  bool is_int = c.get<uint8_t>();
  auto key = c.bytes();
  if (!is_int) return EntityKey(std::string(key));
  if (key.size() != 8)
    throw Error("WAL record: integer key of " + std::to_string(key.size()) + " bytes");
  uint64_t id;
  std::memcpy(&id, key.data(), 8);
  return EntityKey(id);
}

}  // namespace

void encode_event(const EntityKey& key, double time, std::span<const EventField> fields,
                  std::string_view id, std::string& out) {
  out.clear();
  put<uint8_t>(out, static_cast<uint8_t>(RecordKind::kEvent));
  put<double>(out, time);
  put_key(out, key);
  put<uint32_t>(out, static_cast<uint32_t>(fields.size()));
  for (const auto& f : fields) {
    put_bytes(out, f.name);
    put<uint8_t>(out, f.is_number());
    if (f.is_number()) {
      put<double>(out, f.value.number);
    } else {
      put_bytes(out, f.value.text);
    }
  }
  put_bytes(out, id);
}

void decode_event(std::string_view bytes, EntityKey& key, double& time,
                  std::vector<EventField>& fields, std::string& id) {
  Cursor c{bytes};
  if (c.get<uint8_t>() != static_cast<uint8_t>(RecordKind::kEvent))
    throw Error("WAL record: not an event");
  time = c.get<double>();
  key = get_key(c);
  fields.clear();
  for (auto n = c.get<uint32_t>(); n > 0; --n) {
    std::string_view name = c.bytes();
    fields.push_back(c.get<uint8_t>() ? EventField::of_number(name, c.get<double>())
                                      : EventField::of_text(name, c.bytes()));
  }
  id = std::string(c.bytes());
  if (c.pos != bytes.size()) throw Error("WAL record: trailing bytes");
}

void encode_update(const Update& u, uint32_t time, std::string& out) {
  out.clear();
  put<uint8_t>(out, static_cast<uint8_t>(RecordKind::kUpdate));
  put<uint32_t>(out, time);
  put_key(out, u.key);
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
  if (c.get<uint8_t>() != static_cast<uint8_t>(RecordKind::kUpdate)) {
    throw Error("WAL record: not an update");
  }
  time = c.get<uint32_t>();
  u.key = get_key(c);
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
      if (!f.empty()) std::memcpy(f.data(), raw.data(), f.size() * sizeof(float));
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
