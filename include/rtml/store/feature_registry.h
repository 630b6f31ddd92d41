// FeatureRegistry: the features a store knows, their types and groups, and each
// group's time to live.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "rtml/core/schema.h"
#include "rtml/store/types.h"

namespace rtml::store {

// Features are named "group.name" (or just "name", in group ""). A feature's type is
// fixed by its declaration or its first write. A group's TTL (seconds, 0 = forever)
// makes values older than it read as missing.
//
// Thread-safe: lookups (find, and an id's type and TTL) take no lock: ids index a
// fixed-size table, and names find their id through a fixed-size open-addressing index,
// both published with release stores. Writers of different keys therefore share no
// lock here. Defining a feature takes a mutex.
class FeatureRegistry {
 public:
  static constexpr uint32_t kMaxFeatures = 65535;

  // The id of name, or nothing if unknown. Lock-free.
  std::optional<uint16_t> find(std::string_view name) const;
  // The id of name, defining it with type if new. Returns nothing and sets error if
  // name exists with another type, is empty, or the registry is full.
  std::optional<uint16_t> define(std::string_view name, FeatureType type, std::string* error);

  FeatureType type(uint16_t id) const { return info_[id].type; }
  uint32_t ttl_seconds(uint16_t id) const { return info_[id].ttl.load(std::memory_order_relaxed); }
  // False if no group has ever been given a TTL, so that no value can expire: readers
  // then skip the per-feature TTL lookups and the clock.
  bool has_ttls() const { return any_ttl_.load(std::memory_order_relaxed); }
  const std::string& name(uint16_t id) const { return *info_[id].name; }
  size_t size() const { return count_.load(std::memory_order_acquire); }

  // Forgets every feature (group TTLs stay). Not safe while readers use the registry.
  void clear();

  // Sets the TTL of a group, for its current and future features.
  void set_group_ttl(const std::string& group, uint32_t seconds);
  std::map<std::string, uint32_t> group_ttls() const;

 private:
  struct Info {
    FeatureType type = FeatureType::kNumber;
    std::atomic<uint32_t> ttl{0};
    std::unique_ptr<std::string> name;
  };
  static std::string group_of(std::string_view name);
  // Twice kMaxFeatures rounded up to a power of two, so a probe run stays short even
  // when the registry is full.
  static constexpr size_t kIndexSlots = size_t{1} << 17;
  mutable std::shared_mutex mu_;  // guards ttls_ and every write to info_ and index_
  // Slot = id + 1 of a feature whose name hashes there (linear probing), 0 = empty.
  std::unique_ptr<std::atomic<uint32_t>[]> index_ { new std::atomic<uint32_t>[kIndexSlots] {} };
  std::map<std::string, uint32_t> ttls_;
  std::unique_ptr<Info[]> info_{new Info[kMaxFeatures]};
  std::atomic<uint32_t> count_{0};
  std::atomic<bool> any_ttl_{false};  // set for good by the first nonzero group TTL
};

}  // namespace rtml::store
