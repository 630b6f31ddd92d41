// get_numbers against get: the number reads take a short path when the entity holds
// exactly the requested features, all numbers, and a general one otherwise; both must
// answer as get does, for every kind of key, request and entity.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "rtml/core/random.h"
#include "rtml/store/embedded_store.h"

namespace rtml::store {
namespace {

constexpr size_t kNumbers = 13;  // more than 8, so that present[] spans two words
constexpr double kCanary = -12345.0;

EntityKey key_of(Random& rng, uint64_t i) {
  // Integer keys, and text keys of 1 to 20 bytes: their tails end at every offset in a word.
  if (i % 2 == 0) return EntityKey(i);
  return EntityKey(std::string(1 + rng.below(20), static_cast<char>('a' + i % 26)) +
                   std::to_string(i));
}

// Fills a store with entities holding random subsets of numbers n0..n12 and of two
// categories, and checks get_numbers and get_numbers_many against get.
void check_against_get(EmbeddedStore& s, Random& rng) {
  std::vector<std::string> names;
  for (size_t f = 0; f < kNumbers; ++f) names.push_back("n" + std::to_string(f));
  for (const char* t : {"t.x", "t.y"}) names.push_back(t);  // group "t": a TTL in one run
  for (const auto& n : names) ASSERT_EQ(s.declare(n, FeatureType::kNumber), "");
  ASSERT_EQ(s.declare("c0", FeatureType::kCategory), "");
  ASSERT_EQ(s.declare("c1", FeatureType::kCategory), "");
  names.push_back("c0");
  names.push_back("c1");

  std::vector<EntityKey> keys;
  std::vector<std::vector<uint16_t>> held;  // each entity's feature ids, ascending
  for (uint64_t i = 0; i < 400; ++i) {
    keys.push_back(key_of(rng, i));
    Update u;
    u.key = keys.back();
    std::vector<uint16_t> ids;
    for (const auto& n : names) {
      bool category = n[0] == 'c';
      // Most entities hold numbers only; a quarter hold a category as well.
      if (rng.below(3) == 0 || (category && i % 4 != 0)) continue;
      u.set.emplace_back(n, category ? FeatureValue::of_category("v" + std::to_string(i))
                                     : FeatureValue::of_number(static_cast<double>(i * 100) +
                                                               static_cast<double>(ids.size())));
      ids.push_back(*s.feature(n));
    }
    if (u.set.empty()) u.set.emplace_back("n0", FeatureValue::of_number(1.0));
    if (ids.empty()) ids.push_back(*s.feature("n0"));
    std::sort(ids.begin(), ids.end());
    ASSERT_EQ(s.apply(u).why(), "");
    held.push_back(ids);
  }
  keys.push_back(EntityKey(uint64_t{1} << 40));  // absent
  held.push_back({*s.feature("n1"), *s.feature("n2")});
  keys.push_back(EntityKey(std::string("absent")));
  held.push_back({*s.feature("n1")});

  size_t exact = 0;
  for (size_t q = 0; q < 4000; ++q) {
    size_t e = rng.below(keys.size());
    std::vector<uint16_t> want = held[e];
    switch (rng.below(5)) {
      case 0:  // exactly what the entity holds, in order: the short path when all numbers
        ++exact;
        break;
      case 1:  // a subset
        want.erase(want.begin() + static_cast<std::ptrdiff_t>(rng.below(want.size())));
        break;
      case 2:  // out of order
        std::reverse(want.begin(), want.end());
        break;
      case 3:  // as many, the last one different (it is compared in the block's last word)
        want.back() =
            static_cast<uint16_t>((want.back() + 1 + rng.below(names.size())) % (names.size() + 1));
        break;
      default:  // something else entirely, duplicates and unknown ids included
        want.clear();
        for (size_t k = 0, n = 1 + rng.below(10); k < n; ++k)
          want.push_back(static_cast<uint16_t>(rng.below(names.size() + 2)));
    }
    std::vector<FeatureValue> truth(want.size());
    s.get(keys[e], want, truth);
    // One slot past the end of each output must stay untouched.
    std::vector<double> out(want.size() + 1, kCanary);
    std::vector<uint8_t> present(want.size() + 1, 7);
    s.get_numbers(keys[e], want, std::span<double>(out.data(), want.size()),
                  std::span<uint8_t>(present.data(), want.size()));
    for (size_t k = 0; k < want.size(); ++k) {
      bool number = truth[k].present && truth[k].type == FeatureType::kNumber;
      ASSERT_EQ(present[k], number ? 1 : 0) << "key " << keys[e].to_string() << " slot " << k;
      ASSERT_EQ(out[k], number ? truth[k].number : 0.0) << "key " << keys[e].to_string();
    }
    ASSERT_EQ(out.back(), kCanary);
    ASSERT_EQ(present.back(), 7);
  }
  EXPECT_GT(exact, 700u);

  // The batched read answers as one read per key.
  std::vector<uint16_t> ids = held[0];
  std::vector<double> batch(keys.size() * ids.size());
  std::vector<uint8_t> batch_present(batch.size());
  s.get_numbers_many(keys, ids, batch, batch_present);
  std::vector<double> one(ids.size());
  std::vector<uint8_t> one_present(ids.size());
  for (size_t e = 0; e < keys.size(); ++e) {
    s.get_numbers(keys[e], ids, one, one_present);
    for (size_t k = 0; k < ids.size(); ++k) {
      ASSERT_EQ(batch[e * ids.size() + k], one[k]);
      ASSERT_EQ(batch_present[e * ids.size() + k], one_present[k]);
    }
  }
}

TEST(NumberReads, AgreeWithGetForEveryKindOfKeyRequestAndEntity) {
  auto s = EmbeddedStore::open(StoreOptions{});
  Random rng(11);
  check_against_get(*s, rng);
}

TEST(NumberReads, AgreeWithGetWhenAGroupHasATtl) {
  // Values written at 1000; read at 1100 with a 60 s TTL on group "t": t.x and t.y
  // have expired, the rest have not.
  double now = 1000;
  StoreOptions o;
  o.clock = [&now] { return now; };
  o.group_ttl_seconds["t"] = 60;
  auto s = EmbeddedStore::open(o);
  Random rng(12);
  check_against_get(*s, rng);
  now = 1100;
  uint16_t ids[2] = {*s->feature("n0"), *s->feature("t.x")};
  double out[2];
  uint8_t present[2];
  for (uint64_t i = 0; i < 400; i += 2) {
    std::vector<FeatureValue> truth(2);
    s->get(EntityKey(i), ids, truth);
    s->get_numbers(EntityKey(i), ids, out, present);
    ASSERT_FALSE(truth[1].present);
    ASSERT_EQ(present[1], 0);
    ASSERT_EQ(present[0], truth[0].present ? 1 : 0);
  }
}

// Text keys of every length 1-24 that differ from a stored key in one byte, at every
// position, read as absent; the stored key reads its value. (get and the number reads
// share the key compare, so agreeing with get cannot catch a wrong one.)
TEST(NumberReads, TextKeysDifferingInOneByteAreOtherKeys) {
  auto s = EmbeddedStore::open(StoreOptions{});
  for (size_t length = 1; length <= 24; ++length) {
    std::string stored(length, 'k');
    Update u;
    u.key = EntityKey(stored);
    u.set.emplace_back("x", FeatureValue::of_number(static_cast<double>(length)));
    ASSERT_EQ(s->apply(u).why(), "");
  }
  std::vector<uint16_t> ids = {*s->feature("x")};
  double out[1];
  uint8_t present[1];
  for (size_t length = 1; length <= 24; ++length) {
    std::string stored(length, 'k');
    s->get_numbers(EntityKey(stored), ids, out, present);
    ASSERT_TRUE(present[0]) << "length " << length;
    EXPECT_EQ(out[0], static_cast<double>(length));
    for (size_t at = 0; at < length; ++at) {
      std::string other = stored;
      other[at] = 'j';
      s->get_numbers(EntityKey(other), ids, out, present);
      EXPECT_FALSE(present[0]) << "length " << length << ", byte " << at;
    }
  }
}

}  // namespace
}  // namespace rtml::store
