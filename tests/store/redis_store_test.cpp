#include "rtml/store/redis_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "../redis_server.h"
#include "rtml/core/error.h"
#include "rtml/store/embedded_store.h"

namespace rtml::store {
namespace {

Update set(EntityKey key, std::vector<std::pair<std::string, FeatureValue>> values) {
  Update u;
  u.key = std::move(key);
  u.set = std::move(values);
  return u;
}

// The same behaviour through the interface, for both backends.
void check_backend(FeatureStore& s) {
  EntityKey u1("u1");
  ASSERT_EQ(s.apply(set(u1, {{"age", FeatureValue::of_number(31)},
                             {"city", FeatureValue::of_category("Lyon")},
                             {"emb", FeatureValue::of_vector({0.25f, 2.0f})}}))
                .why(),
            "");
  ASSERT_EQ(s.apply(set(EntityKey(uint64_t{9}), {{"age", FeatureValue::of_number(9)}})).why(), "");
  std::vector<std::string> names = {"age", "city", "emb", "never"};
  std::vector<FeatureValue> out(names.size());
  s.get(u1, names, out);
  EXPECT_EQ(out[0].number, 31);
  EXPECT_EQ(out[1].text, "Lyon");
  EXPECT_EQ(out[2].vector, (std::vector<float>{0.25f, 2.0f}));
  EXPECT_FALSE(out[3].present);
  EXPECT_GT(out[0].written_at, 1.7e9);

  EXPECT_NE(s.apply(set(u1, {{"age", FeatureValue::of_category("old")}}))
                .why()
                .find("is a number, got a category"),
            std::string::npos);
  EXPECT_NE(s.apply(set(u1, {{"age", FeatureValue::of_number(NAN)}})).why().find("NaN"),
            std::string::npos);
  EXPECT_EQ(s.apply(set(EntityKey(""), {{"age", FeatureValue::of_number(1)}})).why(), "empty key");
  EXPECT_NE(
      s.apply(set(EntityKey(std::string(1 << 20, 'x')), {{"age", FeatureValue::of_number(1)}}))
          .why()
          .find("key of 1048576 bytes"),
      std::string::npos);
  Update del;
  del.key = u1;
  del.del = {"unknown_feature"};
  EXPECT_NE(s.apply(del).why().find("unknown feature 'unknown_feature'"), std::string::npos);
  del.del = {"city"};
  EXPECT_EQ(s.apply(del).why(), "");

  std::vector<EntityKey> keys = {u1, EntityKey(uint64_t{9}), EntityKey("nobody")};
  std::vector<FeatureValue> many(keys.size() * 2);
  std::vector<std::string> two = {"age", "city"};
  s.get_many(keys, two, many);
  EXPECT_EQ(many[0].number, 31);
  EXPECT_FALSE(many[1].present);  // deleted
  EXPECT_EQ(many[2].number, 9);
  EXPECT_FALSE(many[4].present);
}

TEST(RedisStore, BehavesLikeTheEmbeddedStore) {
  test::RedisServer server;
  ASSERT_TRUE(server.up()) << "redis-server did not start";
  RedisOptions o;
  o.port = server.port();
  RedisStore redis(o);
  check_backend(redis);
  auto embedded = EmbeddedStore::open(StoreOptions{});
  check_backend(*embedded);
}

TEST(RedisStore, WorkersShareTypesAndGroupTtlExpires) {
  test::RedisServer server;
  ASSERT_TRUE(server.up());
  RedisOptions o;
  o.port = server.port();
  o.group_ttl_seconds["session"] = 1;
  RedisStore a(o), b(o);
  ASSERT_EQ(a.apply(set(EntityKey("k"), {{"score", FeatureValue::of_number(1)},
                                         {"session.clicks", FeatureValue::of_number(5)}}))
                .why(),
            "");
  // Another worker refuses the wrong type too.
  EXPECT_NE(b.apply(set(EntityKey("j"), {{"score", FeatureValue::of_category("x")}}))
                .why()
                .find("is a number"),
            std::string::npos);
  std::vector<std::string> names = {"score", "session.clicks"};
  std::vector<FeatureValue> out(2);
  b.get(EntityKey("k"), names, out);
  EXPECT_TRUE(out[1].present);
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  b.get(EntityKey("k"), names, out);
  EXPECT_TRUE(out[0].present);
  EXPECT_FALSE(out[1].present) << "the session group should have expired";
}

// Nobody gets in who does not belong: a server with an ACL user and no default access
// lets that user in (to the database its URL names) and gives anyone else a clear error
// at once, which never shows the password.
TEST(RedisStore, AclUsersGetInOthersGetAClearError) {
  test::RedisServer redis(
      {"--user", "default", "off", "--user", "worker", "on", ">s3cr@t:x", "~*", "&*", "+@all"});
  ASSERT_TRUE(redis.up());
  const std::string at = "127.0.0.1:" + std::to_string(redis.port());
  {
    RedisStore s(redis_options_from_url("redis://worker:s3cr%40t%3Ax@" + at + "/2"));
    check_backend(s);
  }
  {
    // Database 0 is another one: it holds nothing of database 2's.
    RedisStore s(redis_options_from_url("redis://worker:s3cr%40t%3Ax@" + at));
    std::vector<std::string> names = {"age"};
    std::vector<FeatureValue> out(1);
    s.get(EntityKey("u1"), names, out);
    EXPECT_FALSE(out[0].present);
  }
  auto refused = [&](const std::string& url) -> std::string {
    try {
      RedisStore s(redis_options_from_url(url));
    } catch (const Error& e) {
      return e.what();
    }
    return "accepted";
  };
  std::string e = refused("redis://worker:guess1@" + at);
  EXPECT_NE(e.find("authentication failed for user 'worker'"), std::string::npos) << e;
  EXPECT_NE(e.find(at), std::string::npos) << e;
  EXPECT_EQ(e.find("guess1"), std::string::npos) << e;
  e = refused("redis://:s3cr%40t%3Ax@" + at);  // the default user is off
  EXPECT_NE(e.find("authentication failed (password only"), std::string::npos) << e;
  e = refused("redis://" + at);
  EXPECT_NE(e.find("asks for credentials"), std::string::npos) << e;
  e = refused("redis://worker:s3cr%40t%3Ax@" + at + "/99");  // 16 databases
  EXPECT_NE(e.find("cannot select database 99"), std::string::npos) << e;
}

TEST(RedisStore, ConnectionFailureIsAClearError) {
  RedisOptions o;
  o.port = 1;  // nothing listens there
  try {
    RedisStore s(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:1"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rtml::store
