#include "validate.h"

#include <cmath>

namespace rtml::store::detail {

std::string feature_group(std::string_view name) {
  auto dot = name.find('.');
  return dot == std::string_view::npos ? std::string() : std::string(name.substr(0, dot));
}

std::string validate_key(const EntityKey& key) {
  if (key.is_int()) return {};
  if (key.text().empty()) return "empty key";
  if (key.text().size() > EntityKey::kMaxKeyBytes) {
    return "key of " + std::to_string(key.text().size()) + " bytes (at most 1024)";
  }
  return {};
}

std::string validate_update(const Update& u) {
  if (std::string bad = validate_key(u.key); !bad.empty()) return bad;
  if (u.set.empty() && u.del.empty()) return "nothing to set or delete";
  if (!(u.time >= 0 && u.time < 4294967296.0)) return "time out of range";
  for (const auto& [name, v] : u.set) {
    if (name.empty()) return "empty feature name";
    if (v.type == FeatureType::kNumber && !std::isfinite(v.number)) {
      return "feature '" + name + "': " + (std::isnan(v.number) ? "NaN" : "an infinite number") +
             " is not a value";
    }
    if (v.type == FeatureType::kCategory && v.text.size() > 65535) {
      return "feature '" + name + "': text of " + std::to_string(v.text.size()) +
             " bytes (at most 65535)";
    }
    if (v.type == FeatureType::kVector) {
      if (v.vector.size() > 16384) return "feature '" + name + "': vector longer than 16384";
      for (float x : v.vector) {
        if (!std::isfinite(x)) return "feature '" + name + "': vector holds NaN or infinity";
      }
    }
  }
  for (const auto& name : u.del) {
    if (name.empty()) return "empty feature name";
  }
  return {};
}

}  // namespace rtml::store::detail
