#include "rtml/store/embedded_store.h"

#include <fcntl.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "entity.h"
#include "event_dedup.h"
#include "rtml/core/error.h"
#include "rtml/core/file_io.h"
#include "rtml/store/folder_lock.h"
#include "update_codec.h"
#include "validate.h"
#include "wal_format.h"
#include "wal_ring.h"

namespace rtml::store {
namespace {

namespace fs = std::filesystem;
using detail::Entity;
using detail::wal_segments;

constexpr char kSnapMagic[8] = {'R', 'T', 'M', 'L', 'S', 'N', 'A', 'P'};
// 2: entity blocks in the layout of entity.h; 1 (read, converted): the earlier layout.
constexpr uint32_t kSnapVersion = 2;

double system_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string snapshot_name(uint64_t lsn) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "snapshot-%020llu.snap", static_cast<unsigned long long>(lsn));
  return buf;
}

// Snapshots of dir, newest first.
std::vector<std::pair<uint64_t, std::string>> snapshots(const std::string& dir) {
  std::vector<std::pair<uint64_t, std::string>> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (name.size() != 34 || name.rfind("snapshot-", 0) != 0 || name.substr(29) != ".snap")
      continue;
    out.emplace_back(std::stoull(name.substr(9, 20)), entry.path().string());
  }
  std::sort(out.rbegin(), out.rend());
  return out;
}

// Decompresses a snapshot's zstd frame, which must hold exactly raw_size bytes. Memory
// grows with what the frame really yields, not with the size field (up to 64 MiB is
// reserved at once), so a damaged field cannot ask for terabytes.
std::string decompress_snapshot(const char* data, size_t size, uint64_t raw_size,
                                const std::string& path) {
  std::unique_ptr<ZSTD_DStream, size_t (*)(ZSTD_DStream*)> ds(ZSTD_createDStream(),
                                                              ZSTD_freeDStream);
  if (!ds) throw Error(path + ": out of memory to decompress");
  std::string raw;
  raw.reserve(std::min<uint64_t>(raw_size, 64ull << 20));
  ZSTD_inBuffer in{data, size, 0};
  const size_t chunk = ZSTD_DStreamOutSize();
  for (;;) {
    const size_t old = raw.size();
    raw.resize(old + chunk);
    ZSTD_outBuffer out{raw.data() + old, chunk, 0};
    size_t rc = ZSTD_decompressStream(ds.get(), &out, &in);
    raw.resize(old + out.pos);
    if (ZSTD_isError(rc)) throw Error(path + ": cannot decompress: " + ZSTD_getErrorName(rc));
    if (raw.size() > raw_size) throw Error(path + ": holds more than its size field says");
    if (rc == 0) break;  // the frame is whole
    if (in.pos == in.size && out.pos < chunk) throw Error(path + ": its compressed content is cut");
  }
  if (raw.size() != raw_size || in.pos != in.size) {
    throw Error(path + ": its size field does not match its compressed content");
  }
  return raw;
}

template <typename T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof(T));
}

struct Reader {
  std::string_view b;
  size_t pos = 0;
  const std::string& what;
  template <typename T>
  T get() {
    if (b.size() - pos < sizeof(T)) throw Error(what + ": truncated content");
    T v;
    std::memcpy(&v, b.data() + pos, sizeof(T));
    pos += sizeof(T);
    return v;
  }
  std::string_view take(size_t n) {
    if (b.size() - pos < n) throw Error(what + ": truncated content");
    auto s = b.substr(pos, n);
    pos += n;
    return s;
  }
};

}  // namespace

EmbeddedStore::EmbeddedStore(StoreOptions options)
    : options_(std::move(options)),
      memory_(registry_),
      dedup_(std::make_unique<detail::EventDedup>()) {
  if (!options_.clock) options_.clock = system_now;
  for (const auto& [group, ttl] : options_.group_ttl_seconds) registry_.set_group_ttl(group, ttl);
}

namespace {

// Makes the folder (for a writer) or checks that it is there (for a reader), then takes
// its lock.
std::unique_ptr<FolderLock> lock_folder(const std::string& dir, bool read_only) {
  std::error_code ec;
  if (read_only) {
    if (!fs::exists(dir, ec)) throw Error(dir + ": no store here (the folder does not exist)");
    if (!fs::is_directory(dir, ec)) throw Error(dir + ": not a folder");
    return std::make_unique<FolderLock>(FolderLock::shared(dir));
  }
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir))
    throw Error(dir + ": cannot create the store folder: " + ec.message());
  return std::make_unique<FolderLock>(FolderLock::exclusive(dir));
}

}  // namespace

std::string EmbeddedStore::snapshot_file_name(uint64_t lsn) { return snapshot_name(lsn); }

namespace {

// Replaces dir's log and snapshots with a copy of the snapshot file `from` (see
// StoreOptions::restore_from). Idempotent: a crash part way is undone by doing it again.
void restore_snapshot(const std::string& dir, const std::string& from) {
  std::string name = fs::path(from).filename().string();
  if (name.size() != 34 || name.rfind("snapshot-", 0) != 0 || name.substr(29) != ".snap") {
    throw Error(from + ": not a store snapshot's name (snapshot-<20-digit LSN>.snap)");
  }
  std::ifstream in(from, std::ios::binary);
  if (!in) throw Error(from + ": cannot read the snapshot to restore: " + std::strerror(errno));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The snapshot first: until the old files are gone, recovery would still find them
  // newer and use them, and a crash here leaves the old state whole.
  write_file_atomically((fs::path(dir) / name).string(), bytes);
  // The ring's records follow the log being removed; a new segment could take the old
  // one's inode and first LSN and make them look like its own.
  if (std::string ring = detail::wal_ring_file(dir); !ring.empty()) ::unlink(ring.c_str());
  for (const auto& [lsn, path] : wal_segments(dir)) fs::remove(path);
  for (const auto& [lsn, path] : snapshots(dir)) {
    if (fs::path(path).filename() != name) fs::remove(path);
  }
  fsync_dir(dir);
}

}  // namespace

std::unique_ptr<EmbeddedStore> EmbeddedStore::open(StoreOptions options) {
  if (!options.restore_from.empty() && (options.read_only || options.dir.empty())) {
    throw Error("a store restored from a snapshot needs a folder it may write");
  }
  std::unique_ptr<EmbeddedStore> s(new EmbeddedStore(std::move(options)));
  if (!s->options_.dir.empty()) {
    s->lock_ = lock_folder(s->options_.dir, s->options_.read_only);
    if (!s->options_.restore_from.empty())
      restore_snapshot(s->options_.dir, s->options_.restore_from);
    s->recover();
    if (!s->options_.read_only) s->snapshotter_ = std::thread([p = s.get()] { p->snapshotter(); });
  }
  return s;
}

EmbeddedStore::~EmbeddedStore() {
  {
    std::lock_guard lock(snapshotter_mu_);
    stop_ = true;
  }
  snapshotter_cv_.notify_all();
  if (snapshotter_.joinable()) snapshotter_.join();
}

std::string EmbeddedStore::declare(const std::string& name, FeatureType type) {
  std::string error;
  registry_.define(name, type, &error);
  return error;
}

std::string EmbeddedStore::resolve(const Update& u, ResolvedUpdate& r, uint32_t& time) {
  std::string invalid = detail::validate_update(u);
  if (!invalid.empty()) return invalid;
  double t = u.time > 0 ? u.time : options_.clock();
  if (!(t >= 0 && t < 4294967296.0)) return "time out of range";
  time = static_cast<uint32_t>(t);

  // Check everything before defining anything, so that bad input changes nothing.
  // Known names keep the id found here: defining takes the registry's mutex, which
  // writers of different keys would otherwise all queue on.
  thread_local std::vector<std::optional<uint16_t>> found;
  found.clear();
  size_t new_names = 0;
  for (const auto& [name, v] : u.set) {
    auto id = registry_.find(name);
    found.push_back(id);
    if (!id) {
      if (options_.strict_schema) return "unknown feature '" + name + "'";
      ++new_names;
    } else if (registry_.type(*id) != v.type) {
      return "feature '" + name + "' is a " + std::string(feature_type_name(registry_.type(*id))) +
             ", got a " + std::string(feature_type_name(v.type));
    }
  }
  for (const auto& name : u.del) {
    if (!registry_.find(name)) return "unknown feature '" + name + "'";
  }
  if (registry_.size() + new_names > FeatureRegistry::kMaxFeatures) {
    return "too many features (at most 65535)";
  }
  r.key = u.key;
  r.time = time;
  r.set.clear();
  r.del.clear();
  for (size_t i = 0; i < u.set.size(); ++i) {
    const auto& [name, v] = u.set[i];
    auto id = found[i];
    if (!id) {
      std::string error;
      id = registry_.define(name, v.type, &error);
      if (!id) return error;  // only a race with another writer defining another type
    }
    r.set.emplace_back(*id, &v);
  }
  for (const auto& name : u.del) r.del.push_back(*registry_.find(name));
  std::sort(r.set.begin(), r.set.end(), [](auto& a, auto& b) { return a.first < b.first; });
  std::sort(r.del.begin(), r.del.end());
  for (size_t i = 1; i < r.set.size(); ++i) {
    if (r.set[i].first == r.set[i - 1].first) {
      return "feature '" + registry_.name(r.set[i].first) + "' set twice";
    }
  }
  for (uint16_t d : r.del) {
    for (const auto& s : r.set) {
      if (s.first == d) return "feature '" + registry_.name(d) + "' both set and deleted";
    }
  }
  return {};
}

Status EmbeddedStore::apply(const Update& u) {
  thread_local ResolvedUpdate r;
  thread_local std::string payload;
  uint32_t time;
  if (options_.read_only) return Status::error("the store was opened read-only");
  std::string error = resolve(u, r, time);
  if (!error.empty()) return Status::error(error);
  if (!wal_) {
    memory_.apply(r);
    return Status::ok();
  }
  detail::encode_update(u, time, payload);
  uint64_t lsn;
  try {
    // The log comes first, under the shard's lock: if it cannot take the record (a full
    // disk), the entity is untouched.
    lsn = memory_.apply(r, [&] { return wal_->append(payload); });
  } catch (const Error& e) {
    return Status::error(std::string("not logged, nothing changed: ") + e.what());
  }
  if (wal_->fsync().policy == FsyncPolicy::kAlways) {
    try {
      wal_->wait_durable(lsn);
    } catch (const Error& e) {
      return Status::error(std::string("applied and logged, but not on disk: ") + e.what());
    }
  }
  uint64_t total = wal_bytes_.fetch_add(payload.size() + 16) + payload.size() + 16;
  if (options_.snapshot_wal_bytes && total >= options_.snapshot_wal_bytes)
    snapshotter_cv_.notify_one();
  return Status::ok();
}

Status EmbeddedStore::apply_event(const EntityKey& key, double time,
                                  std::span<const EventField> fields, std::string_view id) {
  if (options_.read_only) return Status::error("the store was opened read-only");
  if (!options_.computed) return Status::error("no aggregates are declared for this store");
  std::string invalid = detail::validate_key(key);
  if (!invalid.empty()) return Status::error(invalid);
  if (fields.empty()) return Status::error("an event needs at least one field");
  // 0 is now; anything else must be a time a bucket can hold, as for apply()'s writes
  // (a NaN or a far time would otherwise shift the windows of every event after it).
  if (time != 0 && !(time > 0 && time < 4294967296.0)) {
    return Status::error("time out of range (seconds since the epoch, below 2^32)");
  }
  double t = time > 0 ? time : options_.clock();
  if (!std::isfinite(t)) return Status::error("time is not finite");
  for (const auto& f : fields) {
    if (f.name.empty()) return Status::error("empty field name");
    if (f.value.kind == ValueKind::kMissing)
      return Status::error("field '" + std::string(f.name) + "': missing");
    if (f.is_number() && !std::isfinite(f.value.number)) {
      return Status::error("field '" + std::string(f.name) + "': NaN or infinite");
    }
  }
  {
    std::lock_guard lock(computed_mu_);
    if (Status refused = options_.computed->check(fields); !refused) return refused;
  }
  thread_local std::string payload;
  uint64_t lsn = 0;
  if (id.size() > 1024) return Status::error("event id longer than 1024 bytes");
  {
    std::lock_guard lock(computed_mu_);
    uint64_t h = id.empty() ? 0 : detail::EventDedup::hash(key, id);
    if (!id.empty() && dedup_->contains(h)) {
      ++duplicates_;
      return Status::ok();
    }
    if (wal_) {
      detail::encode_event(key, t, fields, id, payload);
      try {
        lsn = wal_->append(payload);
      } catch (const Error& e) {
        return Status::error(std::string("not logged, nothing changed: ") + e.what());
      }
      computed_lsn_ = lsn;
    }
    options_.computed->apply(key, t, fields);
    if (!id.empty()) dedup_->add(h);
  }
  if (wal_ && wal_->fsync().policy == FsyncPolicy::kAlways) {
    try {
      wal_->wait_durable(lsn);
    } catch (const Error& e) {
      return Status::error(std::string("applied and logged, but not on disk: ") + e.what());
    }
  }
  return Status::ok();
}

void EmbeddedStore::get_as_of(const EntityKey& key, std::span<const std::string> features, double t,
                              std::span<FeatureValue> out) {
  get(key, features, out);
  for (size_t i = 0; i < features.size(); ++i) {
    if (options_.computed && options_.computed->has(features[i])) {
      std::lock_guard lock(computed_mu_);
      out[i] = options_.computed->read(features[i], key, t);
    } else if (out[i].present && out[i].written_at > t) {
      out[i].present = false;
    }
  }
}

EmbeddedStore::AsOfPlan EmbeddedStore::plan_as_of(std::vector<std::string> names) const {
  AsOfPlan plan;
  plan.names = std::move(names);
  for (size_t i = 0; i < plan.names.size(); ++i) {
    std::optional<uint32_t> c =
        options_.computed ? options_.computed->index_of(plan.names[i]) : std::nullopt;
    plan.computed.push_back(c ? static_cast<int32_t>(*c) : -1);
    if (c) {
      plan.computed_indices.push_back(*c);
      plan.computed_at.push_back(i);
    } else {
      plan.stored.push_back(i);
    }
  }
  return plan;
}

void EmbeddedStore::get_as_of(const EntityKey& key, AsOfPlan& plan, std::optional<double> t,
                              std::span<FeatureValue> out) {
  if (!plan.stored.empty()) {
    // Stored features by id; a name not declared yet reads as missing, and is looked for
    // again when the registry grows.
    if (plan.registry_size != registry_.size()) {
      plan.registry_size = registry_.size();
      plan.ids.clear();
      plan.found.clear();
      for (size_t i : plan.stored) {
        if (auto id = registry_.find(plan.names[i])) {
          plan.ids.push_back(*id);
          plan.found.push_back(i);
        }
      }
    }
    for (size_t i : plan.stored) out[i] = FeatureValue{};
    thread_local std::vector<FeatureValue> values;
    values.resize(plan.ids.size());
    if (!plan.ids.empty()) get(key, plan.ids, values);
    for (size_t j = 0; j < plan.found.size(); ++j) {
      FeatureValue& v = out[plan.found[j]];
      v = std::move(values[j]);
      if (t && v.present && v.written_at > *t) v.present = false;
    }
  }
  if (!plan.computed_indices.empty()) {
    thread_local std::vector<FeatureValue> values;
    values.resize(plan.computed_indices.size());
    {
      std::lock_guard lock(computed_mu_);
      options_.computed->read_many(plan.computed_indices, key, t, values);
    }
    for (size_t j = 0; j < plan.computed_at.size(); ++j) {
      out[plan.computed_at[j]] = std::move(values[j]);
    }
  }
}

void EmbeddedStore::apply_recovered(const Update& u, uint32_t time, uint64_t lsn) {
  ResolvedUpdate r;
  Update copy = u;
  copy.time = time;
  std::string error = resolve(copy, r, time);
  if (!error.empty()) {
    throw Error(options_.dir + ": WAL record " + std::to_string(lsn) +
                " cannot be applied: " + error);
  }
  memory_.apply(r, [lsn] { return lsn; });
}

void EmbeddedStore::get(const EntityKey& key, std::span<const uint16_t> features,
                        std::span<FeatureValue> out) const {
  memory_.get(key, features, out, reading_time(features));
}

void EmbeddedStore::get(const EntityKey& key, std::span<const std::string> features,
                        std::span<FeatureValue> out) {
  get_many(std::span<const EntityKey>(&key, 1), features, out);
}

void EmbeddedStore::get_many(std::span<const EntityKey> keys, std::span<const std::string> features,
                             std::span<FeatureValue> out) {
  // Unknown names read as missing: an id past the registry's end never matches a slot.
  std::vector<uint16_t> ids(features.size());
  std::vector<size_t> unknown;
  for (size_t i = 0; i < features.size(); ++i) {
    auto id = registry_.find(features[i]);
    ids[i] = id ? *id : 0;
    if (!id) unknown.push_back(i);
  }
  double now = options_.clock();
  for (size_t k = 0; k < keys.size(); ++k) {
    auto slice = out.subspan(k * features.size(), features.size());
    memory_.get(keys[k], ids, slice, now);
    for (size_t i : unknown) {
      slice[i].present = false;
      if (options_.computed && options_.computed->has(features[i])) {
        std::lock_guard lock(computed_mu_);
        slice[i] = options_.computed->read(features[i], keys[k], std::nullopt);
      }
    }
  }
}

void EmbeddedStore::get_numbers(const EntityKey& key, std::span<const uint16_t> features,
                                std::span<double> out, std::span<uint8_t> present) const {
  // Either branch ends in a tail call, so neither needs registers saved.
  if (registry_.has_ttls()) return get_numbers_checking_ttls(key, features, out, present);
  return memory_.get_numbers(key, features, out.data(), present.data(), 0.0);
}

void EmbeddedStore::get_numbers_checking_ttls(const EntityKey& key,
                                              std::span<const uint16_t> features,
                                              std::span<double> out,
                                              std::span<uint8_t> present) const {
  memory_.get_numbers(key, features, out.data(), present.data(), clock_if_ttl(features));
}

double EmbeddedStore::clock_if_ttl(std::span<const uint16_t> features) const {
  for (uint16_t f : features) {
    if (registry_.ttl_seconds(f)) return options_.clock();
  }
  return 0.0;  // no TTL to check
}

void EmbeddedStore::get_many(std::span<const EntityKey> keys, std::span<const uint16_t> features,
                             std::span<FeatureValue> out) const {
  double now = reading_time(features);
  for (size_t i = 0; i < keys.size(); ++i) {
    memory_.get(keys[i], features, out.subspan(i * features.size(), features.size()), now);
  }
}

void EmbeddedStore::for_each(
    const std::function<void(const EntityKey&,
                             const std::vector<std::pair<std::string, FeatureValue>>&)>& fn) const {
  // Copy each shard's keys under its lock, then read each entity normally.
  std::vector<EntityKey> keys;
  memory_.visit([&](size_t, uint64_t, std::span<Entity* const> entities) {
    for (const Entity* e : entities) {
      if (e->key_is_int()) {
        uint64_t id;
        std::memcpy(&id, e->key().data(), 8);
        keys.emplace_back(id);
      } else {
        keys.emplace_back(std::string(e->key()));
      }
    }
  });
  std::vector<std::string> computed;
  if (options_.computed) {
    std::lock_guard lock(computed_mu_);
    computed = options_.computed->names();
    for (auto& k : options_.computed->keys()) keys.push_back(std::move(k));
  }
  std::sort(keys.begin(), keys.end(), [](const EntityKey& a, const EntityKey& b) {
    if (a.is_int() != b.is_int()) return a.is_int();
    return a.is_int() ? a.id() < b.id() : a.text() < b.text();
  });
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  std::vector<uint16_t> all(registry_.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint16_t>(i);
  std::vector<FeatureValue> values(all.size());
  std::vector<std::pair<std::string, FeatureValue>> present;
  double now = options_.clock();
  for (const auto& key : keys) {
    memory_.get(key, all, values, now);
    present.clear();
    for (size_t i = 0; i < all.size(); ++i) {
      if (values[i].present) present.emplace_back(registry_.name(all[i]), values[i]);
    }
    for (const auto& name : computed) {
      std::lock_guard lock(computed_mu_);
      auto v = options_.computed->read(name, key, std::nullopt);
      if (v.present) present.emplace_back(name, std::move(v));
    }
    if (!present.empty()) fn(key, present);
  }
}

std::string EmbeddedStore::snapshot() {
  if (!wal_) return {};
  std::lock_guard guard(snapshot_mu_);
  // Every record up to s was applied under its shard's lock before that shard is
  // visited below, so the snapshot holds all of them (and perhaps later ones, which
  // each shard's LSN tells recovery to skip).
  uint64_t s;
  std::string computed;
  {
    // Holding the event lock across the rotation makes the computed state match LSN s.
    std::unique_lock lock(computed_mu_, std::defer_lock);
    if (options_.computed) lock.lock();
    s = wal_->rotate();
    computed = computed_state();
  }
  wal_bytes_.store(0);
  if (!lock_->still_names(options_.dir)) {
    throw Error(options_.dir +
                ": the store folder was moved or replaced while open; not "
                "writing a snapshot there");
  }
  std::string path = write_snapshot(s, computed);
  prune_snapshots();
  return path;
}

void EmbeddedStore::prune_snapshots() {
  // Keep two snapshots, and the WAL after the older one, so a corrupt newest snapshot
  // still leaves a way back.
  auto snaps = snapshots(options_.dir);
  for (size_t i = 2; i < snaps.size(); ++i) fs::remove(snaps[i].second);
  if (snaps.size() >= 2) delete_wal_through(options_.dir, snaps[1].first);
}

std::string EmbeddedStore::computed_state() const {
  if (!options_.computed) return {};
  BinaryWriter w;
  w.put_string(options_.computed->save());
  dedup_->save(w);
  return w.bytes();
}

std::string EmbeddedStore::write_snapshot(uint64_t s, const std::string& computed_state) {
  std::string raw;
  memory_.visit([&](size_t shard, uint64_t lsn, std::span<Entity* const> entities) {
    put<uint32_t>(raw, static_cast<uint32_t>(shard));
    put<uint64_t>(raw, lsn);
    put<uint64_t>(raw, entities.size());
    for (const Entity* e : entities) raw.append(reinterpret_cast<const char*>(e), e->bytes());
  });
  // The registry last: it only grows, so it names every feature the entities use.
  std::string reg;
  put<uint32_t>(reg, static_cast<uint32_t>(registry_.size()));
  for (size_t i = 0; i < registry_.size(); ++i) {
    const std::string& name = registry_.name(static_cast<uint16_t>(i));
    put<uint32_t>(reg, static_cast<uint32_t>(name.size()));
    reg += name;
    put<uint8_t>(reg, static_cast<uint8_t>(registry_.type(static_cast<uint16_t>(i))));
  }
  raw.insert(0, reg);
  put<uint8_t>(raw, options_.computed ? 1 : 0);
  if (options_.computed) {
    put<uint64_t>(raw, computed_state.size());
    raw += computed_state;
  }

  std::string file(kSnapMagic, 8);
  put<uint32_t>(file, kSnapVersion);
  put<uint64_t>(file, s);
  put<uint64_t>(file, raw.size());
  size_t bound = ZSTD_compressBound(raw.size());
  size_t at = file.size();
  file.resize(at + bound);
  size_t z = ZSTD_compress(file.data() + at, bound, raw.data(), raw.size(), 1);
  if (ZSTD_isError(z))
    throw Error(std::string("snapshot compression failed: ") + ZSTD_getErrorName(z));
  file.resize(at + z);
  put<uint64_t>(file, XXH64(file.data(), file.size(), 0));

  std::string path = options_.dir + "/" + snapshot_name(s);
  write_file_atomically(path, file);
  return path;
}

void EmbeddedStore::snapshotter() {
  std::unique_lock lock(snapshotter_mu_);
  while (!stop_) {
    snapshotter_cv_.wait(lock, [&] {
      return stop_ ||
             (options_.snapshot_wal_bytes && wal_bytes_.load() >= options_.snapshot_wal_bytes);
    });
    if (stop_) break;
    lock.unlock();
    try {
      snapshot();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "rtml: store snapshot failed: %s\n", e.what());
    }
    lock.lock();
  }
}

std::vector<std::string> EmbeddedStore::load_snapshot() {
  RecoveryReport& rep = recovery_;
  std::vector<std::string> corrupt;
  const std::string empty_computed = options_.computed ? options_.computed->save() : "";
  for (const auto& [lsn, path] : snapshots(options_.dir)) {
    try {
      std::ifstream f(path, std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(f)), {});
      if (bytes.size() < 36 || std::memcmp(bytes.data(), kSnapMagic, 8) != 0) {
        throw Error(path + ": not a snapshot (bad magic or too short)");
      }
      uint64_t stored;
      std::memcpy(&stored, bytes.data() + bytes.size() - 8, 8);
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
      if (XXH64(bytes.data(), bytes.size() - 8, 0) != stored)
        throw Error(path + ": checksum mismatch");
#endif
      Reader head{std::string_view(bytes).substr(8, 28), 0, path};
      auto version = head.get<uint32_t>();
      if (version != kSnapVersion && version != 1)
        throw Error(path + ": unsupported version " + std::to_string(version));
      uint64_t s = head.get<uint64_t>();
      uint64_t raw_size = head.get<uint64_t>();
      // The frame says its own size (ZSTD_compress writes it): a size field that
      // disagrees is damage, and must not decide how much memory is asked for.
      if (ZSTD_getFrameContentSize(bytes.data() + 28, bytes.size() - 36) != raw_size) {
        throw Error(path + ": its size field does not match its compressed content");
      }
      std::string raw = decompress_snapshot(bytes.data() + 28, bytes.size() - 36, raw_size, path);
      Reader r{raw, 0, path};
      auto features = r.get<uint32_t>();
      for (uint32_t i = 0; i < features; ++i) {
        std::string name(r.take(r.get<uint32_t>()));
        auto type = r.get<uint8_t>();
        if (type > 2) throw Error(path + ": bad feature type");
        std::string error;
        auto id = registry_.define(name, static_cast<FeatureType>(type), &error);
        if (!id || *id != i) throw Error(path + ": feature table does not match: " + error);
      }
      for (size_t sh = 0; sh < MemoryStore::kShards; ++sh) {
        auto index = r.get<uint32_t>();
        if (index != sh) throw Error(path + ": shard " + std::to_string(sh) + " missing");
        memory_.set_shard_lsn(sh, r.get<uint64_t>());
        auto count = r.get<uint64_t>();
        for (uint64_t k = 0; k < count; ++k) {
          uint32_t size;
          std::memcpy(&size, r.take(4).data(), 4);
          r.pos -= 4;
          std::string_view block = r.take(size);
          bool ok = version == 1 ? memory_.restore_v1(block) : memory_.restore(block);
          if (!ok) throw Error(path + ": malformed entity block");
        }
      }
      if (r.get<uint8_t>()) {
        auto size = r.get<uint64_t>();
        auto state = r.take(size);
        if (options_.computed) {
          try {
            BinaryReader cr{std::string(state), path};
            options_.computed->load(cr.get_string());
            dedup_->load(cr);
          } catch (const Error& e) {
            throw Error(path + ": its aggregate state cannot be used: " + e.what());
          }
          computed_lsn_ = s;
        }
      }
      rep.snapshot = path;
      rep.snapshot_lsn = s;
      break;
    } catch (const Error& e) {
      corrupt.push_back(path);
      rep.warnings.push_back(std::string(e.what()) + "; using the previous snapshot");
      memory_.clear();
      registry_.clear();
      // Aggregate state a corrupt snapshot half-loaded is replaced by the previous
      // snapshot's or rebuilt from the log.
      if (options_.computed) options_.computed->load(empty_computed);
      dedup_ = std::make_unique<detail::EventDedup>();
      computed_lsn_ = 0;
    }
  }
  return corrupt;
}

void EmbeddedStore::replay_record(const WalRecord& rec) {
  RecoveryReport& rep = recovery_;
  thread_local EntityKey event_key;
  thread_local std::vector<EventField> event_fields;
  thread_local std::string event_id;
  double event_time;
  if (detail::record_kind(rec.payload) == detail::RecordKind::kEvent) {
    if (rec.lsn <= computed_lsn_) {
      ++rep.skipped;
      return;
    }
    if (!options_.computed) {
      throw Error(options_.dir +
                  ": the log holds events, but no aggregates are declared "
                  "(pass the same --aggregates file)");
    }
    detail::decode_event(rec.payload, event_key, event_time, event_fields, event_id);
    options_.computed->apply(event_key, event_time, event_fields);
    if (!event_id.empty()) dedup_->add(detail::EventDedup::hash(event_key, event_id));
    computed_lsn_ = rec.lsn;
    ++rep.replayed;
    return;
  }
  uint32_t time;
  Update u = detail::decode_update(rec.payload, time);
  if (rec.lsn <= memory_.shard_lsn(MemoryStore::shard_of(u.key))) {
    ++rep.skipped;
    return;
  }
  apply_recovered(u, time, rec.lsn);
  ++rep.replayed;
}

uint64_t EmbeddedStore::state_lsn() const {
  uint64_t last = computed_lsn_;
  for (size_t sh = 0; sh < MemoryStore::kShards; ++sh) last = std::max(last, memory_.shard_lsn(sh));
  return last;
}

void EmbeddedStore::remove_stale_temporaries() {
  // A snapshot being written when the process died: never renamed into place, so never
  // read; only this folder's owner may remove it.
  for (const auto& entry : fs::directory_iterator(options_.dir)) {
    std::string name = entry.path().filename().string();
    if (name.rfind("snapshot-", 0) == 0 && name.size() > 9 &&
        name.compare(name.size() - 9, 9, ".snap.tmp") == 0) {
      std::error_code ec;
      fs::remove(entry.path(), ec);
    }
  }
}

void EmbeddedStore::recover() {
  auto start = std::chrono::steady_clock::now();
  RecoveryReport& rep = recovery_;
  std::vector<std::string> corrupt = load_snapshot();
  WalScan scan;
  try {
    scan = scan_wal(options_.dir, rep.snapshot_lsn + 1, WalScanMode::kStrict,
                    [&](const WalRecord& rec) { replay_record(rec); });
  } catch (const Error& e) {
    std::string why = e.what();
    for (const auto& c : corrupt) why += "; the snapshot " + c + " is corrupt";
    throw Error(why);
  }
  rep.skipped += scan.covered;
  // What a killed writer acknowledged but had not yet moved to its segment.
  const std::vector<WalRingRecord> ring = read_wal_ring(options_.dir, scan);
  for (const auto& r : ring) {
    try {
      replay_record(WalRecord{r.lsn, r.payload});
    } catch (const Error& e) {
      throw Error(detail::wal_ring_file(options_.dir) + ": LSN " + std::to_string(r.lsn) + ": " +
                  e.what());
    }
  }
  rep.from_ring = ring.size();
  // A torn tail is a record being drained from the ring when the writer died, unless
  // the ring did not go on from there.
  if (scan.torn_bytes && ring.empty()) {
    rep.torn_bytes = scan.torn_bytes;
    rep.warnings.push_back(
        scan.tail_file + ": an incomplete last record of " + std::to_string(scan.torn_bytes) +
        " bytes at byte " + std::to_string(scan.tail_offset) +
        (options_.read_only ? " (a torn tail) was passed over" : " (a torn tail) was cut"));
  }
  const uint64_t log_end =
      std::max(ring.empty() ? scan.last_lsn : ring.back().lsn, rep.snapshot_lsn);
  const uint64_t state_end = std::max(log_end, state_lsn());
  // The snapshot holds records past its own LSN (those applied while it was written).
  // The log holds them too, unless the OS lost the log's tail (a crash of the machine
  // under every=N or never): then the state is ahead of the log, and a new segment
  // after it would leave LSNs that no file holds.
  const bool log_behind = state_end > log_end;
  if (log_behind) {
    rep.warnings.push_back("the log ends at LSN " + std::to_string(log_end) +
                           ", before the snapshot's state (LSN " + std::to_string(state_end) +
                           "): its tail was lost, with what the snapshot does not hold" +
                           (options_.read_only ? "" : "; a snapshot was written to go on from"));
  }
  if (!options_.read_only) {
    const bool sync = options_.fsync.policy != FsyncPolicy::kNever;
    // What a killed writer left in the OS's hands is forced to disk before anything is
    // built on it (its last records may have been acknowledged under every=N ms).
    if (sync) sync_wal_segments(options_.dir);
    // The zeros reserved ahead of a killed writer go too; the new segment starts after.
    cut_wal_tail(scan);
    // The ring's records join the segment they were meant for before a new writer
    // replaces the ring.
    append_wal_tail(scan, ring, sync);
    // The snapshot that holds what the log lost comes before the segment that goes on
    // after it: killed in between, the store still opens.
    if (log_behind) {
      write_snapshot(state_end, computed_state());
      prune_snapshots();
    }
    wal_ = std::make_unique<WalWriter>(options_.dir, options_.fsync, state_end);
    // The dead writer's segment now names the new one, so that losing it is seen.
    std::string fresh = options_.dir + "/" + detail::wal_segment_name(state_end + 1);
    if (!scan.tail_file.empty() && scan.tail_offset >= detail::kWalHeader &&
        scan.tail_file != fresh) {
      mark_segment_end(scan.tail_file, scan.tail_offset, state_end + 1, sync);
    }
    remove_stale_temporaries();
  }
  rep.entities = memory_.entity_count();
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

namespace {

// One `dropped:` line. snapshot_state: the highest LSN the loaded snapshot holds for
// some key, so that lost LSNs up to it are said to be possibly kept.
std::string describe(const WalDamage& d, uint64_t snapshot_state) {
  std::string out = d.file + ": byte " + std::to_string(d.offset);
  if (d.bytes) out += ", " + std::to_string(d.bytes) + " bytes";
  if (d.bytes && d.first_lsn && d.last_lsn >= d.first_lsn) {
    out += d.first_lsn == d.last_lsn
               ? ", LSN " + std::to_string(d.first_lsn)
               : ", LSNs " + std::to_string(d.first_lsn) + "-" + std::to_string(d.last_lsn);
  }
  out += ": " + d.reason;
  if (d.first_lsn && d.first_lsn <= snapshot_state) {
    out += " (the snapshot holds some keys' records up to LSN " + std::to_string(snapshot_state) +
           ", so some of these may be kept)";
  }
  return out;
}

// Moves path into lost/ (created on first use), under a name not taken there yet.
std::string move_to_lost(const std::string& dir, const std::string& path) {
  fs::path lost = fs::path(dir) / "lost";
  fs::create_directories(lost);
  std::string name = fs::path(path).filename().string();
  fs::path to = lost / name;
  for (int n = 1; fs::exists(to); ++n) to = lost / (name + "." + std::to_string(n));
  fs::rename(path, to);
  return to.filename().string();
}

}  // namespace

RepairReport EmbeddedStore::repair(StoreOptions options) {
  if (options.dir.empty()) throw Error("repair needs a store folder");
  options.read_only = false;
  std::unique_ptr<EmbeddedStore> s(new EmbeddedStore(std::move(options)));
  const std::string& dir = s->options_.dir;
  if (!fs::is_directory(dir)) throw Error(dir + ": no store here (not a folder)");
  s->lock_ = lock_folder(dir, false);

  RepairReport report;
  std::vector<std::string> corrupt = s->load_snapshot();
  for (const auto& c : corrupt) report.dropped.push_back(c + ": a corrupt snapshot, not used");
  // The snapshot may hold some records past its own LSN, for some keys: lost LSNs up to
  // here may still be in it.
  const uint64_t snapshot_state = s->state_lsn();
  WalScan scan = scan_wal(dir, s->recovery_.snapshot_lsn + 1, WalScanMode::kSalvage,
                          [&](const WalRecord& rec) { s->replay_record(rec); });
  const std::vector<WalRingRecord> ring = read_wal_ring(dir, scan);
  for (const auto& r : ring) {
    try {
      s->replay_record(WalRecord{r.lsn, r.payload});
    } catch (const Error& e) {
      report.dropped.push_back(detail::wal_ring_file(dir) + ": LSN " + std::to_string(r.lsn) +
                               ": " + e.what());
    }
  }
  for (const auto& d : scan.damage) report.dropped.push_back(describe(d, snapshot_state));
  if (scan.torn_bytes && ring.empty()) {
    report.dropped.push_back(
        scan.tail_file + ": byte " + std::to_string(scan.tail_offset) + ", " +
        std::to_string(scan.torn_bytes) + " bytes, LSN " +
        std::to_string(std::max(scan.last_lsn, s->recovery_.snapshot_lsn) + 1) +
        ": an incomplete last record (a torn tail), never acknowledged");
  }
  report.records = scan.records + ring.size();
  report.entities = s->memory_.entity_count();
  if (report.dropped.empty()) return report;  // sound: change nothing

  uint64_t last = std::max(
      {ring.empty() ? scan.last_lsn : ring.back().lsn, s->recovery_.snapshot_lsn, s->state_lsn()});
  // A corrupt file holding the name the new snapshot takes goes first; then the new
  // snapshot is written before anything else moves, so that a crash during repair
  // leaves a folder that opens, or that a second repair finishes.
  std::string name = dir + "/" + snapshot_name(last);
  if (fs::exists(name) && std::find(corrupt.begin(), corrupt.end(), name) != corrupt.end()) {
    report.moved.push_back(move_to_lost(dir, name));
  }
  report.snapshot = s->write_snapshot(last, s->computed_state());
  report.lsn = last;
  for (const auto& [lsn, path] : wal_segments(dir)) report.moved.push_back(move_to_lost(dir, path));
  for (const auto& [lsn, path] : snapshots(dir)) {
    if (path != report.snapshot) report.moved.push_back(move_to_lost(dir, path));
  }
  // The usual layout again: a segment after the snapshot, for the next writer to find.
  WalWriter(dir, s->options_.fsync, last);
  fsync_dir(dir + "/lost");
  fsync_dir(dir);
  report.lost_dir = dir + "/lost";
  report.changed = true;
  return report;
}

}  // namespace rtml::store
