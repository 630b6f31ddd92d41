// MemoryStore: entities and their features in memory, sharded by key hash.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

#include "rtml/store/feature_registry.h"
#include "rtml/store/types.h"

namespace rtml::store {

namespace detail {
class Entity;
}

// An update whose feature names are resolved to ids and whose values are validated.
struct ResolvedUpdate {
  EntityKey key;
  std::vector<std::pair<uint16_t, const FeatureValue*>> set;  // sorted by id
  std::vector<uint16_t> del;
  uint32_t time = 0;  // whole seconds since the epoch
};

// The in-memory table. Keys hash to one of kShards shards, each an open-addressing
// table. Writers of a shard take its lock; readers take no lock: they copy the entity
// and retry if a writer changed the shard meanwhile (a seqlock), falling back to the
// shard's lock only for an entity larger than 1 KiB or under a stream of writes to the
// same shard. So readers never wait for each other and never wait behind a writer's
// WAL append. A number costs 14 bytes in its entity's single allocation.
//
// Thread-safe: any number of readers and writers, except clear() and destruction,
// which must not run while others use the store.
namespace detail {
class PagePool;
}

class MemoryStore {
 public:
  static constexpr size_t kShards = 256;

  explicit MemoryStore(const FeatureRegistry& registry);
  ~MemoryStore();
  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

  static size_t shard_of(const EntityKey& key) { return key.hash() % kShards; }

  // Applies u under its shard's write lock. `log` (if set) runs under that lock first
  // and returns the update's log sequence number, so that the order of the log and the
  // order of application agree for every key. Returns the LSN (or 0 without log).
  uint64_t apply(const ResolvedUpdate& u, const std::function<uint64_t()>& log = {});

  // Reads features of key into out (same length). A missing entity, feature or expired
  // value reads as not present. now is the reading time for TTLs (seconds).
  void get(const EntityKey& key, std::span<const uint16_t> features, std::span<FeatureValue> out,
           double now) const;
  // The fast path for numbers: out[i] = value, present[i] = 1 if present and fresh;
  // out and present hold features.size() values (pointers rather than spans, so that
  // every argument travels in a register). now == 0 reads every value as fresh.
  void get_numbers(const EntityKey& key, std::span<const uint16_t> features, double* out,
                   uint8_t* present, double now) const;

  // get_numbers for many keys: out and present hold keys.size() * features.size()
  // values, key by key. Works in groups of 16 keys whose table and entity cache lines
  // are prefetched before they are read, so the memory latency of one key overlaps the
  // others'.
  void get_numbers_many(std::span<const EntityKey> keys, std::span<const uint16_t> features,
                        std::span<double> out, std::span<uint8_t> present, double now) const;

  // Calls fn(shard index, last LSN applied to the shard, entities) for each shard in
  // turn, under that shard's read lock (writers of that shard wait; readers do not).
  using Visitor = std::function<void(size_t shard, uint64_t lsn, std::span<detail::Entity* const>)>;
  void visit(const Visitor& fn) const;
  // Inserts an entity block read from a snapshot; false if the block is malformed.
  bool restore(std::string_view block);
  // restore() for a block in the layout of snapshot version 1, rebuilt in the current
  // one; the registry must already name its features.
  bool restore_v1(std::string_view block);
  // Sets a shard's LSN (recovery).
  void set_shard_lsn(size_t shard, uint64_t lsn);
  uint64_t shard_lsn(size_t shard) const;

  size_t entity_count() const;
  // Bytes held by entities and tables (old tables included: lock-free readers may still
  // be probing them, so they are kept until clear(); together they are smaller than the
  // current one).
  size_t memory_bytes() const;
  void clear();

 private:
  struct View;
  struct Shard;
  // get_numbers for text keys, and when the lock-free common case does not apply.
  [[gnu::noinline]] void get_numbers_slow(const EntityKey& key, std::span<const uint16_t> features,
                                          double* out, uint8_t* present, double now) const;
  const FeatureRegistry& registry_;
  // The shards' arena chunks and tables (huge pages); outlives shards_.
  std::unique_ptr<detail::PagePool> pool_;
  std::unique_ptr<View[]> views_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace rtml::store
