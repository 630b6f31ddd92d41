// RedisStore: the feature store interface backed by Redis, for when one machine is not
// enough.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "rtml/store/feature_store.h"

struct redisContext;

namespace rtml::store {

class RedisConnection;

struct RedisOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  // Credentials, sent with AUTH before anything else: an ACL user and its password, or
  // a password alone (the default user's, requirepass). Empty password: no AUTH.
  std::string user;
  std::string password;
  int db = 0;  // SELECTed when not 0
  // Prefix of every Redis key this store uses.
  std::string prefix = "rtml";
  // TTL in seconds by feature group, through Redis key expiry.
  std::map<std::string, uint32_t> group_ttl_seconds;
  double timeout_seconds = 2.0;
};

// The options a URL "redis://[[user]:password@]host[:port][/db]" names (port 6379 and
// database 0 by default; user and password percent-encoded, as in any URL). Throws Error
// naming what was expected for anything else; the message never shows the password.
RedisOptions redis_options_from_url(std::string_view url);

// Appends key as rtml's Redis keys name an entity: "{<text>}" or "{#<n>}" for an integer
// key, the braces a Redis Cluster hash tag, so that all of an entity's keys share a slot.
void append_entity_tag(std::string& out, const EntityKey& key);

// url with its password, if it holds one, written as "***": for messages and logs.
std::string redact_redis_url(std::string_view url);

// Layout in Redis: the features of one group of one entity live in the hash
// "<prefix>:<group>:{<key>}" (integer keys as "#<n>"; the braces a Redis Cluster hash
// tag, so that all of an entity's groups are in one slot), one field per feature, the value a
// type byte, the write time (4 bytes) and the payload. A group with a TTL has its hash
// expire that long after its last write. Feature types are kept in "<prefix>:types" so
// that every worker refuses the same wrong writes. Batch reads are pipelined: one round
// trip for any number of keys.
//
// Not thread-safe: one RedisStore (one connection) per thread.
class RedisStore final : public FeatureStore {
 public:
  // Connects, authenticates and selects the database; throws Error naming host:port if
  // Redis does not answer, refuses the credentials (at once: a wrong password is not
  // tried again) or asks for credentials none were given for.
  explicit RedisStore(RedisOptions options);
  ~RedisStore() override;

  Status apply(const Update& u) override;
  void get(const EntityKey& key, std::span<const std::string> features,
           std::span<FeatureValue> out) override;
  void get_many(std::span<const EntityKey> keys, std::span<const std::string> features,
                std::span<FeatureValue> out) override;

 private:
  std::string hash_key(const std::string& group, const EntityKey& key) const;
  // "redis HOST:PORT: ", to start an error message with the server it is about.
  std::string where() const {
    return "redis " + options_.host + ":" + std::to_string(options_.port) + ": ";
  }
  // The type of a feature, from the cache or Redis; defines it (HSETNX) when new.
  std::string check_type(const std::string& name, FeatureType type, bool define);
  RedisOptions options_;
  std::unique_ptr<RedisConnection> connection_;
  std::map<std::string, FeatureType> types_;
};

}  // namespace rtml::store
