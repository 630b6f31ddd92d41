#include "rtml/store/memory_store.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <mutex>

#include "blob_arena.h"
#include "entity.h"

namespace rtml::store {

using detail::Entity;

// The hash of the key stored in an entity block.
uint64_t hash_of(const Entity* e) {
  if (e->key_is_int()) {
    uint64_t id;
    std::memcpy(&id, e->key().data(), 8);
    return EntityKey(id).hash();
  }
  return EntityKey(std::string(e->key())).hash();
}

// One shard: an open-addressing table with linear probing and backward-shift deletion.
// A bucket is 8 bytes: the entity pointer (48 bits) and a 16-bit tag from the key's
// hash, so the table is half the size it would be with full hashes (more of it stays
// in cache) and a probe touches an entity block only when the tag matches.
struct alignas(64) MemoryStore::Shard {
  struct Bucket {
    uint64_t packed = 0;
    Entity* entity() const { return reinterpret_cast<Entity*>(packed & kPointerMask); }
    uint16_t tag() const { return static_cast<uint16_t>(packed >> 48); }
  };
  static constexpr uint64_t kPointerMask = (uint64_t{1} << 48) - 1;
  static uint16_t tag_of(uint64_t hash) { return static_cast<uint16_t>(hash >> 48); }
  static Bucket make(uint64_t hash, Entity* e) {
    // User-space pointers on x86-64 and AArch64 Linux fit in 48 bits unless a program
    // asks mmap for more; nothing here does.
    if (reinterpret_cast<uint64_t>(e) >> 48) std::abort();
    return Bucket{(static_cast<uint64_t>(tag_of(hash)) << 48) | reinterpret_cast<uint64_t>(e)};
  }
  static size_t home(uint64_t hash, size_t mask) { return (hash >> 8) & mask; }

  mutable std::shared_mutex mu;
  std::vector<Bucket> table;
  size_t count = 0;
  uint64_t lsn = 0;
  size_t entity_bytes = 0;
  detail::BlobArena arena;

  static bool same(const Entity* e, const EntityKey& key) {
    return e->key_is_int() == key.is_int() && e->key() == key.bytes();
  }
  // Index of key's bucket, or of the empty bucket where it would go.
  size_t probe(uint64_t hash, const EntityKey& key) const {
    size_t mask = table.size() - 1;
    uint16_t tag = tag_of(hash);
    for (size_t i = home(hash, mask);; i = (i + 1) & mask) {
      const Bucket& b = table[i];
      if (!b.packed) return i;
      if (b.tag() == tag) {
        // The key compare waits on the block's first line; fetch the lines after it
        // (feature ids, times, values) at the same time rather than one after another.
        const char* block = reinterpret_cast<const char*>(b.entity());
        __builtin_prefetch(block + 64);
        __builtin_prefetch(block + 128);
        __builtin_prefetch(block + 192);
        if (same(b.entity(), key)) return i;
      }
    }
  }
  Entity* find(uint64_t hash, const EntityKey& key) const {
    if (table.empty()) return nullptr;
    return table[probe(hash, key)].entity();
  }
  void grow() {
    std::vector<Bucket> old;
    old.swap(table);
    table.assign(old.empty() ? 16 : old.size() * 2, Bucket{});
    size_t mask = table.size() - 1;
    for (const Bucket& b : old) {
      if (!b.packed) continue;
      size_t i = home(hash_of(b.entity()), mask);
      while (table[i].packed) i = (i + 1) & mask;
      table[i] = b;
    }
  }
  void insert(uint64_t hash, const EntityKey& key, Entity* e) {
    if ((count + 1) * 8 > table.size() * 7) grow();
    size_t i = probe(hash, key);
    if (!table[i].packed) ++count;
    table[i] = make(hash, e);
  }
  void erase(size_t i) {
    size_t mask = table.size() - 1;
    table[i] = Bucket{};
    --count;
    // Shift later members of the probe run back so that lookups still find them.
    for (size_t j = (i + 1) & mask; table[j].packed; j = (j + 1) & mask) {
      size_t h = home(hash_of(table[j].entity()), mask);
      bool movable = (j > i) ? (h <= i || h > j) : (h <= i && h > j);
      if (movable) {
        table[i] = table[j];
        table[j] = Bucket{};
        i = j;
      }
    }
  }
};

MemoryStore::MemoryStore(const FeatureRegistry& registry)
    : registry_(registry), shards_(new Shard[kShards]) {}

MemoryStore::~MemoryStore() { clear(); }

void MemoryStore::clear() {
  for (size_t s = 0; s < kShards; ++s) {
    Shard& sh = shards_[s];
    std::unique_lock lock(sh.mu);
    sh.table.clear();
    sh.arena.clear();
    sh.count = 0;
    sh.entity_bytes = 0;
    sh.lsn = 0;
  }
}

uint64_t MemoryStore::apply(const ResolvedUpdate& u, const std::function<uint64_t()>& log) {
  uint64_t hash = u.key.hash();
  Shard& sh = shards_[hash % kShards];
  std::unique_lock lock(sh.mu);
  uint64_t lsn = log ? log() : 0;
  if (lsn) sh.lsn = lsn;
  Entity* e = sh.find(hash, u.key);

  // Fast path: every written feature already holds a number; overwrite in place.
  if (e && u.del.empty()) {
    bool in_place = true;
    for (const auto& [id, v] : u.set) {
      if (v->type != FeatureType::kNumber || e->find(id) < 0) {
        in_place = false;
        break;
      }
    }
    if (in_place) {
      for (const auto& [id, v] : u.set) e->set_number(e->find(id), v->number, u.time);
      return lsn;
    }
  }

  // Rebuild the entity with the merged slots, sorted by feature id.
  thread_local std::vector<Entity::Slot> slots, merged;
  slots.clear();
  if (e) e->slots(slots, [&](uint16_t f) { return registry_.type(f); });
  merged.clear();
  size_t a = 0, b = 0;
  while (a < slots.size() || b < u.set.size()) {
    if (b == u.set.size() || (a < slots.size() && slots[a].feature < u.set[b].first)) {
      if (!std::binary_search(u.del.begin(), u.del.end(), slots[a].feature))
        merged.push_back(slots[a]);
      ++a;
      continue;
    }
    if (a < slots.size() && slots[a].feature == u.set[b].first) ++a;  // overwritten
    const FeatureValue& v = *u.set[b].second;
    Entity::Slot s{u.set[b].first, u.time, v.type, v.number, {}};
    if (v.type == FeatureType::kCategory) s.data = v.text;
    if (v.type == FeatureType::kVector) {
      s.data =
          std::string_view(reinterpret_cast<const char*>(v.vector.data()), v.vector.size() * 4);
    }
    merged.push_back(s);
    ++b;
  }
  if (merged.empty()) {
    if (e) {
      sh.entity_bytes -= e->bytes();
      sh.erase(sh.probe(hash, u.key));
      sh.arena.release(e, e->bytes());
    }
    return lsn;
  }
  size_t size = Entity::size_for(u.key.bytes(), merged);
  Entity* fresh = Entity::make(sh.arena.allocate(size), u.key.bytes(), u.key.is_int(), merged);
  sh.entity_bytes += fresh->bytes();
  if (e) sh.entity_bytes -= e->bytes();
  sh.insert(hash, u.key, fresh);
  if (e) sh.arena.release(e, e->bytes());
  return lsn;
}

namespace {

bool fresh(uint32_t written, uint32_t ttl, double now) {
  return ttl == 0 || now - static_cast<double>(written) <= static_cast<double>(ttl);
}

}  // namespace

void MemoryStore::get(const EntityKey& key, std::span<const uint16_t> features,
                      std::span<FeatureValue> out, double now) const {
  uint64_t hash = key.hash();
  const Shard& sh = shards_[hash % kShards];
  std::shared_lock lock(sh.mu);
  const Entity* e = sh.find(hash, key);
  for (size_t k = 0; k < features.size(); ++k) {
    FeatureValue& v = out[k];
    v.present = false;
    int i = e ? e->find(features[k]) : -1;
    if (i < 0 || !fresh(e->time(i), registry_.ttl_seconds(features[k]), now)) continue;
    v.present = true;
    v.type = registry_.type(features[k]);
    v.written_at = e->time(i);
    if (v.type == FeatureType::kNumber) {
      v.number = e->number(i);
    } else if (v.type == FeatureType::kCategory) {
      v.text.assign(e->data(i));
    } else {
      auto d = e->data(i);
      v.vector.resize(d.size() / 4);
      std::memcpy(v.vector.data(), d.data(), d.size());
    }
  }
}

void MemoryStore::get_numbers(const EntityKey& key, std::span<const uint16_t> features,
                              std::span<double> out, std::span<uint8_t> present, double now) const {
  uint64_t hash = key.hash();
  const Shard& sh = shards_[hash % kShards];
  std::shared_lock lock(sh.mu);
  const Entity* e = sh.find(hash, key);
  for (size_t k = 0; k < features.size(); ++k) {
    int i = e ? e->find(features[k]) : -1;
    bool ok = i >= 0 && registry_.type(features[k]) == FeatureType::kNumber &&
              fresh(e->time(i), registry_.ttl_seconds(features[k]), now);
    present[k] = ok;
    out[k] = ok ? e->number(i) : 0.0;
  }
}

void MemoryStore::get_numbers_many(std::span<const EntityKey> keys,
                                   std::span<const uint16_t> features, std::span<double> out,
                                   std::span<uint8_t> present, double now) const {
  constexpr size_t kGroup = 16;
  const size_t nf = features.size();
  uint64_t hashes[kGroup];
  const Entity* entities[kGroup];
  for (size_t start = 0; start < keys.size(); start += kGroup) {
    size_t n = std::min(kGroup, keys.size() - start);
    // 1: hash, and prefetch the first bucket each key probes.
    for (size_t i = 0; i < n; ++i) {
      hashes[i] = keys[start + i].hash();
      const Shard& sh = shards_[hashes[i] % kShards];
      std::shared_lock lock(sh.mu);
      if (!sh.table.empty()) {
        __builtin_prefetch(&sh.table[Shard::home(hashes[i], sh.table.size() - 1)]);
      }
    }
    // 2: probe, and prefetch each entity.
    for (size_t i = 0; i < n; ++i) {
      const Shard& sh = shards_[hashes[i] % kShards];
      std::shared_lock lock(sh.mu);
      if (sh.table.empty()) continue;
      const Entity* e = sh.table[sh.probe(hashes[i], keys[start + i])].entity();
      if (e) __builtin_prefetch(e);
    }
    // 3: read under the lock again (the entity may have changed in between).
    for (size_t i = 0; i < n; ++i) {
      const Shard& sh = shards_[hashes[i] % kShards];
      std::shared_lock lock(sh.mu);
      entities[i] = sh.find(hashes[i], keys[start + i]);
      const Entity* e = entities[i];
      size_t base = (start + i) * nf;
      for (size_t k = 0; k < nf; ++k) {
        int slot = e ? e->find(features[k]) : -1;
        bool ok = slot >= 0 && registry_.type(features[k]) == FeatureType::kNumber &&
                  fresh(e->time(slot), registry_.ttl_seconds(features[k]), now);
        present[base + k] = ok;
        out[base + k] = ok ? e->number(slot) : 0.0;
      }
    }
  }
}

void MemoryStore::visit(const Visitor& fn) const {
  std::vector<Entity*> entities;
  for (size_t s = 0; s < kShards; ++s) {
    const Shard& sh = shards_[s];
    std::shared_lock lock(sh.mu);
    entities.clear();
    for (const auto& b : sh.table) {
      if (b.packed) entities.push_back(b.entity());
    }
    fn(s, sh.lsn, entities);
  }
}

bool MemoryStore::restore(std::string_view block) {
  // The header (see Entity): u32 size, u16 slots, u16 key length, u8 integer key; the
  // key follows at byte 16. Read with memcpy: the block may be unaligned.
  if (block.size() < 16) return false;
  uint32_t size;
  uint16_t key_len;
  uint8_t is_int;
  std::memcpy(&size, block.data(), 4);
  std::memcpy(&key_len, block.data() + 6, 2);
  std::memcpy(&is_int, block.data() + 8, 1);
  if (size != block.size() || 16u + key_len > block.size() || (is_int && key_len != 8))
    return false;
  EntityKey key;
  if (is_int) {
    uint64_t id;
    std::memcpy(&id, block.data() + 16, 8);
    key = EntityKey(id);
  } else {
    key = EntityKey(std::string(block.substr(16, key_len)));
  }
  uint64_t hash = key.hash();
  Shard& sh = shards_[hash % kShards];
  std::unique_lock lock(sh.mu);
  if (Entity* old = sh.find(hash, key)) {
    sh.entity_bytes -= old->bytes();
    sh.arena.release(old, old->bytes());
  }
  void* memory = sh.arena.allocate(block.size());
  std::memcpy(memory, block.data(), block.size());
  auto* fresh = static_cast<Entity*>(memory);
  sh.insert(hash, key, fresh);
  sh.entity_bytes += fresh->bytes();
  return true;
}

void MemoryStore::set_shard_lsn(size_t shard, uint64_t lsn) {
  std::unique_lock lock(shards_[shard].mu);
  shards_[shard].lsn = lsn;
}

uint64_t MemoryStore::shard_lsn(size_t shard) const {
  std::shared_lock lock(shards_[shard].mu);
  return shards_[shard].lsn;
}

size_t MemoryStore::entity_count() const {
  size_t n = 0;
  for (size_t s = 0; s < kShards; ++s) {
    std::shared_lock lock(shards_[s].mu);
    n += shards_[s].count;
  }
  return n;
}

size_t MemoryStore::memory_bytes() const {
  size_t n = 0;
  for (size_t s = 0; s < kShards; ++s) {
    std::shared_lock lock(shards_[s].mu);
    n += shards_[s].arena.bytes() + shards_[s].table.capacity() * sizeof(Shard::Bucket);
  }
  return n;
}

}  // namespace rtml::store
