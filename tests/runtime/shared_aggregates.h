// Helpers of the scale-out tests: the aggregates workers keep in Redis, and their dump.
#pragma once

#include <hiredis/hiredis.h>

#include <fstream>
#include <map>
#include <string>

#include "../test_util.h"
#include "rtml/store/redis_connection.h"

namespace rtml::test {

// The aggregates the workers keep in Redis, read as features of the event's user.
inline const char* kSharedStore =
    "store:\n"
    "  url: redis://127.0.0.1:{port}\n"
    "  prefix: {prefix}\n"
    "  aggregates:\n"
    "    - user_events = count(price) by user over 60s every 10s late 1h\n"
    "    - user_spend = sum(price) by user over 60s every 10s late 1h\n"
    "    - user_max = max(price) by user over 60s every 10s late 1h\n"
    "    - item_sales = count(price) by item over 60s late 1h\n"
    "enrich:\n"
    "  - key: user\n"
    "    features: [user_events, user_spend, user_max]\n";

inline std::string shared_store(int port, const std::string& prefix) {
  std::string s = kSharedStore;
  s.replace(s.find("{port}"), 6, std::to_string(port));
  s.replace(s.find("{prefix}"), 8, prefix);
  return s;
}

// The model of a worker config reads neither the user nor the item itself.
inline void drop_entities(const std::string& config) {
  std::string text = test::read_all(config);
  text.replace(text.find("  target: label\n"), 16, "  target: label\n  drop: [user, item]\n");
  std::ofstream(config) << text;
}

inline long long pfcount(store::RedisConnection& r, const std::string& key) {
  auto reply = r.command({"PFCOUNT", key});
  return reply->type == REDIS_REPLY_INTEGER ? reply->integer : -1;
}

// Every aggregate key under prefix (but the event ids remembered against repeats), each
// with its content as text: a hash's fields, a HyperLogLog's count, a sorted set's
// members and scores.
inline std::map<std::string, std::string> aggregates_in(store::RedisConnection& r,
                                                        const std::string& prefix) {
  std::map<std::string, std::string> out;
  std::string cursor = "0";
  const std::string match = prefix + ":agg:*";
  do {
    auto page = r.command({"SCAN", cursor, "MATCH", match, "COUNT", "1000"});
    cursor.assign(page->element[0]->str, page->element[0]->len);
    for (size_t i = 0; i < page->element[1]->elements; ++i) {
      const std::string key(page->element[1]->element[i]->str, page->element[1]->element[i]->len);
      if (key.find(":seen:") != std::string::npos) continue;
      std::string text;
      auto type = r.command({"TYPE", key});
      const std::string t(type->str, type->len);
      if (t == "hash") {
        auto h = r.command({"HGETALL", key});
        std::map<std::string, std::string> fields;
        for (size_t k = 0; k + 1 < h->elements; k += 2) {
          fields[h->element[k]->str] = h->element[k + 1]->str;
        }
        for (const auto& [f, v] : fields) text += f + "=" + v + " ";
      } else if (t == "zset") {
        auto z = r.command({"ZRANGE", key, "0", "-1", "WITHSCORES"});
        for (size_t k = 0; k < z->elements; ++k) text += std::string(z->element[k]->str) + " ";
      } else {
        text = "pfcount=" + std::to_string(pfcount(r, key));
      }
      out[key.substr(prefix.size())] = text;
    }
  } while (cursor != "0");
  return out;
}

}  // namespace rtml::test
