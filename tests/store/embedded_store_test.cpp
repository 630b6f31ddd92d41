#include "rtml/store/embedded_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "../test_util.h"
#include "rtml/core/random.h"

namespace rtml::store {
namespace {

Update set(EntityKey key, std::vector<std::pair<std::string, FeatureValue>> values,
           double time = 0) {
  Update u;
  u.key = std::move(key);
  u.set = std::move(values);
  u.time = time;
  return u;
}

FeatureValue read(const EmbeddedStore& s, const EntityKey& key, const std::string& name) {
  auto id = s.feature(name);
  if (!id) return {};
  FeatureValue v;
  s.get(key, std::span<const uint16_t>(&*id, 1), std::span<FeatureValue>(&v, 1));
  return v;
}

StoreOptions options(const std::string& dir, double* clock = nullptr) {
  StoreOptions o;
  o.dir = dir;
  o.fsync = FsyncSetting::parse("always");
  o.snapshot_wal_bytes = 0;
  if (clock) o.clock = [clock] { return *clock; };
  return o;
}

TEST(EmbeddedStore, SetsReadsOverwritesAndDeletesTypedFeatures) {
  auto s = EmbeddedStore::open(StoreOptions{});
  EntityKey u1("u1");
  ASSERT_EQ(s->apply(set(u1, {{"age", FeatureValue::of_number(31)},
                              {"city", FeatureValue::of_category("Lyon")},
                              {"emb", FeatureValue::of_vector({0.5f, -1.0f})}}))
                .why(),
            "");
  EXPECT_EQ(read(*s, u1, "age").number, 31);
  EXPECT_EQ(read(*s, u1, "city").text, "Lyon");
  EXPECT_EQ(read(*s, u1, "emb").vector, (std::vector<float>{0.5f, -1.0f}));
  ASSERT_EQ(s->apply(set(u1, {{"age", FeatureValue::of_number(32)}})).why(), "");  // in place
  ASSERT_EQ(s->apply(set(u1, {{"city", FeatureValue::of_category("Villeurbanne")}})).why(), "");
  EXPECT_EQ(read(*s, u1, "age").number, 32);
  EXPECT_EQ(read(*s, u1, "city").text, "Villeurbanne");
  Update del;
  del.key = u1;
  del.del = {"city"};
  ASSERT_EQ(s->apply(del).why(), "");
  EXPECT_FALSE(read(*s, u1, "city").present);
  EXPECT_TRUE(read(*s, u1, "age").present);
  EXPECT_FALSE(read(*s, EntityKey("u2"), "age").present);
  // Integer and string keys are different entities.
  ASSERT_EQ(s->apply(set(EntityKey(uint64_t{7}), {{"age", FeatureValue::of_number(7)}})).why(), "");
  EXPECT_FALSE(read(*s, EntityKey("7"), "age").present);
  EXPECT_EQ(read(*s, EntityKey(uint64_t{7}), "age").number, 7);
  EXPECT_EQ(s->entity_count(), 2u);
}

// Empty values are values: an empty vector or text reads back present, also after the
// WAL is replayed.
TEST(EmbeddedStore, EmptyVectorsAndTextsAreKeptThroughTheWal) {
  test::TempDir dir;
  auto o = options(dir.file("s"));
  {
    auto s = EmbeddedStore::open(o);
    ASSERT_EQ(s->apply(set(EntityKey("u1"), {{"emb", FeatureValue::of_vector({})},
                                             {"city", FeatureValue::of_category("")},
                                             {"age", FeatureValue::of_number(3)}}))
                  .why(),
              "");
    EXPECT_TRUE(read(*s, EntityKey("u1"), "emb").present);
    EXPECT_TRUE(read(*s, EntityKey("u1"), "city").present);
  }
  auto again = EmbeddedStore::open(o);
  FeatureValue emb = read(*again, EntityKey("u1"), "emb");
  FeatureValue city = read(*again, EntityKey("u1"), "city");
  EXPECT_TRUE(emb.present);
  EXPECT_EQ(emb.type, FeatureType::kVector);
  EXPECT_TRUE(emb.vector.empty());
  EXPECT_TRUE(city.present);
  EXPECT_EQ(city.text, "");
  EXPECT_EQ(read(*again, EntityKey("u1"), "age").number, 3);
}

TEST(EmbeddedStore, BadInputIsRefusedAndChangesNothing) {
  test::TempDir dir;
  auto s = EmbeddedStore::open(options(dir.file("s")));
  EntityKey k("k");
  ASSERT_EQ(s->apply(set(k, {{"x", FeatureValue::of_number(1)}})).why(), "");
  auto bad = [&](const Update& u, const std::string& expected) {
    std::string e = s->apply(u).why();
    EXPECT_NE(e.find(expected), std::string::npos) << "got: " << e;
  };
  bad(set(k, {{"x", FeatureValue::of_category("one")}}), "feature 'x' is a number, got a category");
  bad(set(k, {{"y", FeatureValue::of_number(1)}, {"x", FeatureValue::of_number(NAN)}}), "NaN");
  bad(set(k, {{"x", FeatureValue::of_number(INFINITY)}}), "infinite");
  bad(set(EntityKey(std::string(1 << 20, 'k')), {{"x", FeatureValue::of_number(1)}}),
      "key of 1048576 bytes");
  bad(set(EntityKey(""), {{"x", FeatureValue::of_number(1)}}), "empty key");
  Update u;
  u.key = k;
  u.del = {"nope"};
  bad(u, "unknown feature 'nope'");
  EXPECT_EQ(read(*s, k, "x").number, 1);
  EXPECT_FALSE(s->feature("y").has_value()) << "a refused update defined a feature";
  EXPECT_EQ(s->entity_count(), 1u);

  StoreOptions strict;
  strict.strict_schema = true;
  auto t = EmbeddedStore::open(strict);
  EXPECT_EQ(t->declare("known", FeatureType::kNumber), "");
  EXPECT_EQ(t->apply(set(k, {{"known", FeatureValue::of_number(1)}})).why(), "");
  EXPECT_NE(t->apply(set(k, {{"other", FeatureValue::of_number(1)}}))
                .why()
                .find("unknown feature 'other'"),
            std::string::npos);

  // Nothing refused reached the log either.
  s.reset();
  auto again = EmbeddedStore::open(options(dir.file("s")));
  EXPECT_EQ(again->recovery().replayed, 1u);
}

TEST(EmbeddedStore, GroupTtlMakesOldValuesMissing) {
  double now = 1000;
  StoreOptions o;
  o.clock = [&now] { return now; };
  o.group_ttl_seconds["session"] = 60;
  auto s = EmbeddedStore::open(o);
  EntityKey k("k");
  ASSERT_EQ(s->apply(set(k, {{"session.clicks", FeatureValue::of_number(3)},
                             {"profile_age", FeatureValue::of_number(40)}}))
                .why(),
            "");
  now = 1060;
  EXPECT_TRUE(read(*s, k, "session.clicks").present);
  EXPECT_EQ(read(*s, k, "session.clicks").written_at, 1000);
  now = 1061;
  EXPECT_FALSE(read(*s, k, "session.clicks").present);
  EXPECT_TRUE(read(*s, k, "profile_age").present);  // group "" has no TTL
}

TEST(EmbeddedStore, BatchAndNumberReads) {
  auto s = EmbeddedStore::open(StoreOptions{});
  std::vector<EntityKey> keys;
  for (uint64_t i = 0; i < 100; ++i) {
    keys.emplace_back(i);
    ASSERT_EQ(s->apply(set(keys.back(), {{"a", FeatureValue::of_number(i)},
                                         {"b", FeatureValue::of_number(2.0 * i)}}))
                  .why(),
              "");
  }
  keys.emplace_back(uint64_t{1000});  // absent
  uint16_t ids[2] = {*s->feature("a"), *s->feature("b")};
  std::vector<FeatureValue> out(keys.size() * 2);
  s->get_many(keys, ids, out);
  EXPECT_EQ(out[2 * 42 + 1].number, 84);
  EXPECT_FALSE(out[2 * 100].present);
  double nums[2];
  uint8_t present[2];
  s->get_numbers(keys[9], ids, nums, present);
  EXPECT_EQ(nums[0], 9);
  EXPECT_EQ(present[1], 1);
  // The prefetching batch read agrees with one read per key, across groups of 16.
  std::vector<double> batch(keys.size() * 2);
  std::vector<uint8_t> batch_present(batch.size());
  s->get_numbers_many(keys, ids, batch, batch_present);
  for (size_t k = 0; k < keys.size(); ++k) {
    s->get_numbers(keys[k], ids, nums, present);
    for (size_t f = 0; f < 2; ++f) {
      EXPECT_EQ(batch[k * 2 + f], nums[f]);
      EXPECT_EQ(batch_present[k * 2 + f], present[f]);
    }
  }
  EXPECT_EQ(batch_present[100 * 2], 0);
}

TEST(EmbeddedStore, RecoversFromSnapshotAndWalAndSurvivesATornTail) {
  test::TempDir dir;
  std::string d = dir.file("s");
  {
    auto s = EmbeddedStore::open(options(d));
    for (int i = 0; i < 300; ++i) {
      ASSERT_EQ(s->apply(set(EntityKey("k" + std::to_string(i % 37)),
                             {{"n", FeatureValue::of_number(i)},
                              {"c", FeatureValue::of_category("v" + std::to_string(i))}}))
                    .why(),
                "");
      if (i == 150) s->snapshot();
    }
  }
  {
    auto s = EmbeddedStore::open(options(d));
    EXPECT_FALSE(s->recovery().snapshot.empty());
    EXPECT_GT(s->recovery().replayed, 100u);
    EXPECT_EQ(s->entity_count(), 37u);
    EXPECT_EQ(read(*s, EntityKey("k3"), "n").number, 299);  // the last i < 300 with i % 37 == 3
    EXPECT_EQ(read(*s, EntityKey("k3"), "c").text, "v299");
  }
  // Tear the newest WAL segment in the middle of its last record.
  {
    auto s = EmbeddedStore::open(options(d));
    ASSERT_EQ(s->apply(set(EntityKey("torn"), {{"n", FeatureValue::of_number(1)}})).why(), "");
  }
  std::string seg;
  for (const auto& e : std::filesystem::directory_iterator(d)) {
    std::string n = e.path().filename().string();
    if (n.rfind("wal-", 0) == 0 && n > seg) seg = n;
  }
  auto path = d + "/" + seg;
  auto size = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, size - 3);
  auto s = EmbeddedStore::open(options(d));
  // The partial record, less any zeros it ends in (which a killed writer's reserved
  // space cannot be told from).
  EXPECT_GT(s->recovery().torn_bytes, size - 3 - 20 - 8);
  EXPECT_LE(s->recovery().torn_bytes, size - 3 - 20);
  ASSERT_FALSE(s->recovery().warnings.empty());
  EXPECT_NE(s->recovery().warnings[0].find("torn tail"), std::string::npos);
  EXPECT_FALSE(read(*s, EntityKey("torn"), "n").present);
  EXPECT_EQ(s->entity_count(), 37u);
}

// A folder written by rtml before the entity block layout changed (snapshot version 1,
// made by `rtml store apply --snapshot-every 200` at commit bb4d6bb; its older WAL
// segment removed, so everything comes from the snapshot): its blocks are rebuilt in
// the current layout, read alike, and written back as a version 2 snapshot.
TEST(EmbeddedStore, ReadsAVersion1SnapshotAndRewritesIt) {
  test::TempDir dir;
  std::string d = dir.file("s");
  std::filesystem::copy(std::string(RTML_SOURCE_DIR) + "/tests/store/data/snapshot_v1", d);
  auto check = [](const EmbeddedStore& s) {
    EXPECT_EQ(s.entity_count(), 6u);
    EXPECT_EQ(read(s, EntityKey("u1"), "age").number, 31);
    EXPECT_FALSE(read(s, EntityKey("u1"), "city").present);  // deleted before the snapshot
    EXPECT_EQ(read(s, EntityKey("u2"), "city").text, "Paris");
    EXPECT_EQ(read(s, EntityKey("a-rather-long-key-of-23"), "city").text, "");
    EXPECT_EQ(read(s, EntityKey("a-rather-long-key-of-23"), "score").number, 0.5);
    EXPECT_EQ(read(s, EntityKey(uint64_t{42}), "emb").vector,
              std::vector<float>({1.5f, -2.0f, 0.25f}));
    EXPECT_EQ(read(s, EntityKey(uint64_t{9}), "score").number, -1);
    // The number read's short path relies on the rebuilt blocks' all-numbers flag.
    uint16_t ids[2] = {*s.feature("age"), *s.feature("score")};
    double out[2];
    uint8_t present[2];
    s.get_numbers(EntityKey(uint64_t{7}), ids, out, present);
    EXPECT_EQ(out[0], 3);
    EXPECT_EQ(out[1], 2.5);
    EXPECT_EQ(present[0] + present[1], 2);
  };
  {
    auto s = EmbeddedStore::open(options(d));
    ASSERT_NE(s->recovery().snapshot.find("snapshot-00000000000000000007.snap"), std::string::npos);
    check(*s);
    // Rewritten at the same LSN, in place of the old file, as version 2 (after the
    // 8-byte magic).
    std::string path = s->snapshot();
    std::ifstream f(path, std::ios::binary);
    char head[12];
    ASSERT_TRUE(f.read(head, 12));
    uint32_t version;
    std::memcpy(&version, head + 8, 4);
    EXPECT_EQ(version, 2u);
  }
  auto s = EmbeddedStore::open(options(d));
  ASSERT_EQ(s->recovery().snapshot_lsn, 7u);
  check(*s);
}

TEST(EmbeddedStore, CorruptSnapshotIsReportedAndThePreviousOneUsed) {
  test::TempDir dir;
  std::string d = dir.file("s");
  {
    auto s = EmbeddedStore::open(options(d));
    for (int i = 0; i < 100; ++i) {
      ASSERT_EQ(
          s->apply(set(EntityKey("k" + std::to_string(i)), {{"n", FeatureValue::of_number(i)}}))
              .why(),
          "");
      if (i == 30 || i == 60) s->snapshot();
    }
  }
  std::string newest;
  for (const auto& e : std::filesystem::directory_iterator(d)) {
    std::string n = e.path().filename().string();
    if (n.rfind("snapshot-", 0) == 0 && n > newest) newest = n;
  }
  ASSERT_FALSE(newest.empty());
  {
    std::fstream f(d + "/" + newest, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(40);
    f.put('\x7f');
  }
  auto s = EmbeddedStore::open(options(d));
  ASSERT_FALSE(s->recovery().warnings.empty());
  EXPECT_NE(s->recovery().warnings[0].find(newest), std::string::npos);
  EXPECT_NE(s->recovery().warnings[0].find("checksum"), std::string::npos);
  EXPECT_NE(s->recovery().snapshot.find("snapshot-"), std::string::npos);
  EXPECT_EQ(s->entity_count(), 100u);
  EXPECT_EQ(read(*s, EntityKey("k99"), "n").number, 99);
}

TEST(EmbeddedStoreConcurrency, ReadersAndWritersStress) {
  test::TempDir dir;
  StoreOptions o;
  o.dir = dir.file("s");
  o.fsync = FsyncSetting::parse("every=5ms");
  o.snapshot_wal_bytes = 64 << 10;  // snapshots run during the stress
  auto s = EmbeddedStore::open(o);
  ASSERT_EQ(s->declare("a", FeatureType::kNumber), "");
  ASSERT_EQ(s->declare("b", FeatureType::kNumber), "");
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> reads{0}, torn{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      Random rng(w + 1);
      for (int i = 0; i < 20000; ++i) {
        double v = static_cast<double>(i);
        // a and b are always written together with b = 2a: a reader must never see
        // them disagree.
        auto u = set(EntityKey(rng.below(500)),
                     {{"a", FeatureValue::of_number(v)}, {"b", FeatureValue::of_number(2 * v)}});
        if (i % 97 == 0)
          u.set.emplace_back("tag" + std::to_string(i % 5), FeatureValue::of_category("x"));
        ASSERT_EQ(s->apply(u).why(), "");
      }
    });
  }
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      Random rng(100 + r);
      uint16_t ids[2] = {*s->feature("a"), *s->feature("b")};
      double out[2];
      uint8_t present[2];
      while (!stop.load()) {
        s->get_numbers(EntityKey(rng.below(500)), ids, out, present);
        if (present[0] && out[1] != 2 * out[0]) torn.fetch_add(1);
        reads.fetch_add(1);
      }
    });
  }
  threads[0].join();
  threads[1].join();
  stop = true;
  threads[2].join();
  threads[3].join();
  EXPECT_EQ(torn.load(), 0u);
  EXPECT_GT(reads.load(), 1000u);
  s->snapshot();
  s.reset();
  auto again = EmbeddedStore::open(o);
  EXPECT_EQ(again->entity_count(), 500u);
}

// Names are looked up without a lock while writers define new ones: a reader that finds
// a name must get that name's id, and two writers defining the same name get one id.
TEST(EmbeddedStoreConcurrency, FeaturesDefinedWhileOthersLookThemUp) {
  auto s = EmbeddedStore::open(StoreOptions{});
  constexpr int kNames = 3000;
  auto name = [](int i) { return "g" + std::to_string(i % 7) + ".f" + std::to_string(i); };
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> wrong{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      // Both writers define every name, in opposite orders, so they race on each one.
      for (int k = 0; k < kNames; ++k) {
        int i = w == 0 ? k : kNames - 1 - k;
        Update u = set(EntityKey(static_cast<uint64_t>(i)),
                       {{name(i), FeatureValue::of_number(static_cast<double>(i))}});
        ASSERT_EQ(s->apply(u).why(), "");
      }
    });
  }
  threads.emplace_back([&] {
    Random rng(9);
    while (!stop.load()) {
      int i = static_cast<int>(rng.below(kNames));
      if (auto id = s->feature(name(i))) {
        if (s->registry().name(*id) != name(i)) wrong.fetch_add(1);
      }
    }
  });
  threads[0].join();
  threads[1].join();
  stop = true;
  threads[2].join();
  EXPECT_EQ(wrong.load(), 0u);
  EXPECT_EQ(s->registry().size(), static_cast<size_t>(kNames));
  std::set<uint16_t> ids;
  for (int i = 0; i < kNames; ++i) {
    auto id = s->feature(name(i));
    ASSERT_TRUE(id) << name(i);
    ids.insert(*id);
    EXPECT_EQ(read(*s, EntityKey(static_cast<uint64_t>(i)), name(i)).number, i);
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kNames));
}

}  // namespace
}  // namespace rtml::store
