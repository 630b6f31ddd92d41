#include "rtml/runtime/store_aggregates.h"

#include <charconv>
#include <cmath>

#include "rtml/core/error.h"

namespace rtml::runtime {
namespace {

// Entity keys as engine keys: a kind letter keeps 42 and "42" apart.
std::string engine_key(const store::EntityKey& key) {
  return key.is_int() ? "i" + std::to_string(key.id()) : "s" + key.text();
}

}  // namespace

StoreAggregates::StoreAggregates(std::vector<features::AggregateSpec> specs)
    : engine_(std::move(specs)) {}

Status StoreAggregates::check(std::span<const EventField> fields) const {
  bool used = false;
  for (const auto& s : engine_.specs()) {
    for (const auto& f : fields) {
      if (f.name != s.field) continue;
      used = true;
      bool needs_number = s.function != features::AggregateFunction::kCount &&
                          s.function != features::AggregateFunction::kDistinct &&
                          s.function != features::AggregateFunction::kTopK;
      if (needs_number && !f.is_number()) {
        return Status::error("field '" + std::string(f.name) + "' feeds aggregate '" + s.name +
                             "' and must be a number");
      }
    }
  }
  if (!used) return Status::error("no declared aggregate reads any field of this event");
  return Status::ok();
}

void StoreAggregates::apply(const store::EntityKey& key, double time,
                            std::span<const EventField> fields) {
  // An aggregate declared "by user" goes under the event's own user field when it has
  // one (an event may name a user and an item); otherwise under the event's key.
  const std::string main_key = engine_key(key);
  const auto& specs = engine_.specs();
  by_.assign(specs.size(), nullptr);
  bool own_keys = false;
  for (size_t i = 0; i < specs.size(); ++i) {
    for (const auto& f : fields) {
      if (f.name == specs[i].by) by_[i] = &f;  // a field given twice: its last value
    }
    own_keys |= by_[i] != nullptr;
  }
  if (!own_keys) {
    engine_.apply(main_key, time, fields);
    return;
  }
  for (size_t i = 0; i < specs.size(); ++i) {
    const EventField* by = by_[i];
    engine_.apply_one(
        i,
        by ? engine_key(entity_key_of(by->is_number(), by->value.number, by->value.text))
           : main_key,
        time, fields);
  }
}

store::EntityKey entity_key_of(bool is_number, double number, std::string_view text) {
  store::EntityKey key;
  set_entity_key(key, is_number, number, text);
  return key;
}

void set_entity_key(store::EntityKey& key, bool is_number, double number, std::string_view text) {
  if (!is_number) {
    key.assign_text(text);
  } else if (number >= 0 && number < 1.8e19 && number == std::floor(number)) {
    key.assign_id(static_cast<uint64_t>(number));
  } else {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof(buf), number);
    key.assign_text(std::string_view(buf, static_cast<size_t>(r.ptr - buf)));
  }
}

store::FeatureValue StoreAggregates::read(std::string_view name, const store::EntityKey& key,
                                          std::optional<double> as_of) const {
  auto index = engine_.find(name);
  if (!index) return {};
  return read(static_cast<uint32_t>(*index), key, as_of);
}

void StoreAggregates::set_key(const store::EntityKey& key) const {
  // engine_key(key), into a buffer kept between reads.
  key_.clear();
  if (key.is_int()) {
    char buf[24];
    key_ += 'i';
    key_.append(buf, std::to_chars(buf, buf + sizeof(buf), key.id()).ptr);
  } else {
    key_ += 's';
    key_ += key.text();
  }
}

store::FeatureValue StoreAggregates::value_of(uint32_t index,
                                              const features::AggregateValue& a) const {
  store::FeatureValue v;
  if (!a.present) return v;
  if (engine_.specs()[index].function == features::AggregateFunction::kTopK) {
    v = store::FeatureValue::of_category(a.text);
  } else {
    v = store::FeatureValue::of_number(a.number);
  }
  return v;
}

store::FeatureValue StoreAggregates::read(uint32_t index, const store::EntityKey& key,
                                          std::optional<double> as_of) const {
  if (index >= engine_.specs().size()) return {};
  set_key(key);
  return value_of(index,
                  as_of ? engine_.read_as_of(index, key_, *as_of) : engine_.read(index, key_));
}

void StoreAggregates::read_many(std::span<const uint32_t> indices, const store::EntityKey& key,
                                std::optional<double> as_of,
                                std::span<store::FeatureValue> out) const {
  for (uint32_t i : indices) {
    if (i >= engine_.specs().size()) {
      ComputedFeatures::read_many(indices, key, as_of, out);
      return;
    }
  }
  set_key(key);
  values_.resize(indices.size());
  engine_.read_many(indices, key_, as_of, values_);
  for (size_t i = 0; i < indices.size(); ++i) out[i] = value_of(indices[i], values_[i]);
}

std::vector<std::string> StoreAggregates::names() const {
  std::vector<std::string> out;
  for (const auto& s : engine_.specs()) out.push_back(s.name);
  return out;
}

std::vector<store::EntityKey> StoreAggregates::keys() const {
  std::vector<store::EntityKey> out;
  for (const auto& k : engine_.keys()) {
    if (k[0] == 'i') {
      out.emplace_back(static_cast<uint64_t>(std::stoull(k.substr(1))));
    } else {
      out.emplace_back(k.substr(1));
    }
  }
  return out;
}

std::string StoreAggregates::save() const {
  BinaryWriter out;
  engine_.save(out);
  return out.bytes();
}

void StoreAggregates::load(std::string_view state) {
  BinaryReader in{std::string(state), "aggregate state"};
  engine_.load(in);
}

}  // namespace rtml::runtime
