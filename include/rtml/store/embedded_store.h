// EmbeddedStore: the in-process feature store: memory for reads, a write-ahead log and
// snapshots for durability, recovery on open.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "rtml/store/computed_features.h"
#include "rtml/store/feature_registry.h"
#include "rtml/store/feature_store.h"
#include "rtml/store/memory_store.h"
#include "rtml/store/types.h"
#include "rtml/store/wal.h"

namespace rtml::store {

namespace detail {
class EventDedup;
}  // namespace detail
// Owns DIR/LOCK (rtml/store/folder_lock.h): one file descriptor, closed on destruction.
class FolderLock;

struct StoreOptions {
  // Folder for the WAL and snapshots; empty keeps everything in memory only.
  std::string dir;
  FsyncSetting fsync;
  // Take a snapshot once this many WAL bytes were written since the last one (0: only
  // when snapshot() is called).
  uint64_t snapshot_wal_bytes = 256ull << 20;
  // TTL in seconds by feature group ("profile" for "profile.age"; "" for names
  // without a dot).
  std::map<std::string, uint32_t> group_ttl_seconds;
  // Recover and read only: the folder must exist, and nothing in it is created,
  // changed or removed (a torn WAL tail is read past, not cut); apply() refuses.
  bool read_only = false;
  // Refuse writes of features that were not declared with declare().
  bool strict_schema = false;
  // Features computed from events (streaming aggregates), if any: see apply_event().
  std::shared_ptr<ComputedFeatures> computed;
  // Seconds since the epoch; the system clock by default. Tests pass their own.
  std::function<double()> clock;
  // A snapshot file (as snapshot() writes, kept elsewhere) to roll the store back to: open()
  // removes the folder's WAL segments and snapshots, under the folder's lock, puts a copy
  // of this file in their place and recovers from it. What the removed files held after
  // the snapshot is gone: for a writer that will apply it again (rtml run resuming from a
  // checkpoint). Not with read_only.
  std::string restore_from;
};

// What open() found and did.
struct RecoveryReport {
  std::string snapshot;               // file loaded, empty if none
  uint64_t snapshot_lsn = 0;          // its position in the log
  uint64_t entities = 0;              // after recovery
  uint64_t replayed = 0;              // WAL records applied
  uint64_t from_ring = 0;             // of them, taken from a killed writer's ring
  uint64_t skipped = 0;               // WAL records already in the snapshot
  uint64_t torn_bytes = 0;            // of an incomplete last WAL record, passed over
  std::vector<std::string> warnings;  // torn tail, corrupt snapshot passed over
  double seconds = 0;
};

// What EmbeddedStore::repair found and did.
struct RepairReport {
  // False when the store was sound: then nothing was changed.
  bool changed = false;
  // One line per thing passed over: a corrupt snapshot, a damaged or torn stretch of the
  // WAL (file, byte offset, bytes, the LSNs lost), a missing range of LSNs.
  std::vector<std::string> dropped;
  std::string snapshot;            // the snapshot written, holding everything kept
  uint64_t lsn = 0;                // the last LSN it covers
  uint64_t entities = 0;           // kept
  uint64_t records = 0;            // valid WAL records read
  std::string lost_dir;            // where the replaced files were moved
  std::vector<std::string> moved;  // their names
};

// Thread-safe: any number of threads may read and write. Readers take no lock (see
// MemoryStore), so they never wait for a writer, the WAL or a snapshot. Writers append
// to the WAL buffer under their shard's lock but wait for fsync outside it, and a
// snapshot holds one shard's read lock at a time (which only that shard's writers
// notice).
class EmbeddedStore final : public FeatureStore {
 public:
  // Opens (creating the folder if needed, unless read_only) and recovers: the newest
  // valid snapshot, then the WAL after it. A corrupt snapshot is reported and the
  // previous one used. An incomplete last WAL record (a torn tail) is reported, and cut
  // unless read_only. Takes the folder's lock: exclusive for a writer, shared for
  // read_only. Throws Error, changing no file, if another process holds the folder, if
  // the log is damaged anywhere but its last record (naming the file and byte offset),
  // or if no valid snapshot covers the LSNs before the log's first: repair() salvages.
  static std::unique_ptr<EmbeddedStore> open(StoreOptions options);
  // Salvages a store that open() refuses: loads the newest valid snapshot, reads every
  // valid WAL record past any damage, writes one snapshot holding all of it, and moves
  // every file it replaced into DIR/lost/ (nothing is deleted). A sound store is left
  // unchanged. Takes the folder's lock. Throws Error if the folder cannot be used.
  static RepairReport repair(StoreOptions options);
  ~EmbeddedStore() override;
  // The file name snapshot() gives the snapshot of LSN lsn; restore_from needs it.
  static std::string snapshot_file_name(uint64_t lsn);

  // Validates u and applies it. When it returns ok, the update is in the OS's hands (a
  // crash of this process cannot lose it) and on disk as the fsync policy says (see
  // FsyncPolicy). On bad input returns the reason and changes nothing: an empty key, a
  // key over 1024 bytes, a NaN or infinite number, a type that differs from the
  // feature's, an unknown feature to delete (or to set, with strict_schema). Also
  // returns a reason if the log cannot take the record (a full disk): then nothing
  // changed either; or, under FsyncPolicy::kAlways, if the record was applied and
  // logged but its fsync failed ("applied and logged, but not on disk: ...").
  Status apply(const Update& u) override;

  // Applies an event to the computed features (aggregates) of key at event time `time`
  // (seconds; 0 = now); logged as apply() is when it returns ok. Refused
  // with a reason if no computed features were configured, or a number is NaN or
  // infinite, or the key is bad. With an id, an event already applied with the same key
  // and id (among the last million) is acknowledged again and not applied twice, so a
  // producer may resend whatever was not acknowledged: exactly once.
  Status apply_event(const EntityKey& key, double time, std::span<const EventField> fields,
                     std::string_view id = {});
  // Whether the store computes features from events (aggregates were configured).
  bool computes_features() const { return options_.computed != nullptr; }
  // Events dropped as duplicates of an id already applied.
  uint64_t duplicate_events() const { return duplicates_.load(); }

  // Reads named features as of event time t: computed features as they stood then;
  // plain features only if written at or before t (no history is kept for them).
  void get_as_of(const EntityKey& key, std::span<const std::string> features, double t,
                 std::span<FeatureValue> out);

  // Features named once for get_as_of() by plan: each resolved to a computed feature or
  // a stored one (found again if it is declared later).
  struct AsOfPlan {
    std::vector<std::string> names;
    std::vector<int32_t> computed;           // index in the computed features, or -1
    std::vector<uint32_t> computed_indices;  // those indices, read together
    std::vector<size_t> computed_at;         // and their positions in names
    std::vector<size_t> stored;              // positions in names of the stored features
    std::vector<uint16_t> ids;               // registry ids of those declared so far
    std::vector<size_t> found;               // and their positions in names
    size_t registry_size = SIZE_MAX;
  };
  AsOfPlan plan_as_of(std::vector<std::string> names) const;
  // get_as_of(key, names, t, out) with the names resolved: no name is looked up, and no
  // memory is allocated for number features. out has plan.names.size() values. Without
  // t, the values now: computed features with the current partial bucket (what a server
  // predicting now reads), stored ones as written. A plan of computed features only is
  // not changed by the call (threads may share it).
  void get_as_of(const EntityKey& key, AsOfPlan& plan, std::optional<double> t,
                 std::span<FeatureValue> out);

  // Declares a feature before its first write.
  std::string declare(const std::string& name, FeatureType type);
  std::optional<uint16_t> feature(std::string_view name) const { return registry_.find(name); }
  const FeatureRegistry& registry() const { return registry_; }

  // By name, for the FeatureStore interface (resolving names on every call).
  void get(const EntityKey& key, std::span<const std::string> features,
           std::span<FeatureValue> out) override;
  void get_many(std::span<const EntityKey> keys, std::span<const std::string> features,
                std::span<FeatureValue> out) override;

  // Reads features (by id) of one entity; see MemoryStore::get. The fast path.
  void get(const EntityKey& key, std::span<const uint16_t> features,
           std::span<FeatureValue> out) const;
  void get_numbers(const EntityKey& key, std::span<const uint16_t> features, std::span<double> out,
                   std::span<uint8_t> present) const;
  // get_numbers for many keys at once, with prefetching: see MemoryStore::get_numbers_many.
  void get_numbers_many(std::span<const EntityKey> keys, std::span<const uint16_t> features,
                        std::span<double> out, std::span<uint8_t> present) const {
    memory_.get_numbers_many(keys, features, out, present, reading_time(features));
  }
  // Reads the same features of many entities: out has keys.size() * features.size() values.
  void get_many(std::span<const EntityKey> keys, std::span<const uint16_t> features,
                std::span<FeatureValue> out) const;

  // Writes a snapshot now (blocks the caller, not readers). Returns its path, or "" in
  // memory-only mode.
  std::string snapshot();
  // Calls fn for every entity with its present features (computed ones included), in
  // order of key (integer keys first).
  void for_each(
      const std::function<void(
          const EntityKey&, const std::vector<std::pair<std::string, FeatureValue>>&)>& fn) const;

  const RecoveryReport& recovery() const { return recovery_; }
  size_t entity_count() const { return memory_.entity_count(); }
  size_t memory_bytes() const { return memory_.memory_bytes(); }
  double now() const { return options_.clock(); }

 private:
  explicit EmbeddedStore(StoreOptions options);
  void recover();
  std::string resolve(const Update& u, ResolvedUpdate& r, uint32_t& time);
  // The reading time for TTLs: the clock if a requested feature has a TTL, else 0
  // (every value reads as fresh) without reading the clock, which is an ordered TSC
  // read and, like a lock, keeps the next get's memory loads from overlapping this one's.
  // Inline, and one load when no group has a TTL: a get is short (see MemoryStore).
  double reading_time(std::span<const uint16_t> features) const {
    return registry_.has_ttls() ? clock_if_ttl(features) : 0.0;
  }
  double clock_if_ttl(std::span<const uint16_t> features) const;
  // get_numbers when some group has a TTL. Out of line (see get_numbers).
  [[gnu::noinline]] void get_numbers_checking_ttls(const EntityKey& key,
                                                   std::span<const uint16_t> features,
                                                   std::span<double> out,
                                                   std::span<uint8_t> present) const;
  void apply_recovered(const Update& u, uint32_t time, uint64_t lsn);
  // The highest LSN applied to the state, in any shard or the computed features.
  uint64_t state_lsn() const;
  // Keeps the two newest snapshots and the WAL after the older one.
  void prune_snapshots();
  // Removes snapshot-*.snap.tmp files left by a process that died writing them.
  void remove_stale_temporaries();
  // Loads the newest snapshot that reads whole; returns the paths of corrupt ones met.
  std::vector<std::string> load_snapshot();
  // Applies one WAL record during recovery or repair.
  void replay_record(const WalRecord& rec);
  // The computed features' state and the event ids, as a snapshot holds them.
  std::string computed_state() const;
  // Writes the state as the snapshot of LSN s; returns its path.
  std::string write_snapshot(uint64_t s, const std::string& computed_state);
  void snapshotter();

  StoreOptions options_;
  // The folder's lock; declared first so that it is released last, after the WAL's
  // final sync.
  std::unique_ptr<FolderLock> lock_;
  FeatureRegistry registry_;
  MemoryStore memory_;
  std::unique_ptr<WalWriter> wal_;
  RecoveryReport recovery_;
  std::mutex snapshot_mu_;
  // Serialises events: their log order is their order of application.
  mutable std::mutex computed_mu_;
  uint64_t computed_lsn_ = 0;                  // events up to here are in the computed state
  std::unique_ptr<detail::EventDedup> dedup_;  // guarded by computed_mu_
  std::atomic<uint64_t> duplicates_{0};
  std::atomic<uint64_t> wal_bytes_{0};
  std::mutex snapshotter_mu_;
  std::condition_variable snapshotter_cv_;
  bool stop_ = false;
  std::thread snapshotter_;
};

}  // namespace rtml::store
