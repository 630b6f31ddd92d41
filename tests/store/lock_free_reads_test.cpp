// Readers of the in-memory store take no lock (MemoryStore's seqlock): these tests
// check that a reader still sees each update whole, whatever the writers do meanwhile
// (overwrite in place, rebuild a block into another size, erase it, grow the table,
// store blocks too large to copy or from malloc).
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "../../src/store/key_hash.h"
#include "rtml/core/hash.h"
#include "rtml/core/random.h"
#include "rtml/store/embedded_store.h"

namespace rtml::store {
namespace {

TEST(StoreKeyHash, EightByteKeysHashAsXxh64) {
  Random rng(3);
  for (int i = 0; i < 100000; ++i) {
    uint64_t x = rng.next();
    std::string_view bytes(reinterpret_cast<const char*>(&x), 8);
    ASSERT_EQ(detail::key_hash(bytes, true), hash64(bytes, 0x1d));
    ASSERT_EQ(detail::key_hash(bytes, false), hash64(bytes, 0x5a));
  }
  EXPECT_EQ(EntityKey("a longer text key").hash(), hash64("a longer text key", 0x5a));
}

TEST(StoreKeyHash, TextKeysHashAsXxh64) {
  Random rng(4);
  for (size_t len = 0; len <= 70; ++len) {
    for (int i = 0; i < 200; ++i) {
      std::string text(len, ' ');
      for (char& c : text) c = static_cast<char>(rng.below(256));
      ASSERT_EQ(detail::key_hash(text, false), hash64(text, 0x5a)) << "length " << len;
    }
  }
}

// Keys of every kind the lookup compares differently: integers, 8-byte texts (compared
// as one word, like integers, but of the other kind), short and long texts.
EntityKey key_number(uint64_t i) {
  switch (i % 4) {
    case 0:
      return EntityKey(i);
    case 1:
      return EntityKey("k" + std::to_string(1000000 + i));  // 8 bytes
    case 2:
      return EntityKey(std::to_string(i));
    default:
      return EntityKey("user/" + std::to_string(i) + "/with-a-key-longer-than-a-cache-line-" +
                       std::string(40, 'x'));
  }
}

// What a writer stores for value v: a = v and b = 2v always together; c (text) and vec
// together, vec holding len(v) copies of v, where len(v) ranges past the 1 KiB a reader
// copies and the 4 KiB the arena pools.
size_t vector_length(int v) { return static_cast<size_t>(v * 37 % 1400); }

TEST(EmbeddedStoreConcurrency, LockFreeReadersSeeWholeUpdates) {
  auto s = EmbeddedStore::open(StoreOptions{});
  for (const char* n : {"a", "b"}) ASSERT_EQ(s->declare(n, FeatureType::kNumber), "");
  ASSERT_EQ(s->declare("c", FeatureType::kCategory), "");
  ASSERT_EQ(s->declare("vec", FeatureType::kVector), "");
  const uint16_t ab[2] = {*s->feature("a"), *s->feature("b")};
  const uint16_t all[4] = {ab[0], ab[1], *s->feature("c"), *s->feature("vec")};
  constexpr uint64_t kKeys = 3000;
  constexpr int kUpdates = 30000;
  // Half of all reads and writes go to a few keys, so that readers often meet a write
  // in progress.
  constexpr uint64_t kHotKeys = 8;
  auto pick = [&](Random& rng) {
    return key_number(rng.below(2) ? rng.below(kHotKeys) : rng.below(kKeys));
  };

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> reads{0}, seen{0}, seen_vectors{0}, broken{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      Random rng(10 + w);
      for (int i = 1; i <= kUpdates; ++i) {
        // New keys keep arriving (the tables grow under the readers) until the last
        // third, and then only old ones are rewritten.
        uint64_t reach = std::min<uint64_t>(kKeys, 1 + i * kKeys / (2 * kUpdates / 3));
        Update u;
        u.key = key_number(rng.below(2) ? rng.below(kHotKeys) : rng.below(reach));
        int v = static_cast<int>(rng.below(1000000)) + 1;
        uint64_t shape = rng.below(10);
        if (shape < 5) {  // numbers only: in place when the entity has them
          u.set = {{"a", FeatureValue::of_number(v)}, {"b", FeatureValue::of_number(2.0 * v)}};
        } else if (shape < 8) {  // all four: the block is rebuilt, often in a new size
          u.set = {{"a", FeatureValue::of_number(v)},
                   {"b", FeatureValue::of_number(2.0 * v)},
                   {"c", FeatureValue::of_category(std::to_string(v))},
                   {"vec", FeatureValue::of_vector(
                               std::vector<float>(vector_length(v), static_cast<float>(v)))}};
        } else if (shape < 9) {  // drop the text and the vector: the block shrinks
          u.del = {"c", "vec"};
        } else {  // drop everything: the entity goes
          u.del = {"a", "b", "c", "vec"};
        }
        ASSERT_EQ(s->apply(u).why(), "");
      }
    });
  }
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      Random rng(100 + r);
      std::vector<FeatureValue> values(4);
      std::vector<EntityKey> batch(24);
      std::vector<double> out(batch.size() * 2);
      std::vector<uint8_t> present(batch.size() * 2);
      while (!stop.load()) {
        uint64_t how = rng.below(3);
        if (how == 0) {  // numbers, one key
          double x[2];
          uint8_t p[2];
          s->get_numbers(pick(rng), ab, x, p);
          if (p[0] != p[1] || (p[0] && x[1] != 2 * x[0])) broken.fetch_add(1);
          seen.fetch_add(p[0]);
        } else if (how == 1) {  // every kind, one key
          s->get(pick(rng), all, values);
          const auto &a = values[0], &b = values[1], &c = values[2], &vec = values[3];
          if (a.present != b.present || (a.present && b.number != 2 * a.number) ||
              c.present != vec.present) {
            broken.fetch_add(1);
          } else if (c.present) {
            int v = std::stoi(c.text);
            bool whole = vec.vector.size() == vector_length(v);
            for (float f : vec.vector) whole = whole && f == static_cast<float>(v);
            if (!whole) broken.fetch_add(1);
            seen_vectors.fetch_add(1);
          }
          seen.fetch_add(a.present);
        } else {  // numbers, many keys at once
          for (auto& k : batch) k = pick(rng);
          s->get_numbers_many(batch, ab, out, present);
          for (size_t i = 0; i < batch.size(); ++i) {
            if (present[2 * i] != present[2 * i + 1] ||
                (present[2 * i] && out[2 * i + 1] != 2 * out[2 * i])) {
              broken.fetch_add(1);
            }
          }
        }
        reads.fetch_add(1);
      }
    });
  }
  threads[0].join();
  threads[1].join();
  stop = true;
  threads[2].join();
  threads[3].join();
  EXPECT_EQ(broken.load(), 0u);
  EXPECT_GT(reads.load(), 2000u);
  EXPECT_GT(seen.load(), 500u);  // the readers did meet the writers' entities
  EXPECT_GT(seen_vectors.load(), 100u);

  // Quiet now: every key reads whole.
  for (uint64_t i = 0; i < kKeys; ++i) {
    double x[2];
    uint8_t p[2];
    s->get_numbers(key_number(i), ab, x, p);
    ASSERT_EQ(p[0], p[1]) << i;
    if (p[0]) {
      ASSERT_EQ(x[1], 2 * x[0]) << i;
    }
  }
}

// The short path of get_numbers (an entity holding exactly the requested numbers) and
// the writer's commonest change (numbers overwritten in place, one word after another)
// meet head on: a few keys, 8 numbers written together as v, v+1, ..., v+7.
TEST(EmbeddedStoreConcurrency, NumberReadsSeeWholeInPlaceOverwrites) {
  auto s = EmbeddedStore::open(StoreOptions{});
  std::vector<uint16_t> ids;
  std::vector<std::string> names;
  for (int f = 0; f < 8; ++f) {
    names.push_back("n" + std::to_string(f));
    ASSERT_EQ(s->declare(names.back(), FeatureType::kNumber), "");
    ids.push_back(*s->feature(names.back()));
  }
  const std::vector<EntityKey> keys = {EntityKey(uint64_t{1}), EntityKey(uint64_t{2}),
                                       EntityKey("k1"), EntityKey("text-key-2")};
  auto update = [&](const EntityKey& key, double v) {
    Update u;
    u.key = key;
    for (int f = 0; f < 8; ++f) u.set.emplace_back(names[f], FeatureValue::of_number(v + f));
    return u;
  };
  for (const auto& k : keys) ASSERT_EQ(s->apply(update(k, 0)).why(), "");
  auto whole = [](const double* x, const uint8_t* p) {
    for (int f = 0; f < 8; ++f)
      if (!p[f] || x[f] != x[0] + f) return false;
    return true;
  };

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> reads{0}, broken{0};
  std::thread writer([&] {
    Random rng(5);
    for (int i = 1; i <= 100000; ++i) {
      ASSERT_EQ(s->apply(update(keys[rng.below(keys.size())], i)).why(), "");
    }
    stop = true;
  });
  std::thread reader([&] {
    Random rng(6);
    double x[8 * 4];
    uint8_t p[8 * 4];
    while (!stop.load()) {
      if (rng.below(4)) {
        s->get_numbers(keys[rng.below(keys.size())], ids, std::span<double>(x, 8),
                       std::span<uint8_t>(p, 8));
        if (!whole(x, p)) broken.fetch_add(1);
      } else {
        s->get_numbers_many(keys, ids, x, p);
        for (int k = 0; k < 4; ++k)
          if (!whole(x + 8 * k, p + 8 * k)) broken.fetch_add(1);
      }
      reads.fetch_add(1);
    }
  });
  writer.join();
  reader.join();
  EXPECT_EQ(broken.load(), 0u);
  EXPECT_GT(reads.load(), 1000u);
}

}  // namespace
}  // namespace rtml::store
