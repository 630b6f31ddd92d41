#include "rtml/features/key_index.h"

#include <gtest/gtest.h>

#include <string>
#include <unordered_map>

#include "rtml/core/random.h"

namespace rtml::features {
namespace {

// Keys of 0-40 bytes (inline up to 19, compared through names() beyond), some sharing
// long prefixes, interned and looked up in random order against a reference map.
TEST(KeyIndex, AgreesWithAReferenceMapForShortAndLongKeys) {
  Random rng(11);
  auto key_of = [](uint64_t n) {
    std::string k = "k" + std::to_string(n);
    k.resize(n % 41, static_cast<char>('a' + n % 7));  // lengths 0-40
    if (n % 41 > 19) k += std::to_string(n);           // long keys differ at the end
    return k;
  };
  KeyIndex index;
  std::unordered_map<std::string, uint32_t> reference;
  for (int step = 0; step < 200000; ++step) {
    std::string key = key_of(rng.below(30000));
    if (rng.uniform() < 0.6) {
      auto [it, added] = reference.emplace(key, static_cast<uint32_t>(reference.size()));
      ASSERT_EQ(index.intern(key), it->second) << "key '" << key << "' (new: " << added << ")";
    } else {
      auto it = reference.find(key);
      ASSERT_EQ(index.find(key), it == reference.end() ? KeyIndex::kNone : it->second)
          << "key '" << key << "'";
    }
  }
  ASSERT_EQ(index.size(), reference.size());
  for (const auto& [key, id] : reference) EXPECT_EQ(index.names()[id], key);
  EXPECT_EQ(index.find("absent, and longer than nineteen bytes"), KeyIndex::kNone);
  index.clear();
  EXPECT_EQ(index.find(key_of(1)), KeyIndex::kNone);
  EXPECT_EQ(index.intern("x"), 0u);
}

// Keys of the same inline length and hash bucket neighbourhood must not be confused:
// "ab" and "ba", a key and its prefix, the empty key.
TEST(KeyIndex, TellsApartKeysOfEqualLengthAndPrefixes) {
  KeyIndex index;
  EXPECT_EQ(index.intern("ab"), 0u);
  EXPECT_EQ(index.intern("ba"), 1u);
  EXPECT_EQ(index.intern("a"), 2u);
  EXPECT_EQ(index.intern(""), 3u);
  EXPECT_EQ(index.intern(std::string(19, 'z')), 4u);
  EXPECT_EQ(index.intern(std::string(20, 'z')), 5u);
  EXPECT_EQ(index.find("ab"), 0u);
  EXPECT_EQ(index.find("ba"), 1u);
  EXPECT_EQ(index.find(""), 3u);
  EXPECT_EQ(index.find(std::string(19, 'z')), 4u);
  EXPECT_EQ(index.find(std::string(20, 'z')), 5u);
  EXPECT_EQ(index.find(std::string(21, 'z')), KeyIndex::kNone);
  EXPECT_EQ(index.find("b"), KeyIndex::kNone);
}

}  // namespace
}  // namespace rtml::features
