// StoreAggregates: streaming aggregates kept inside a feature store, so that the stream
// that writes the store also keeps its aggregates fresh, durable and readable like any
// other feature.
#pragma once

#include <memory>
#include <vector>

#include "rtml/features/aggregate_engine.h"
#include "rtml/store/computed_features.h"

namespace rtml::runtime {

// The entity key an event field names: a text as it is; a whole non-negative number as
// an integer key; any other number as its shortest text.
store::EntityKey entity_key_of(bool is_number, double number, std::string_view text);
// The same into key, reusing its buffer.
void set_entity_key(store::EntityKey& key, bool is_number, double number, std::string_view text);

// Adapts an AggregateEngine to the store's ComputedFeatures. An aggregate declared "by
// user" is kept under the event's own `user` field when the event has one (an event may
// name a user and an item), else under the key the event was applied with. Aggregate values read as
// numbers, topk as a category (its items joined by commas). Not thread-safe: the store
// serialises calls.
class StoreAggregates final : public store::ComputedFeatures {
 public:
  explicit StoreAggregates(std::vector<features::AggregateSpec> specs);

  Status check(std::span<const EventField> fields) const override;
  void apply(const store::EntityKey& key, double time, std::span<const EventField> fields) override;
  bool has(std::string_view name) const override { return engine_.find(name).has_value(); }
  store::FeatureValue read(std::string_view name, const store::EntityKey& key,
                           std::optional<double> as_of) const override;
  std::optional<uint32_t> index_of(std::string_view name) const override {
    auto i = engine_.find(name);
    return i ? std::optional<uint32_t>(static_cast<uint32_t>(*i)) : std::nullopt;
  }
  store::FeatureValue read(uint32_t index, const store::EntityKey& key,
                           std::optional<double> as_of) const override;
  void read_many(std::span<const uint32_t> indices, const store::EntityKey& key,
                 std::optional<double> as_of, std::span<store::FeatureValue> out) const override;
  std::vector<std::string> names() const override;
  std::vector<store::EntityKey> keys() const override;
  std::string save() const override;
  void load(std::string_view state) override;

  const features::AggregateEngine& engine() const { return engine_; }

 private:
  features::AggregateEngine engine_;
  std::vector<const EventField*> by_;  // per aggregate: the event's own key field
  // Puts the engine's form of key in key_.
  void set_key(const store::EntityKey& key) const;
  store::FeatureValue value_of(uint32_t index, const features::AggregateValue& a) const;
  mutable std::string key_;  // the engine's form of a key, reused per read
  mutable std::vector<features::AggregateValue> values_;  // reused by read_many
};

}  // namespace rtml::runtime
