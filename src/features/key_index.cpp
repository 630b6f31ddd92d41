#include "rtml/features/key_index.h"

#include <cstring>

#include "rtml/core/hash.h"

namespace rtml::features {

bool KeyIndex::holds(const Slot& s, uint64_t hash, std::string_view key) const {
  if (s.hash != hash) return false;
  if (s.length == kLong) return key.size() > kInlineKey && names_[s.id] == key;
  return s.length == key.size() && std::memcmp(s.text, key.data(), key.size()) == 0;
}

size_t KeyIndex::probe(uint64_t hash, std::string_view key) const {
  size_t mask = slots_.size() - 1;
  size_t i = hash & mask;
  while (slots_[i].id != kNone && !holds(slots_[i], hash, key)) i = (i + 1) & mask;
  return i;
}

uint32_t KeyIndex::find(std::string_view key) const {
  if (slots_.empty()) return kNone;
  return slots_[probe(hash64(key), key)].id;
}

uint32_t KeyIndex::intern(std::string_view key) {
  if ((names_.size() + 1) * 2 > slots_.size()) grow();
  uint64_t hash = hash64(key);
  Slot& s = slots_[probe(hash, key)];
  if (s.id != kNone) return s.id;
  s.hash = hash;
  s.id = static_cast<uint32_t>(names_.size());
  if (key.size() <= kInlineKey) {
    s.length = static_cast<uint8_t>(key.size());
    std::memcpy(s.text, key.data(), key.size());
  } else {
    s.length = kLong;
  }
  names_.emplace_back(key);
  return s.id;
}

void KeyIndex::grow() {
  decltype(slots_) old(slots_.empty() ? 16 : slots_.size() * 2);
  old.swap(slots_);
  size_t mask = slots_.size() - 1;
  for (const Slot& s : old) {
    if (s.id == kNone) continue;
    size_t i = s.hash & mask;
    while (slots_[i].id != kNone) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

void KeyIndex::clear() {
  slots_.clear();
  names_.clear();
}

}  // namespace rtml::features
