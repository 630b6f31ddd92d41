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
// Thread-safe: lookups of an id's type and TTL take no lock (ids index a fixed-size
// table published with release stores); defining a feature takes a mutex.
class FeatureRegistry {
 public:
  static constexpr uint32_t kMaxFeatures = 65535;

  // The id of name, or nothing if unknown.
  std::optional<uint16_t> find(std::string_view name) const;
  // The id of name, defining it with type if new. Returns nothing and sets error if
  // name exists with another type, is empty, or the registry is full.
  std::optional<uint16_t> define(std::string_view name, FeatureType type, std::string* error);

  FeatureType type(uint16_t id) const { return info_[id].type; }
  uint32_t ttl_seconds(uint16_t id) const { return info_[id].ttl.load(std::memory_order_relaxed); }
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
  mutable std::shared_mutex mu_;  // guards index_ and ttls_ and writes to info_
  StringIndex index_;
  std::map<std::string, uint32_t> ttls_;
  std::unique_ptr<Info[]> info_{new Info[kMaxFeatures]};
  std::atomic<uint32_t> count_{0};
};

}  // namespace rtml::store
