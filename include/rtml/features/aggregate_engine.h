// AggregateEngine: streaming aggregates per entity over event time, the features the
// stream keeps fresh.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rtml/core/binary_io.h"
#include "rtml/core/row.h"
#include "rtml/core/schema.h"
#include "rtml/features/aggregate_spec.h"
#include "rtml/features/key_index.h"

namespace rtml::features {

// The value of an aggregate for one entity. topk gives its items, most frequent first,
// joined by commas, in text; every other function gives a number.
struct AggregateValue {
  bool present = false;
  double number = 0.0;
  std::string text;
};

// Keeps every declared aggregate for every entity.
//
// Time is event time. Each aggregate has a watermark, the latest event time it has
// seen; an event older than the watermark minus the allowed lateness is counted and
// dropped. Windows are made of buckets of `every` seconds (one bucket of the whole
// window when tumbling), kept per entity in a ring that also covers the lateness and the
// `keep` history, so a late event still lands in its bucket.
//
// read() gives the value now: the window ending at the watermark, the current partial
// bucket included. read_as_of(t) gives the value as it stood at event time t, to the
// bucket: the window that ends at the bucket boundary at or before t, with nothing
// that happened after it, so a model learning from a delayed label sees no future.
//
// Not thread-safe: one thread applies events (the store serialises them per key).
class AggregateEngine {
 public:
  explicit AggregateEngine(std::vector<AggregateSpec> specs);
  ~AggregateEngine();
  AggregateEngine(AggregateEngine&&) noexcept;

  // Applies one event of entity key at time (seconds) to every aggregate whose field
  // the event has. Allocates only for a new entity (or a new item of distinct/topk).
  void apply(std::string_view key, double time, std::span<const EventField> fields);
  // The same for one aggregate only: for events that carry the keys of several kinds
  // of entity (a user and an item), each aggregate under its own.
  void apply_one(size_t aggregate, std::string_view key, double time,
                 std::span<const EventField> fields);

  AggregateValue read(size_t aggregate, std::string_view key) const;
  // Nothing present when t is older than the history the aggregate keeps.
  AggregateValue read_as_of(size_t aggregate, std::string_view key, double t) const;
  // Several aggregates of one key (as of t, or now): the key is looked up once.
  void read_many(std::span<const uint32_t> aggregates, std::string_view key,
                 std::optional<double> t, std::span<AggregateValue> out) const;

  // Index of the aggregate called name, or nothing.
  std::optional<size_t> find(std::string_view name) const;
  const std::vector<AggregateSpec>& specs() const { return specs_; }

  struct Stats {
    uint64_t applied = 0;       // events that updated the aggregate
    uint64_t late_dropped = 0;  // events older than the allowed lateness
    uint64_t wrong_type = 0;    // a text where a number was needed
  };
  Stats stats(size_t aggregate) const;
  double watermark(size_t aggregate) const;
  // Every entity key with state in some aggregate.
  std::vector<std::string> keys() const;

  // The whole state (watermarks, counters, every entity's buckets), for snapshots.
  void save(BinaryWriter& out) const;
  // Replaces the state with one saved by an engine of the same declarations. Throws
  // Error on malformed or mismatching state.
  void load(BinaryReader& in);

  class Aggregate;  // one declared aggregate's state; defined in the .cpp

 private:
  uint32_t key_id(std::string_view key) const;
  std::vector<AggregateSpec> specs_;
  std::vector<std::unique_ptr<Aggregate>> aggregates_;
  // Entity keys to dense ids, which index every aggregate's per-entity arrays.
  KeyIndex keys_;
};

}  // namespace rtml::features
