#include "rtml/store/redis_store.h"

#include <hiredis/hiredis.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>

#include "rtml/core/error.h"
#include "rtml/store/redis_connection.h"
#include "validate.h"

namespace rtml::store {
namespace {

double system_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string encode(const FeatureValue& v, uint32_t time) {
  std::string out(1, static_cast<char>(v.type));
  out.append(reinterpret_cast<const char*>(&time), 4);
  if (v.type == FeatureType::kNumber) {
    out.append(reinterpret_cast<const char*>(&v.number), 8);
  } else if (v.type == FeatureType::kCategory) {
    out += v.text;
  } else {
    out.append(reinterpret_cast<const char*>(v.vector.data()), v.vector.size() * sizeof(float));
  }
  return out;
}

void decode(const redisReply* r, FeatureValue& v) {
  v.present = false;
  if (!r || r->type != REDIS_REPLY_STRING || r->len < 5) return;
  auto type = static_cast<uint8_t>(r->str[0]);
  uint32_t time;
  std::memcpy(&time, r->str + 1, 4);
  const char* p = r->str + 5;
  size_t n = r->len - 5;
  if (type == 0 && n == 8) {
    v.type = FeatureType::kNumber;
    std::memcpy(&v.number, p, 8);
  } else if (type == 1) {
    v.type = FeatureType::kCategory;
    v.text.assign(p, n);
  } else if (type == 2 && n % 4 == 0) {
    v.type = FeatureType::kVector;
    v.vector.resize(n / 4);
    if (n) std::memcpy(v.vector.data(), p, n);
  } else {
    return;
  }
  v.written_at = time;
  v.present = true;
}

// A command's arguments, queued on a connection (its reply read later).
struct Command {
  std::vector<std::string> args;
  void send(RedisConnection& c) const {
    c.append(std::vector<std::string_view>(args.begin(), args.end()));
  }
};

}  // namespace

namespace {

// Decodes %XX escapes (a user or password in a URL); nullopt for a bad escape.
std::optional<std::string> percent_decoded(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    int v = 0;
    if (i + 2 >= s.size()) return std::nullopt;
    auto [end, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
    if (ec != std::errc() || end != s.data() + i + 3) return std::nullopt;
    out += static_cast<char>(v);
    i += 2;
  }
  return out;
}

}  // namespace

std::string redact_redis_url(std::string_view url) {
  const size_t scheme = url.find("://");
  const size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  const size_t at = url.find('@', start);
  if (at == std::string_view::npos) return std::string(url);
  const size_t colon = url.find(':', start);
  if (colon == std::string_view::npos || colon > at) return std::string(url);
  return std::string(url.substr(0, colon + 1)) + "***" + std::string(url.substr(at));
}

RedisOptions redis_options_from_url(std::string_view url) {
  const std::string_view scheme = "redis://";
  auto bad = [&](const std::string& why) -> Error {
    return Error("Redis URL '" + redact_redis_url(url) + "': " + why +
                 " (expected redis://[[user]:password@]host[:port][/db])");
  };
  if (url.substr(0, scheme.size()) != scheme) throw bad("not a redis:// URL");
  std::string_view rest = url.substr(scheme.size());
  RedisOptions o;
  // user:password@ (the last '@': a password may hold one, unescaped)
  if (const size_t at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view credentials = rest.substr(0, at);
    rest.remove_prefix(at + 1);
    const size_t colon = credentials.find(':');
    if (colon == std::string_view::npos) {
      throw bad("a user without a password (give user:password@ or :password@)");
    }
    auto user = percent_decoded(credentials.substr(0, colon));
    auto password = percent_decoded(credentials.substr(colon + 1));
    if (!user || !password) throw bad("a bad %-escape in the user or password");
    if (password->empty()) throw bad("an empty password");
    o.user = *user;
    o.password = *password;
  }
  if (rest.find('?') != std::string_view::npos) throw bad("options (?...) are not supported");
  // /db
  if (const size_t slash = rest.find('/'); slash != std::string_view::npos) {
    std::string_view db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!db.empty()) {
      auto [end, ec] = std::from_chars(db.data(), db.data() + db.size(), o.db);
      if (ec != std::errc() || end != db.data() + db.size() || o.db < 0) {
        throw bad("the database must be a number (0, 1, ...)");
      }
    }
  }
  size_t colon;
  if (!rest.empty() && rest.front() == '[') {  // an IPv6 address: [::1] or [::1]:6379
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) throw bad("no ']' after the IPv6 address");
    o.host = std::string(rest.substr(1, close - 1));
    if (close + 1 < rest.size() && rest[close + 1] != ':') throw bad("':' expected after ']'");
    colon = close + 1 < rest.size() ? close + 1 : std::string_view::npos;
  } else {
    colon = rest.rfind(':');
    o.host = std::string(rest.substr(0, colon));
  }
  if (o.host.empty()) throw bad("no host");
  if (colon != std::string_view::npos) {
    std::string_view port = rest.substr(colon + 1);
    int p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p < 1 || p > 65535) {
      throw bad("the port must be a number from 1 to 65535");
    }
    o.port = p;
  }
  return o;
}

RedisStore::RedisStore(RedisOptions options)
    : options_(std::move(options)), connection_(std::make_unique<RedisConnection>(options_)) {}

RedisStore::~RedisStore() = default;

std::string RedisStore::hash_key(const std::string& group, const EntityKey& key) const {
  // The key in braces: a Redis Cluster hash tag, so that every group of one entity is in
  // one slot (one master answers for the whole entity).
  std::string k;
  k.reserve(options_.prefix.size() + group.size() + 26);
  k += options_.prefix;
  k += ':';
  k += group;
  k += ':';
  append_entity_tag(k, key);
  return k;
}

void append_entity_tag(std::string& out, const EntityKey& key) {
  out += '{';
  if (key.is_int()) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof(buf), key.id());
    out += '#';
    out.append(buf, r.ptr);
  } else {
    out += key.text();
  }
  out += '}';
}

std::string RedisStore::check_type(const std::string& name, FeatureType type, bool define) {
  auto it = types_.find(name);
  if (it == types_.end()) {
    std::string types_key = options_.prefix + ":types";
    RedisReplyPtr r = connection_->command({"HGET", types_key, name});
    if (r->type == REDIS_REPLY_STRING && r->len == 1) {
      it = types_.emplace(name, static_cast<FeatureType>(r->str[0] - '0')).first;
    } else if (define) {
      char t = static_cast<char>('0' + static_cast<int>(type));
      RedisReplyPtr set =
          connection_->command({"HSETNX", types_key, name, std::string_view(&t, 1)});
      if (set->type == REDIS_REPLY_INTEGER && set->integer == 1) {
        types_.emplace(name, type);
        return {};
      }
      return check_type(name, type, false);  // another worker defined it first
    } else {
      return "unknown feature '" + name + "'";
    }
  }
  if (it->second != type) {
    return "feature '" + name + "' is a " + std::string(feature_type_name(it->second)) +
           ", got a " + std::string(feature_type_name(type));
  }
  return {};
}

Status RedisStore::apply(const Update& u) {
  std::string invalid = detail::validate_update(u);
  if (!invalid.empty()) return Status::error(invalid);
  // Check every type before defining any, so that a refused update changes nothing.
  std::vector<const std::pair<std::string, FeatureValue>*> fresh;
  for (const auto& entry : u.set) {
    std::string e = check_type(entry.first, entry.second.type, false);
    if (e.rfind("unknown feature", 0) == 0) {
      fresh.push_back(&entry);
    } else if (!e.empty()) {
      return Status::error(e);
    }
  }
  for (const auto& name : u.del) {
    auto it = types_.find(name);
    if (it == types_.end()) {
      // Any type will do for the lookup; only existence matters here.
      std::string e = check_type(name, FeatureType::kNumber, false);
      if (e.rfind("unknown feature", 0) == 0) return Status::error(e);
    }
  }
  for (const auto* entry : fresh) {
    std::string e = check_type(entry->first, entry->second.type, true);
    if (!e.empty()) return Status::error(e);
  }
  auto time = static_cast<uint32_t>(u.time > 0 ? u.time : system_now());
  std::map<std::string, Command> sets, dels;
  for (const auto& [name, v] : u.set) {
    auto& c = sets[detail::feature_group(name)];
    if (c.args.empty()) c.args = {"HSET", hash_key(detail::feature_group(name), u.key)};
    c.args.push_back(name);
    c.args.push_back(encode(v, time));
  }
  for (const auto& name : u.del) {
    auto& c = dels[detail::feature_group(name)];
    if (c.args.empty()) c.args = {"HDEL", hash_key(detail::feature_group(name), u.key)};
    c.args.push_back(name);
  }
  size_t sent = 0;
  for (const auto& [group, c] : sets) {
    c.send(*connection_);
    ++sent;
    auto ttl = options_.group_ttl_seconds.find(group);
    if (ttl != options_.group_ttl_seconds.end() && ttl->second > 0) {
      Command{{"EXPIRE", c.args[1], std::to_string(ttl->second)}}.send(*connection_);
      ++sent;
    }
  }
  for (const auto& [group, c] : dels) {
    c.send(*connection_);
    ++sent;
  }
  const std::string error = connection_->discard_replies(sent);
  return error.empty() ? Status::ok() : Status::error("redis: " + error);
}

void RedisStore::get(const EntityKey& key, std::span<const std::string> features,
                     std::span<FeatureValue> out) {
  get_many(std::span<const EntityKey>(&key, 1), features, out);
}

void RedisStore::get_many(std::span<const EntityKey> keys, std::span<const std::string> features,
                          std::span<FeatureValue> out) {
  // One HMGET per key and group, all pipelined: one round trip. The arguments are views
  // (hiredis copies them into its buffer), so a key costs no allocation of ours.
  std::map<std::string, std::vector<size_t>> groups;  // group -> feature positions
  for (size_t i = 0; i < features.size(); ++i)
    groups[detail::feature_group(features[i])].push_back(i);
  std::vector<std::string_view> args;
  std::string key_text;
  for (const auto& key : keys) {
    for (const auto& [group, positions] : groups) {
      key_text = hash_key(group, key);
      args.assign({"HMGET", key_text});
      for (size_t p : positions) args.push_back(features[p]);
      connection_->append(args);
    }
  }
  for (size_t k = 0; k < keys.size(); ++k) {
    for (const auto& [group, positions] : groups) {
      RedisReplyPtr r = connection_->reply();
      for (size_t j = 0; j < positions.size(); ++j) {
        FeatureValue& v = out[k * features.size() + positions[j]];
        const redisReply* e =
            r->type == REDIS_REPLY_ARRAY && j < r->elements ? r->element[j] : nullptr;
        decode(e, v);
      }
    }
  }
}

}  // namespace rtml::store
