// ComputedFeatures: features the store keeps from events rather than from writes
// (streaming aggregates). The store logs each event, replays it on recovery, snapshots
// the provider's state, and reads its values like any other feature. Implemented
// outside the store (rtml/features), so the store does not depend on how.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rtml/core/row.h"
#include "rtml/core/status.h"
#include "rtml/store/types.h"

namespace rtml::store {

// The store calls these under its own lock: implementations need not be thread-safe.
class ComputedFeatures {
 public:
  virtual ~ComputedFeatures() = default;
  // Whether an event with these fields would be taken, or why not (a text where an
  // aggregate needs a number, no field that any aggregate reads).
  virtual Status check(std::span<const EventField> fields) const = 0;
  // Applies one event of entity key at event time (seconds).
  virtual void apply(const EntityKey& key, double time, std::span<const EventField> fields) = 0;
  // True if name is a computed feature.
  virtual bool has(std::string_view name) const = 0;
  // The value of a computed feature now, or as of event time t.
  virtual FeatureValue read(std::string_view name, const EntityKey& key,
                            std::optional<double> as_of) const = 0;
  // The index of computed feature `name`, for the read below; nullopt if it is not one.
  virtual std::optional<uint32_t> index_of(std::string_view name) const = 0;
  // read() by index (as index_of gave it): no name to look up, and for a number nothing
  // allocated.
  virtual FeatureValue read(uint32_t index, const EntityKey& key,
                            std::optional<double> as_of) const = 0;
  // read() of several features of one key, into out (one value per index). The default
  // reads them one by one; an implementation may look the key up once.
  virtual void read_many(std::span<const uint32_t> indices, const EntityKey& key,
                         std::optional<double> as_of, std::span<FeatureValue> out) const {
    for (size_t i = 0; i < indices.size(); ++i) out[i] = read(indices[i], key, as_of);
  }
  // Names of the computed features.
  virtual std::vector<std::string> names() const = 0;
  // Every entity key the provider holds state for.
  virtual std::vector<EntityKey> keys() const = 0;
  virtual std::string save() const = 0;
  // Throws Error on malformed state.
  virtual void load(std::string_view state) = 0;
};

}  // namespace rtml::store
