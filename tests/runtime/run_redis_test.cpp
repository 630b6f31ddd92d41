// rtml run with Redis as its store: entity features other writers keep in Redis enrich
// each event, read from a redis-server the test starts on loopback.
#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "../redis_server.h"
#include "../test_util.h"
#include "rtml/core/error.h"
#include "rtml/runtime/run_config.h"
#include "rtml/store/redis_store.h"

namespace rtml::runtime {
namespace {

using json = nlohmann::json;

// The events' target is each user's score, which only Redis holds: enriched from it,
// the model learns the target; under a prefix where Redis holds nothing, it cannot.
TEST(RunRedis, EnrichesEventsWithFeaturesKeptInRedis) {
  test::RedisServer server;
  ASSERT_TRUE(server.up()) << "redis-server did not start";
  {
    store::RedisOptions o;
    o.port = server.port();
    o.prefix = "shop";
    store::RedisStore writer(o);
    for (int u = 1; u <= 5; ++u) {
      store::Update up;
      up.key = store::EntityKey("u" + std::to_string(u));
      up.set = {{"user.score", store::FeatureValue::of_number(10.0 * u)}};
      ASSERT_TRUE(writer.apply(up)) << "user " << u;
    }
  }
  test::TempDir tmp;
  std::string csv = "user,y\n";
  for (int i = 0; i < 3000; ++i) {
    int u = (i * 7) % 5 + 1;
    csv += "u" + std::to_string(u) + "," + std::to_string(10 * u) + "\n";
  }
  auto events = tmp.write("events.csv", csv);
  auto config = [&](const std::string& prefix) {
    return tmp.write(prefix + ".yaml",
                     "source:\n  path: " + events +
                         "\nmodel:\n  expression: \"standard_scaler | linear_regression\"\n"
                         "  target: y\n  drop: [user]\nstore:\n  url: redis://127.0.0.1:" +
                         std::to_string(server.port()) + "\n  prefix: " + prefix +
                         "\nenrich:\n  - key: user\n    features: [user.score]\n");
  };
  auto with = test::run(std::string(RTML_BINARY) + " run " + config("shop") + " --json --quiet");
  ASSERT_EQ(with.exit_code, 0) << with.out;
  auto without =
      test::run(std::string(RTML_BINARY) + " run " + config("empty") + " --json --quiet");
  ASSERT_EQ(without.exit_code, 0) << without.out;
  double mae_with = json::parse(test::last_line(with.out))["rolling_mae"].get<double>();
  double mae_without = json::parse(test::last_line(without.out))["rolling_mae"].get<double>();
  EXPECT_LT(mae_with, 1.0) << mae_without;
  std::printf("rolling MAE with Redis %.4f, without %.4f\n", mae_with, mae_without);
  EXPECT_GT(mae_without, 8.0) << mae_with;
}

// Redis gone at start is a clear error naming the address, never a retry loop.
TEST(RunRedis, ARedisThatDoesNotAnswerIsAClearError) {
  test::TempDir tmp;
  auto config = tmp.write("r.yaml",
                          "source:\n  path: 'synth:sea?n=10'\nmodel:\n  expression: "
                          "gaussian_nb\n  target: class\nstore:\n  url: redis://127.0.0.1:1\n");
  auto r = test::run(std::string(RTML_BINARY) + " run " + config + " --quiet");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("127.0.0.1:1"), std::string::npos) << r.out;
}

// A wrong password stops `rtml run` at start with the reason, never a retry loop, and
// the password is not printed.
TEST(RunRedis, AWrongPasswordIsAClearErrorAtStart) {
  test::RedisServer redis(
      {"--user", "default", "off", "--user", "w", "on", ">right", "~*", "&*", "+@all"});
  ASSERT_TRUE(redis.up());
  test::TempDir tmp;
  auto config = tmp.write("r.yaml",
                          "source:\n  path: 'synth:sea?n=10'\nmodel:\n  expression: "
                          "gaussian_nb\n  target: class\nstore:\n  url: redis://w:wrong@"
                          "127.0.0.1:" +
                              std::to_string(redis.port()) + "\n");
  auto r = test::run(std::string(RTML_BINARY) + " run " + config + " --quiet 2>&1");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("authentication failed for user 'w'"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("wrong"), std::string::npos) << r.out;
}

TEST(RunRedis, UrlsGiveTheHostAndPort) {
  auto o = store::redis_options_from_url("redis://[::1]:6390");
  EXPECT_EQ(o.host, "::1");
  EXPECT_EQ(o.port, 6390);
  o = store::redis_options_from_url("redis://[::1]");
  EXPECT_EQ(o.host, "::1");
  EXPECT_EQ(o.port, 6379);
  o = store::redis_options_from_url("redis://cache.local:7000/");
  EXPECT_EQ(o.host, "cache.local");
  EXPECT_EQ(o.port, 7000);
  EXPECT_EQ(o.db, 0);
  EXPECT_EQ(o.password, "");
  // An ACL user and its password (percent-encoded: '@', ':' and '/' may be in it), and a
  // database.
  o = store::redis_options_from_url("redis://worker:p%40ss%3Aw%2Fd@cache.local:7000/3");
  EXPECT_EQ(o.user, "worker");
  EXPECT_EQ(o.password, "p@ss:w/d");
  EXPECT_EQ(o.host, "cache.local");
  EXPECT_EQ(o.port, 7000);
  EXPECT_EQ(o.db, 3);
  // A password alone, for the default user (requirepass).
  o = store::redis_options_from_url("redis://:only@[::1]");
  EXPECT_EQ(o.user, "");
  EXPECT_EQ(o.password, "only");
  EXPECT_EQ(o.host, "::1");
  EXPECT_EQ(store::redact_redis_url("redis://worker:p%40ss@h:1/2"), "redis://worker:***@h:1/2");
  EXPECT_EQ(store::redact_redis_url("redis://h:1/2"), "redis://h:1/2");
}

TEST(RunRedis, ConfigErrorsNameTheLine) {
  test::TempDir tmp;
  struct Case {
    std::string store, words;
  } cases[] = {
      {"  url: redis://h:6379\n  dir: d\n", "takes no 'dir'"},
      {"  dir: d\n  dedup_seconds: 60\n", "'store.dedup_seconds' is for aggregates kept in Redis"},
      {"  url: http://h\n", "not a redis:// URL"},
      {"  url: redis://user@h:6379\n", "a user without a password"},
      {"  url: redis://u:topsecret@h:6379/x\n", "database must be a number"},
      {"  url: redis://u:pw%4@h\n", "bad %-escape"},
      {"  url: redis://h:6379?ssl=true\n", "options (?...) are not supported"},
      {"  url: redis://h:99999\n", "port must be"},
      {"  url: redis://[::1\n", "no ']'"},
      {"  dir: x\n  prefix: p\n", "'store.prefix' is for a Redis store"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.words);
    auto path = tmp.write("c.yaml",
                          "source:\n  path: 'synth:sea?n=10'\nmodel:\n  expression: "
                          "gaussian_nb\n  target: class\nstore:\n" +
                              c.store);
    try {
      load_run_config(path);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(c.words), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("c.yaml:"), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find("topsecret"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace rtml::runtime
