// RedisAggregates: streaming aggregates kept in Redis, so that several workers keep one
// entity's aggregates together and a worker that takes over an entity finds its state
// (DESIGN.md, "Scale-out"; README, "Aggregates shared in Redis").
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rtml/core/row.h"
#include "rtml/features/aggregate_spec.h"
#include "rtml/store/redis_connection.h"
#include "rtml/store/redis_store.h"
#include "rtml/store/types.h"

namespace rtml::runtime {

// The aggregates AggregateEngine keeps in memory, kept in Redis instead, one hash per
// entity ("<prefix>:agg:{<key>}", integer keys as "#<n>") holding a ring of buckets per
// aggregate as the engine does (a `<name>#<slot>` field per bucket, packed: its number,
// count, sum or extreme or last value, sum of squares, time of the last value; and
// `<name>#top`, the newest bucket), plus a HyperLogLog (distinct) or a sorted set (topk)
// per bucket under the same hash tag, so that all of an entity's keys
// are in one Redis Cluster slot. An event is applied by one Lua script per entity,
// atomically: two workers never interleave inside one entity's update, and an event id
// already applied to that entity (within dedup_seconds) changes nothing, so a record
// delivered again after a crash counts once.
//
// Semantics differ from the engine's in one way: the watermark that decides what is too
// late is the entity's own (its newest bucket), not the whole stream's, since no worker
// sees the whole stream. An event whose bucket has left the entity's ring is dropped;
// any disorder within the ring (keep, plus lateness, plus one bucket) is harmless, and
// count, sum, mean, variance, min, max, distinct and topk do not depend on the order
// events come in. distinct is Redis's HyperLogLog (0.81 % error), not the engine's.
//
// Not thread-safe: one connection, one thread.
class RedisAggregates {
 public:
  struct Options {
    store::RedisOptions redis;  // prefix included
    // How long an event id is remembered per entity, against applying it twice.
    double dedup_seconds = 86400;
  };
  // Connects (Error naming the server if it cannot) and loads the two scripts.
  RedisAggregates(Options options, std::vector<features::AggregateSpec> specs);

  const std::vector<features::AggregateSpec>& specs() const { return specs_; }
  // The index of the aggregate called name, or nothing.
  std::optional<uint32_t> index_of(std::string_view name) const;

  // Applies an event at time (event time, seconds) to every aggregate whose field it
  // has, under the entity its `by` field names (an aggregate whose `by` field the event
  // lacks is not applied). id: the event's identity for deduplication ("" for none).
  // Returns the number of aggregates applied (0: none reads a field of this event).
  // One round trip however many entities it names. Throws Error if Redis fails.
  size_t apply(double time, std::span<const EventField> fields, std::string_view id);

  // The aggregates `indices` of entity key as they stood at event time t (the window
  // ending at the bucket boundary at or before t, as AggregateEngine::read_as_of), into
  // out (same length): numbers, topk as a category (items joined by commas). One round
  // trip. Throws Error if Redis fails.
  void read_as_of(std::span<const uint32_t> indices, const store::EntityKey& key, double t,
                  std::span<store::FeatureValue> out);

  // The hash that holds entity key's aggregates (its other keys share its hash tag).
  std::string hash_key(const store::EntityKey& key) const;
  // MOVED and ASK replies followed so far (a Redis Cluster resharding).
  uint64_t redirects() const { return redis_.redirects(); }

 private:
  struct Ring {
    double hop = 1;
    int64_t window_buckets = 1;
    int64_t ring = 1;
  };
  // One entity's script call of an apply(), its buffers kept for the next.
  struct Call {
    std::string hash, numkeys;
    std::vector<std::string> keys, argv;  // the first keys_used, argv_used of them
    size_t keys_used = 0, argv_used = 0;
    std::vector<std::string_view> views;  // EVALSHA, digest, numkeys, hash, keys, argv
  };
  void hash_key_into(const store::EntityKey& key, std::string& out) const;
  // The key of bucket b's set (distinct, topk) of aggregate i for the entity whose hash
  // key is hash.
  void set_key_into(const std::string& hash, size_t i, int64_t b, std::string& out) const;
  int64_t slot_of(size_t i, int64_t b) const;
  // Sends full (its first two places set here to EVALSHA and the digest); the reply is
  // read with script_reply, which loads the script again if Redis forgot it (a restart,
  // SCRIPT FLUSH) and sends full once more.
  void queue_script(int which, std::vector<std::string_view>& full);
  store::RedisReplyPtr script_reply(int which, std::vector<std::string_view>& full);

  Options o_;
  std::vector<features::AggregateSpec> specs_;
  std::vector<Ring> rings_;
  store::RedisConnection redis_;
  std::string script_[2];  // apply, read: their texts
  std::string sha_[2];     // and digests
  std::string ttl_;        // dedup_seconds as text
  // Reused per call: no allocation on the per-event path once warmed up.
  store::EntityKey key_;
  std::string scratch_;
  std::vector<Call> calls_;
  size_t calls_used_ = 0;
  std::string read_hash_, read_numkeys_;
  std::vector<std::string> read_keys_, read_argv_;
  std::vector<std::string_view> read_views_;
};

}  // namespace rtml::runtime
