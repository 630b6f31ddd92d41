#include "rtml/store/memory_store.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <mutex>

#include "atomic_words.h"
#include "blob_arena.h"
#include "entity.h"
#include "key_hash.h"
#include "page_pool.h"

namespace rtml::store {

using detail::Entity;

namespace {

[[gnu::always_inline]] inline uint64_t hash_of(const EntityKey& key) {
  return detail::key_hash(key.bytes(), key.is_int());
}

// The hash of the key stored in an entity block.
uint64_t hash_of(const Entity* e) { return detail::key_hash(e->key(), e->key_is_int()); }

// A lock-free reader's private copy of one entity block.
struct BlockCopy {
  static constexpr size_t kBytes = 1024;  // larger blocks are read under the lock
  alignas(16) uint64_t words[kBytes / 8];
  const Entity* entity() const { return reinterpret_cast<const Entity*>(words); }
};

enum class Lookup { kFound, kAbsent, kUseLock };

bool fresh(uint32_t written, uint32_t ttl, double now) {
  return ttl == 0 || now - static_cast<double>(written) <= static_cast<double>(ttl);
}

// get_numbers' reading of one entity (nullptr: absent), through an Entity (under the
// lock) or EntityWords (without it): both find slots and read times and numbers alike.
template <typename E>
[[gnu::always_inline]] inline void numbers_of(const FeatureRegistry& registry, const E* e,
                                              std::span<const uint16_t> features, double* out,
                                              uint8_t* present, double now) {
  int i = -1;
  // present[] goes out 8 flags to a store: a get's stores are what limits how many gets
  // the processor overlaps (see MemoryStore::Shard).
  uint64_t flags = 0;
  size_t k = 0;
  for (; k < features.size(); ++k) {
    i = e ? e->find(features[k], i + 1) : -1;
    uint32_t ttl = registry.ttl_seconds(features[k]);
    // Without a TTL the time is not read at all.
    bool ok = i >= 0 && registry.type(features[k]) == FeatureType::kNumber &&
              (ttl == 0 || fresh(e->time(i), ttl, now));
    flags |= static_cast<uint64_t>(ok) << (8 * (k & 7));
    out[k] = ok ? e->number(i) : 0.0;
    if ((k & 7) == 7) {
      std::memcpy(present + k - 7, &flags, 8);
      flags = 0;
    }
  }
  for (size_t j = k & ~size_t{7}; j < k; ++j, flags >>= 8) present[j] = static_cast<uint8_t>(flags);
}

// get's reading of one entity (nullptr: absent).
void values_of(const FeatureRegistry& registry, const Entity* e, std::span<const uint16_t> features,
               std::span<FeatureValue> out, double now) {
  for (size_t k = 0; k < features.size(); ++k) {
    FeatureValue& v = out[k];
    v.present = false;
    int i = e ? e->find(features[k]) : -1;
    if (i < 0 || !fresh(e->time(i), registry.ttl_seconds(features[k]), now)) continue;
    v.present = true;
    v.type = registry.type(features[k]);
    v.written_at = e->time(i);
    if (v.type == FeatureType::kNumber) {
      v.number = e->number(i);
    } else if (v.type == FeatureType::kCategory) {
      v.text.assign(e->data(i));
    } else {
      auto d = e->data(i);
      v.vector.resize(d.size() / 4);
      if (!d.empty()) std::memcpy(v.vector.data(), d.data(), d.size());
    }
  }
}

}  // namespace

// What a lock-free reader of a shard reads before its buckets. One cache line per shard,
// and every shard's line in one array of 16 KiB (4 pages), apart from the shards' other
// state: a get's first loads then hit the cache and the TLB.
struct alignas(64) MemoryStore::View {
  std::atomic<uint64_t> version{0};  // odd while a writer changes the shard (see Shard)
  // The current table: published before its mask, so a reader that loads the mask first
  // never indexes past the table it then loads.
  std::atomic<const std::atomic<uint64_t>*> table{nullptr};
  std::atomic<size_t> mask{0};
};

// One shard: an open-addressing table with linear probing and backward-shift deletion.
// A bucket is 8 bytes: the entity pointer (48 bits, 16-aligned) and a 16-bit tag from
// the key's hash, so the table is half the size it would be with full hashes (more of
// it stays in cache) and a probe touches an entity block only when the tag matches.
//
// Readers take no lock (a seqlock): a writer, holding `mu` exclusively, makes the
// version (in the shard's View) odd while it changes buckets or blocks and even again
// after; a reader reads the bucket and the entity block with atomic word loads
// (EntityWords), or copies the block, and keeps what it read only if the version was
// even and unchanged around it.
// A shared lock would cost more than its two atomic instructions: each is a full
// memory fence, so the next get cannot start its loads while this one waits on memory
// (measured with a minimal get over 1M entities: 280-312 ns without the lock, 400-455
// ns with it). For the optimistic read to be safe, everything it may touch stays
// allocated: blocks live in the arena until clear() (a released block's memory is
// reused only for a block of the same size class, so a stale pointer still leads to a
// header whose size fits the memory), old tables are kept until clear(), and the rare
// block from malloc is marked in its bucket so that its readers take the lock.
struct alignas(64) MemoryStore::Shard {
  using Bucket = std::atomic<uint64_t>;
  static constexpr uint64_t kPointerMask = ((uint64_t{1} << 48) - 1) & ~uint64_t{15};
  static constexpr uint64_t kMallocBit = 1;
  static constexpr int kOptimisticTries = 4;

  static Entity* entity_of(uint64_t b) { return reinterpret_cast<Entity*>(b & kPointerMask); }
  static uint16_t tag_of(uint64_t hash) { return static_cast<uint16_t>(hash >> 48); }
  // The tag a bucket holds (tag_of the hash of its block's key).
  static uint16_t tag_in(uint64_t b) { return static_cast<uint16_t>(b >> 48); }
  static uint64_t make(uint64_t hash, Entity* e) {
    // User-space pointers on x86-64 and AArch64 Linux fit in 48 bits unless a program
    // asks mmap for more; nothing here does.
    auto p = reinterpret_cast<uint64_t>(e);
    if ((p >> 48) || (p & 15)) std::abort();
    return (static_cast<uint64_t>(tag_of(hash)) << 48) | p |
           (detail::BlobArena::pooled(e->bytes()) ? 0 : kMallocBit);
  }
  static size_t home(uint64_t hash, size_t mask) { return (hash >> 8) & mask; }

  // Marks a writer's change for the optimistic readers; the writer holds mu exclusively.
  class Change {
   public:
    // The changes that follow are release stores, so none is seen before the odd
    // version (see atomic_words.h).
    explicit Change(Shard& s) : s_(s) {
      s_.view->version.store(s_.view->version.load(std::memory_order_relaxed) + 1,
                             std::memory_order_relaxed);
    }
    ~Change() {
      s_.view->version.store(s_.view->version.load(std::memory_order_relaxed) + 1,
                             std::memory_order_release);
    }
    Change(const Change&) = delete;
    Change& operator=(const Change&) = delete;

   private:
    Shard& s_;
  };

  mutable std::shared_mutex mu;
  View* view = nullptr;              // this shard's, in MemoryStore::views_
  detail::PagePool* pool = nullptr;  // the store's, for tables
  std::vector<Bucket*> tables;       // the last is current (memory: the store's pool); writers only
  size_t mask = 0;
  size_t count = 0;
  uint64_t lsn = 0;
  size_t entity_bytes = 0;
  detail::BlobArena arena;

  Bucket* table() const { return tables.empty() ? nullptr : tables.back(); }
  size_t bucket_bytes() const {
    size_t n = 0;
    for (size_t size = mask + 1, i = 0; i < tables.size(); ++i, size /= 2) n += size * 8;
    return n;
  }

  // Writers' lookup. Index of key's bucket, or of the empty bucket where it would go.
  size_t probe(uint64_t hash, const EntityKey& key) const {
    const Bucket* t = table();
    uint16_t tag = tag_of(hash);
    for (size_t i = home(hash, mask);; i = (i + 1) & mask) {
      uint64_t b = t[i].load(std::memory_order_relaxed);
      if (!b) return i;
      if (tag_in(b) == tag) {
        const char* block = reinterpret_cast<const char*>(entity_of(b));
        if (detail::EntityWords(block).key_equals(key.bytes(), key.is_int())) return i;
      }
    }
  }
  Entity* find(uint64_t hash, const EntityKey& key) const {
    if (tables.empty()) return nullptr;
    return entity_of(table()[probe(hash, key)].load(std::memory_order_relaxed));
  }
  void grow() {
    size_t size = tables.empty() ? 16 : (mask + 1) * 2;
    auto* fresh = static_cast<Bucket*>(pool->allocate(size * sizeof(Bucket)));
    for (size_t j = 0; j < size; ++j) new (&fresh[j]) Bucket(0);
    size_t m = size - 1;
    if (const Bucket* old = table()) {
      for (size_t j = 0; j <= mask; ++j) {
        uint64_t b = old[j].load(std::memory_order_relaxed);
        if (!b) continue;
        size_t i = home(hash_of(entity_of(b)), m);
        while (fresh[i].load(std::memory_order_relaxed)) i = (i + 1) & m;
        fresh[i].store(b, std::memory_order_relaxed);
      }
    }
    tables.push_back(fresh);
    mask = m;
    view->table.store(table(), std::memory_order_release);
    view->mask.store(mask, std::memory_order_release);
  }
  void insert(uint64_t hash, const EntityKey& key, Entity* e) {
    if ((count + 1) * 8 > (tables.empty() ? 0 : mask + 1) * 7) grow();
    size_t i = probe(hash, key);
    if (!table()[i].load(std::memory_order_relaxed)) ++count;
    table()[i].store(make(hash, e), std::memory_order_release);
  }
  void erase(size_t i) {
    Bucket* t = table();
    t[i].store(0, std::memory_order_release);
    --count;
    // Shift later members of the probe run back so that lookups still find them.
    for (size_t j = (i + 1) & mask; t[j].load(std::memory_order_relaxed); j = (j + 1) & mask) {
      uint64_t b = t[j].load(std::memory_order_relaxed);
      size_t h = home(hash_of(entity_of(b)), mask);
      bool movable = (j > i) ? (h <= i || h > j) : (h <= i && h > j);
      if (movable) {
        t[i].store(b, std::memory_order_release);
        t[j].store(0, std::memory_order_release);
        i = j;
      }
    }
  }
  // Writes a block built in scratch memory into the arena, where readers may be
  // copying the memory it reuses; call within a Change.
  Entity* place(const void* block, size_t bytes) {
    void* memory = arena.allocate(bytes);
    detail::store_words(memory, block, bytes);
    return static_cast<Entity*>(memory);
  }

  // Readers' lookup, without the lock: kFound with key's block in *found, kAbsent, or
  // kUseLock for a block from malloc (which a writer may free) or a table that changed
  // under the reader. Meaningful only if `version` then holds (see optimistic()).
  [[gnu::always_inline]] Lookup locate(uint64_t hash, const EntityKey& key,
                                       const char** found) const {
    size_t m = view->mask.load(std::memory_order_acquire);
    const Bucket* t = view->table.load(std::memory_order_acquire);
    if (!t) return Lookup::kAbsent;
    uint16_t tag = tag_of(hash);
    // Bounded: a table that changes under the reader need not show an empty bucket.
    size_t i = home(hash, m);
    for (size_t probes = 0; probes <= m; ++probes, i = (i + 1) & m) {
      uint64_t b = t[i].load(std::memory_order_acquire);
      if (!b) return Lookup::kAbsent;
      if (tag_in(b) != tag) continue;
      if (b & kMallocBit) return Lookup::kUseLock;
      const char* block = reinterpret_cast<const char*>(entity_of(b));
      detail::EntityWords words(block);
      if (words.ok() && words.key_equals(key.bytes(), key.is_int())) {
        *found = block;
        return Lookup::kFound;
      }
    }
    return Lookup::kUseLock;
  }
  // Runs read(block of key, or nullptr if absent) without the lock until no writer
  // changed the shard meanwhile. read returns false if it cannot use what it saw.
  // Returns false if the caller must read under the lock instead.
  template <typename Read>
  [[gnu::always_inline]] bool optimistic(uint64_t hash, const EntityKey& key, Read&& read) const {
    for (int attempt = 0; attempt < kOptimisticTries; ++attempt) {
      uint64_t before = view->version.load(std::memory_order_acquire);
      if (before & 1) continue;
      const char* block = nullptr;
      if (locate(hash, key, &block) == Lookup::kUseLock) return false;
      bool done = read(block);
      // Every load above was an acquire, so this one cannot move before them.
      if (done && view->version.load(std::memory_order_relaxed) == before) return true;
    }
    return false;
  }
  // get_numbers' common case, without the lock, in few instructions and fewer stores:
  // the key is present, is the first in its probe run with its tag, and its block holds
  // exactly the requested features, in the order asked, all numbers; no TTL is to be
  // checked (now == 0: everything is fresh); no writer intervenes. Returns false
  // otherwise (out and present may then hold anything; read_numbers rewrites them).
  //
  // Why short matters: while a get waits on memory nothing after it retires, so its
  // stores hold store-queue entries and its instructions reorder-buffer entries; once
  // either is full the processor stops issuing the next get's loads. With a short get,
  // several wait on memory at once. (Measured over 1M entities: adding 16 stores of
  // constants to a minimal get took it from about 200 to 380 ns. Checking the header
  // against values computed from the request and moving ids and values 16 bytes at a
  // time took BM_StoreGetNumbers from 212-267 to 133-176 ns: 181 instructions and 11
  // stores a get by callgrind, from 217 and 19.)
  template <bool kIntKey>
  [[gnu::always_inline]] static bool read_numbers_fast(const View& v, uint64_t hash,
                                                       const EntityKey& key,
                                                       std::span<const uint16_t> features,
                                                       double* out, uint8_t* present, double now) {
    const size_t n = features.size();
    const size_t key_len = kIntKey ? 8 : key.bytes().size();
    if (key_len > Entity::kKeyLengthMask) return false;  // the header could not say it
    // Everything the block's header must say is known from the request, so the header
    // is checked with two compares that wait on nothing but the block: the key field
    // (length and flags) and slot count in its top half, and a size that holds the
    // values (the header may belong to another block of the size class, see Shard).
    const Entity::Offsets at(n, key_len);
    const uint64_t header_top =
        (static_cast<uint64_t>(key_len | (kIntKey ? Entity::kIntKey : 0) | Entity::kAllNumbers)
         << 16) |
        n;
    uint64_t before = v.version.load(std::memory_order_acquire);
    size_t m = v.mask.load(std::memory_order_acquire);
    const Bucket* t = v.table.load(std::memory_order_acquire);
    if ((before & 1) || !t || now != 0.0 || n >= 0x10000) return false;
    uint16_t tag = tag_of(hash);
    size_t i = home(hash, m);
    uint64_t b;
    for (size_t probes = 0;; ++probes, i = (i + 1) & m) {
      b = t[i].load(std::memory_order_acquire);
      if (!b || probes > m) return false;
      if (tag_in(b) == tag) break;
    }
    if (b & kMallocBit) return false;
    // No prefetch of the block's second line: the value loads follow the key compare
    // without waiting on its branch, so both lines are requested together anyway
    // (measured: explicit prefetches changed single and batched reads by less than
    // the noise).
    const char* block = reinterpret_cast<const char*>(entity_of(b));
    uint64_t header = detail::load_word(block);
    if ((header >> 32) != header_top || static_cast<uint32_t>(header) < at.times) return false;
    // The header has matched the key's length and kind already.
    bool same_key = kIntKey ? detail::load_word(block + 8) == key.id()
                            : detail::EntityWords::key_bytes_equal(block, key.bytes());
    if (!same_key || !detail::ids_equal_at(block + at.ids, features)) return false;
    detail::load_doubles(out, block + at.values, n);
    // Whole words where possible: a byte loop would become a call to memset.
    constexpr uint64_t kOnes = 0x0101010101010101;
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
      std::memcpy(present + k, &kOnes, 8);
      asm("" : "+r"(k));  // keeps GCC from turning the loop into a call to memset
    }
    if (n & 4) std::memcpy(present + k, &kOnes, 4), k += 4;
    if (n & 2) std::memcpy(present + k, &kOnes, 2), k += 2;
    if (n & 1) present[k] = 1;
    detail::reader_fence();
    return v.version.load(std::memory_order_relaxed) == before;
  }
  // read_numbers_fast for a key of either kind.
  [[gnu::always_inline]] static bool read_numbers_fast(const View& v, uint64_t hash,
                                                       const EntityKey& key,
                                                       std::span<const uint16_t> features,
                                                       double* out, uint8_t* present, double now) {
    return key.is_int() ? read_numbers_fast<true>(v, hash, key, features, out, present, now)
                        : read_numbers_fast<false>(v, hash, key, features, out, present, now);
  }
  // get_numbers for one key in any case: without the lock if it can, else under it.
  void read_numbers(const FeatureRegistry& registry, uint64_t hash, const EntityKey& key,
                    std::span<const uint16_t> features, double* out, uint8_t* present,
                    double now) const {
    bool done = optimistic(hash, key, [&](const char* block) {
      if (!block) {
        numbers_of<Entity>(registry, nullptr, features, out, present, now);
        return true;
      }
      detail::EntityWords e(block);
      if (!e.ok()) return false;
      numbers_of(registry, &e, features, out, present, now);
      return true;
    });
    if (!done) read_numbers_locked(registry, hash, key, features, out, present, now);
  }
  [[gnu::noinline, gnu::cold]] void read_numbers_locked(const FeatureRegistry& registry,
                                                        uint64_t hash, const EntityKey& key,
                                                        std::span<const uint16_t> features,
                                                        double* out, uint8_t* present,
                                                        double now) const {
    std::shared_lock lock(mu);
    numbers_of(registry, find(hash, key), features, out, present, now);
  }
};

MemoryStore::MemoryStore(const FeatureRegistry& registry)
    : registry_(registry),
      pool_(std::make_unique<detail::PagePool>()),
      views_(new View[kShards]),
      shards_(new Shard[kShards]) {
  for (size_t s = 0; s < kShards; ++s) {
    shards_[s].view = &views_[s];
    shards_[s].pool = pool_.get();
    shards_[s].arena.use_pool(pool_.get());
  }
}

MemoryStore::~MemoryStore() { clear(); }

void MemoryStore::clear() {
  for (size_t s = 0; s < kShards; ++s) {
    Shard& sh = shards_[s];
    std::unique_lock lock(sh.mu);
    Shard::Change change(sh);
    // Blocks too large for the arena's pools came from malloc: free them one by one.
    if (const Shard::Bucket* t = sh.table()) {
      for (size_t i = 0; i <= sh.mask; ++i) {
        uint64_t b = t[i].load(std::memory_order_relaxed);
        if (b & Shard::kMallocBit)
          sh.arena.release(Shard::entity_of(b), Shard::entity_of(b)->bytes());
      }
    }
    sh.view->mask.store(0, std::memory_order_relaxed);
    sh.view->table.store(nullptr, std::memory_order_release);
    sh.tables.clear();
    sh.mask = 0;
    sh.arena.clear();
    sh.count = 0;
    sh.entity_bytes = 0;
    sh.lsn = 0;
  }
  // Every shard's chunks and tables are gone from view: their memory can go.
  pool_->clear();
}

uint64_t MemoryStore::apply(const ResolvedUpdate& u, const std::function<uint64_t()>& log) {
  uint64_t hash = hash_of(u.key);
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
      Shard::Change change(sh);
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
      Shard::Change change(sh);
      sh.entity_bytes -= e->bytes();
      sh.erase(sh.probe(hash, u.key));
      sh.arena.release(e, e->bytes());
    }
    return lsn;
  }
  // Build the block aside (it reads the old one), then publish it in one change.
  size_t size = Entity::size_for(u.key.bytes(), merged);
  thread_local std::vector<uint64_t> scratch;
  scratch.assign((size + 7) / 8, 0);
  Entity::make(scratch.data(), u.key.bytes(), u.key.is_int(), merged);
  Shard::Change change(sh);
  Entity* fresh = sh.place(scratch.data(), size);
  sh.entity_bytes += fresh->bytes();
  if (e) sh.entity_bytes -= e->bytes();
  sh.insert(hash, u.key, fresh);
  if (e) sh.arena.release(e, e->bytes());
  return lsn;
}

void MemoryStore::get(const EntityKey& key, std::span<const uint16_t> features,
                      std::span<FeatureValue> out, double now) const {
  uint64_t hash = hash_of(key);
  const Shard& sh = shards_[hash % kShards];
  // Copy the block (texts and vectors included), and parse the copy once it is known
  // to be consistent.
  BlockCopy copy;
  bool found = false;
  bool read = sh.optimistic(hash, key, [&](const char* block) {
    found = block != nullptr;
    if (!found) return true;
    detail::EntityWords words(block);
    if (!words.ok() || words.bytes() > BlockCopy::kBytes) return false;
    detail::load_words(copy.words, block, (words.bytes() + 7) / 8);
    return true;
  });
  if (read) return values_of(registry_, found ? copy.entity() : nullptr, features, out, now);
  std::shared_lock lock(sh.mu);
  values_of(registry_, sh.find(hash, key), features, out, now);
}

void MemoryStore::get_numbers(const EntityKey& key, std::span<const uint16_t> features, double* out,
                              uint8_t* present, double now) const {
  // Integer keys take the lock-free common case here. A text key's hash is a call, and
  // the values here would then need saving (stores), so text keys go out of line.
  if (key.is_int()) {
    uint64_t hash = hash_of(key);
    if (Shard::read_numbers_fast<true>(views_[hash % kShards], hash, key, features, out, present,
                                       now))
      return;
  }
  // A tail call with the same arguments, so that no value here outlives a call. (GCC
  // still saves 6 registers on entry: the common case needs more than the 3 scratch
  // registers left free while it keeps its 6 arguments for this call.)
  return get_numbers_slow(key, features, out, present, now);
}

void MemoryStore::get_numbers_slow(const EntityKey& key, std::span<const uint16_t> features,
                                   double* out, uint8_t* present, double now) const {
  uint64_t hash = hash_of(key);
  const Shard& sh = shards_[hash % kShards];
  // Integer keys have tried the common case already.
  if (!key.is_int() &&
      Shard::read_numbers_fast<false>(*sh.view, hash, key, features, out, present, now))
    return;
  sh.read_numbers(registry_, hash, key, features, out, present, now);
}

void MemoryStore::get_numbers_many(std::span<const EntityKey> keys,
                                   std::span<const uint16_t> features, std::span<double> out,
                                   std::span<uint8_t> present, double now) const {
  constexpr size_t kGroup = 16;
  const size_t nf = features.size();
  uint64_t hashes[kGroup];
  for (size_t start = 0; start < keys.size(); start += kGroup) {
    size_t n = std::min(kGroup, keys.size() - start);
    // 1: hash, and prefetch the first bucket each key probes.
    for (size_t i = 0; i < n; ++i) {
      hashes[i] = hash_of(keys[start + i]);
      const View& v = views_[hashes[i] % kShards];
      size_t m = v.mask.load(std::memory_order_acquire);
      const Shard::Bucket* t = v.table.load(std::memory_order_acquire);
      if (t) __builtin_prefetch(&t[Shard::home(hashes[i], m)]);
    }
    // 2: prefetch the block of the first bucket with the key's tag (a hint only).
    for (size_t i = 0; i < n; ++i) {
      const View& v = views_[hashes[i] % kShards];
      size_t m = v.mask.load(std::memory_order_acquire);
      const Shard::Bucket* t = v.table.load(std::memory_order_acquire);
      if (!t) continue;
      for (size_t j = Shard::home(hashes[i], m), probes = 0; probes <= m;
           ++probes, j = (j + 1) & m) {
        uint64_t b = t[j].load(std::memory_order_relaxed);
        if (!b) break;
        if (Shard::tag_in(b) == Shard::tag_of(hashes[i])) {
          __builtin_prefetch(Shard::entity_of(b));
          break;
        }
      }
    }
    // 3: read each key as get_numbers does.
    for (size_t i = 0; i < n; ++i) {
      size_t at = (start + i) * nf;
      const View& v = views_[hashes[i] % kShards];
      double* o = out.data() + at;
      uint8_t* p = present.data() + at;
      if (!Shard::read_numbers_fast(v, hashes[i], keys[start + i], features, o, p, now))
        shards_[hashes[i] % kShards].read_numbers(registry_, hashes[i], keys[start + i], features,
                                                  o, p, now);
    }
  }
}

void MemoryStore::visit(const Visitor& fn) const {
  std::vector<Entity*> entities;
  for (size_t s = 0; s < kShards; ++s) {
    const Shard& sh = shards_[s];
    std::shared_lock lock(sh.mu);
    entities.clear();
    if (const Shard::Bucket* t = sh.table()) {
      for (size_t i = 0; i <= sh.mask; ++i) {
        uint64_t b = t[i].load(std::memory_order_relaxed);
        if (b) entities.push_back(Shard::entity_of(b));
      }
    }
    fn(s, sh.lsn, entities);
  }
}

bool MemoryStore::restore(std::string_view block) {
  // The header (see Entity): u32 size, u16 slots, u16 key length and flags; the key
  // follows at byte 8. Read with memcpy: the block may be unaligned.
  if (block.size() < 8) return false;
  uint32_t size;
  uint16_t n, key_field;
  std::memcpy(&size, block.data(), 4);
  std::memcpy(&n, block.data() + 4, 2);
  std::memcpy(&key_field, block.data() + 6, 2);
  size_t key_len = key_field & Entity::kKeyLengthMask;
  bool is_int = key_field & Entity::kIntKey;
  Entity::Offsets at(n, key_len);
  if (size != block.size() || at.data > size || (is_int && key_len != 8) ||
      (key_field & ~(Entity::kKeyLengthMask | Entity::kIntKey | Entity::kAllNumbers)))
    return false;
  // Slots must be in id order, of known features, and their texts and vectors inside
  // the block; the all-numbers flag must say the truth, since readers trust it.
  bool all_numbers = true;
  for (size_t i = 0; i < n; ++i) {
    uint16_t f;
    uint64_t v;
    std::memcpy(&f, block.data() + at.ids + 2 * i, 2);
    std::memcpy(&v, block.data() + at.values + 8 * i, 8);
    if (f >= registry_.size()) return false;
    if (i > 0) {
      uint16_t prev;
      std::memcpy(&prev, block.data() + at.ids + 2 * (i - 1), 2);
      if (prev >= f) return false;
    }
    if (registry_.type(f) == FeatureType::kNumber) continue;
    all_numbers = false;
    if ((v >> 32) + (v & 0xffffffffu) > size - at.data) return false;
  }
  if (all_numbers != bool(key_field & Entity::kAllNumbers)) return false;
  EntityKey key;
  if (is_int) {
    uint64_t id;
    std::memcpy(&id, block.data() + 8, 8);
    key = EntityKey(id);
  } else {
    key = EntityKey(std::string(block.substr(8, key_len)));
  }
  uint64_t hash = hash_of(key);
  Shard& sh = shards_[hash % kShards];
  std::unique_lock lock(sh.mu);
  Shard::Change change(sh);
  Entity* old = sh.find(hash, key);
  Entity* fresh = sh.place(block.data(), block.size());
  sh.insert(hash, key, fresh);
  if (old) {
    sh.entity_bytes -= old->bytes();
    sh.arena.release(old, old->bytes());
  }
  sh.entity_bytes += fresh->bytes();
  return true;
}

bool MemoryStore::restore_v1(std::string_view block) {
  // Version 1 (snapshots before the number-read layout): a 16-byte header (u32 size,
  // u16 slots, u16 key length, u8 integer key, 3 bytes, u32 ids offset), the key at 16,
  // ids, times (4-aligned), values (8-aligned), data. Rebuilt as a current block.
  if (block.size() < 16) return false;
  uint32_t size;
  uint16_t n, key_len;
  uint8_t is_int;
  std::memcpy(&size, block.data(), 4);
  std::memcpy(&n, block.data() + 4, 2);
  std::memcpy(&key_len, block.data() + 6, 2);
  std::memcpy(&is_int, block.data() + 8, 1);
  auto align = [](size_t v, size_t a) { return (v + a - 1) & ~(a - 1); };
  size_t ids = align(16u + key_len, 2), times = align(ids + 2u * n, 4);
  size_t values = align(times + 4u * n, 8), data = values + 8u * n;
  if (size != block.size() || data > size || key_len > EntityKey::kMaxKeyBytes ||
      (is_int && key_len != 8))
    return false;
  std::vector<Entity::Slot> slots(n);
  for (size_t i = 0; i < n; ++i) {
    Entity::Slot& s = slots[i];
    uint64_t v;
    std::memcpy(&s.feature, block.data() + ids + 2 * i, 2);
    std::memcpy(&s.time, block.data() + times + 4 * i, 4);
    std::memcpy(&v, block.data() + values + 8 * i, 8);
    if (s.feature >= registry_.size()) return false;
    s.type = registry_.type(s.feature);
    if (s.type == FeatureType::kNumber) {
      std::memcpy(&s.number, &v, 8);
    } else {
      if ((v >> 32) + (v & 0xffffffffu) > size - data) return false;
      s.data = block.substr(data + (v >> 32), v & 0xffffffffu);
    }
  }
  std::string_view key = block.substr(16, key_len);
  std::vector<uint64_t> memory((Entity::size_for(key, slots) + 7) / 8);
  Entity* e = Entity::make(memory.data(), key, is_int != 0, slots);
  return restore(std::string_view(reinterpret_cast<const char*>(e), e->bytes()));
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
    n += shards_[s].arena.bytes() + shards_[s].bucket_bytes();
  }
  return n;
}

}  // namespace rtml::store
