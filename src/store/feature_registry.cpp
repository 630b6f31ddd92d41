#include "rtml/store/feature_registry.h"

#include "key_hash.h"
#include "rtml/core/hash.h"
#include "validate.h"

namespace rtml::store {

uint64_t EntityKey::hash() const { return detail::key_hash(bytes(), is_int_); }

std::string EntityKey::to_string() const {
  return is_int_ ? std::to_string(id_) : "\"" + text_ + "\"";
}

std::string_view feature_type_name(FeatureType type) {
  switch (type) {
    case FeatureType::kNumber:
      return "number";
    case FeatureType::kCategory:
      return "category";
    case FeatureType::kVector:
      return "vector";
  }
  return "unknown";
}

std::string FeatureRegistry::group_of(std::string_view name) { return detail::feature_group(name); }

namespace {
uint64_t name_hash(std::string_view name) { return hash64(name, 0x6e); }
}  // namespace

std::optional<uint16_t> FeatureRegistry::find(std::string_view name) const {
  // A slot is written once (release) after its Info; clear() is not concurrent.
  for (size_t i = name_hash(name) & (kIndexSlots - 1);; i = (i + 1) & (kIndexSlots - 1)) {
    uint32_t v = index_[i].load(std::memory_order_acquire);
    if (v == 0) return std::nullopt;
    if (*info_[v - 1].name == name) return static_cast<uint16_t>(v - 1);
  }
}

std::optional<uint16_t> FeatureRegistry::define(std::string_view name, FeatureType type,
                                                std::string* error) {
  if (name.empty()) {
    if (error) *error = "empty feature name";
    return std::nullopt;
  }
  std::unique_lock lock(mu_);
  if (auto found = find(name)) {
    auto id = *found;
    if (info_[id].type != type) {
      if (error) {
        *error = "feature '" + std::string(name) + "' is a " +
                 std::string(feature_type_name(info_[id].type)) + ", got a " +
                 std::string(feature_type_name(type));
      }
      return std::nullopt;
    }
    return id;
  }
  uint32_t id = count_.load(std::memory_order_relaxed);
  if (id >= kMaxFeatures) {
    if (error) *error = "too many features (at most 65535)";
    return std::nullopt;
  }
  Info& info = info_[id];
  info.type = type;
  info.name = std::make_unique<std::string>(name);
  auto ttl = ttls_.find(group_of(name));
  info.ttl.store(ttl == ttls_.end() ? 0 : ttl->second, std::memory_order_relaxed);
  size_t slot = name_hash(name) & (kIndexSlots - 1);
  while (index_[slot].load(std::memory_order_relaxed) != 0) slot = (slot + 1) & (kIndexSlots - 1);
  index_[slot].store(id + 1, std::memory_order_release);
  count_.store(id + 1, std::memory_order_release);
  return static_cast<uint16_t>(id);
}

void FeatureRegistry::clear() {
  std::unique_lock lock(mu_);
  for (size_t i = 0; i < kIndexSlots; ++i) index_[i].store(0, std::memory_order_relaxed);
  for (uint32_t id = 0; id < count_.load(std::memory_order_relaxed); ++id) info_[id].name.reset();
  count_.store(0, std::memory_order_release);
}

void FeatureRegistry::set_group_ttl(const std::string& group, uint32_t seconds) {
  std::unique_lock lock(mu_);
  ttls_[group] = seconds;
  if (seconds) any_ttl_.store(true, std::memory_order_relaxed);
  for (uint32_t id = 0; id < count_.load(std::memory_order_relaxed); ++id) {
    if (group_of(*info_[id].name) == group) info_[id].ttl.store(seconds, std::memory_order_relaxed);
  }
}

std::map<std::string, uint32_t> FeatureRegistry::group_ttls() const {
  std::shared_lock lock(mu_);
  return ttls_;
}

}  // namespace rtml::store
