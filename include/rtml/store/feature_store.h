// FeatureStore: what every backend of the feature store offers, by feature name.
#pragma once

#include <span>
#include <string>

#include "rtml/core/status.h"
#include "rtml/store/types.h"

namespace rtml::store {

// The backend-neutral interface: the embedded store implements it in process, the
// Redis store over the network for several workers. Thread safety is the backend's:
// EmbeddedStore is fully thread-safe; a RedisStore is one connection for one thread.
class FeatureStore {
 public:
  virtual ~FeatureStore() = default;
  // Validates and applies u; ok, else why nothing changed.
  virtual Status apply(const Update& u) = 0;
  // Reads the named features of key into out (same length).
  virtual void get(const EntityKey& key, std::span<const std::string> features,
                   std::span<FeatureValue> out) = 0;
  // Reads the named features of many keys: out has keys.size() * features.size() values.
  virtual void get_many(std::span<const EntityKey> keys, std::span<const std::string> features,
                        std::span<FeatureValue> out) = 0;
};

}  // namespace rtml::store
