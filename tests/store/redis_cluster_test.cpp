// The Redis feature store and the shared aggregates against a Redis Cluster of 3
// masters started on loopback by the test: keys routed by hash slot, an entity's keys in
// one slot (hash tags), ASK followed while a slot migrates, MOVED followed (and the slot
// map read again) once it has.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <thread>

#include "../redis_server.h"
#include "../test_util.h"
#include "rtml/features/aggregate_engine.h"
#include "rtml/runtime/redis_aggregates.h"
#include "rtml/store/redis_connection.h"
#include "rtml/store/redis_store.h"

namespace rtml::store {
namespace {

int free_port() {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  close(s);
  return ntohs(a.sin_port);
}

// Three cluster-enabled redis-servers made one cluster (redis-cli --cluster create),
// stopped at the end.
class LocalCluster {
 public:
  LocalCluster() {
    for (int i = 0; i < 3; ++i) {
      try {
        nodes_.push_back(std::make_unique<LocalRedis>(std::vector<std::string>{
            "--cluster-enabled", "yes", "--cluster-config-file",
            dir_.file("nodes-" + std::to_string(i) + ".conf"), "--cluster-port",
            std::to_string(free_port()), "--cluster-node-timeout", "5000"}));
      } catch (const Error& e) {
        error_ = e.what();
        return;
      }
    }
    std::string cmd = "redis-cli --cluster create";
    for (const auto& n : nodes_) cmd += " 127.0.0.1:" + std::to_string(n->port());
    cmd += " --cluster-yes";
    if (test::CommandResult r = test::run(cmd); r.exit_code != 0) {
      error_ = "redis-cli --cluster create failed: " + r.out;
      return;
    }
    // Every node must agree that the cluster is up before commands are routed.
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (const auto& n : nodes_) {
      RedisOptions o;
      o.port = n->port();
      for (;;) {
        RedisConnection c(o);
        RedisReplyPtr r = c.command({"CLUSTER", "INFO"});
        if (std::string(r->str, r->len).find("cluster_state:ok") != std::string::npos) break;
        if (std::chrono::steady_clock::now() > end) {
          error_ = "the cluster did not come up";
          return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  }
  bool up() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  int port(size_t i) const { return nodes_[i]->port(); }

 private:
  test::TempDir dir_;
  std::vector<std::unique_ptr<LocalRedis>> nodes_;
  std::string error_;
};

// A plain connection to one node, no routing (for the test's own administration).
struct Node {
  explicit Node(int port) : port(port) { c = redisConnect("127.0.0.1", port); }
  ~Node() { redisFree(c); }
  std::string run(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
    std::string out = r && r->str ? std::string(r->str, r->len) : "";
    if (r && r->type == REDIS_REPLY_INTEGER) out = std::to_string(r->integer);
    if (r) freeReplyObject(r);
    return out;
  }
  int port;
  redisContext* c;
};

// The index of the node that is master of slot, from the cluster's own map.
size_t owner_of(LocalCluster& cluster, uint16_t slot) {
  Node n(cluster.port(0));
  auto* r = static_cast<redisReply*>(redisCommand(n.c, "CLUSTER SLOTS"));
  size_t owner = SIZE_MAX;
  for (size_t e = 0; e < r->elements; ++e) {
    const redisReply* range = r->element[e];
    if (slot >= range->element[0]->integer && slot <= range->element[1]->integer) {
      for (size_t j = 0; j < 3; ++j) {
        if (range->element[2]->element[1]->integer == cluster.port(j)) owner = j;
      }
    }
  }
  freeReplyObject(r);
  return owner;
}

TEST(RedisCluster, SlotsAreRedisOwn) {
  // The slots Redis itself gives (CLUSTER KEYSLOT), hash tags included.
  test::RedisServer server;
  ASSERT_TRUE(server.up());
  for (const char* key : {"foo", "rtml:agg:{u7}", "rtml:agg:{u7}:seen:12", "{}x", "a{b}c{d}"}) {
    EXPECT_LT(RedisConnection::slot_of(key), 16384);
  }
  EXPECT_EQ(RedisConnection::slot_of("foo"), 12182);  // redis.io's cluster spec example
  EXPECT_EQ(RedisConnection::slot_of("rtml:agg:{u7}"), RedisConnection::slot_of("x{u7}y"));
  EXPECT_EQ(RedisConnection::slot_of("{}x"), RedisConnection::slot_of("{}x"));
  RedisOptions o;
  o.port = server.port();
  RedisConnection plain(o);
  EXPECT_FALSE(plain.cluster());  // a server without cluster support: no routing
}

TEST(RedisCluster, StoreAndAggregatesWorkAcrossThreeMastersThroughAskAndMoved) {
  LocalCluster cluster;
  ASSERT_TRUE(cluster.up()) << cluster.error();
  RedisOptions o;
  o.port = cluster.port(0);
  o.prefix = "rtml";
  {
    RedisConnection c(o);
    ASSERT_TRUE(c.cluster());
    EXPECT_EQ(c.masters(), 3u);
  }

  // The feature store: 300 entities written and read back in one pipelined batch,
  // their hashes spread over the three masters.
  RedisStore store(o);
  std::vector<EntityKey> keys;
  for (int i = 0; i < 300; ++i) {
    keys.emplace_back("e" + std::to_string(i));
    Update u;
    u.key = keys.back();
    u.set.emplace_back("user.score", FeatureValue::of_number(i * 0.5));
    ASSERT_TRUE(store.apply(u)) << i;
  }
  std::vector<std::string> names = {"user.score"};
  std::vector<FeatureValue> got(keys.size());
  store.get_many(keys, names, got);
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(got[static_cast<size_t>(i)].present) << i;
    EXPECT_EQ(got[static_cast<size_t>(i)].number, i * 0.5);
  }
  size_t with_keys = 0;
  for (size_t i = 0; i < 3; ++i) {
    Node n(cluster.port(i));
    with_keys += std::stoll(n.run({"DBSIZE"})) > 50;
  }
  EXPECT_EQ(with_keys, 3u) << "the keys are not spread over the masters";

  // Aggregates: 200 users' counts, applied and read through the cluster.
  auto specs = features::parse_aggregates("n = count(click) by user over 100s\n", "test");
  runtime::RedisAggregates::Options ao;
  ao.redis = o;
  runtime::RedisAggregates aggregates(ao, specs);
  features::AggregateEngine engine(specs);
  auto apply = [&](int i) {
    const std::string user = "u" + std::to_string(i % 200);
    std::vector<EventField> f = {EventField::of_text("user", user),
                                 EventField::of_number("click", 1)};
    engine.apply_one(0, user, i * 0.01, f);
    return aggregates.apply(i * 0.01, f, std::to_string(i));
  };
  for (int i = 0; i < 2000; ++i) ASSERT_EQ(apply(i), 1u);
  auto read = [&](const std::string& user) {
    uint32_t a = 0;
    FeatureValue v;
    aggregates.read_as_of(std::span(&a, 1), EntityKey(user), 150, std::span(&v, 1));
    return v.number;
  };
  for (int u = 0; u < 200; ++u) {
    const std::string user = "u" + std::to_string(u);
    ASSERT_EQ(read(user), engine.read_as_of(0, user, 150).number) << user;
  }

  // u7's slot migrates to another master: once its hash has moved and the slot is still
  // migrating, the old master answers ASK; once the slot is the new master's, MOVED.
  const std::string hash = aggregates.hash_key(EntityKey(std::string("u7")));
  const uint16_t slot = RedisConnection::slot_of(hash);
  const size_t from = owner_of(cluster, slot), to = (from + 1) % 3;
  ASSERT_LT(from, 3u);
  Node a(cluster.port(from)), b(cluster.port(to)), c(cluster.port((from + 2) % 3));
  const std::string a_id = a.run({"CLUSTER", "MYID"}), b_id = b.run({"CLUSTER", "MYID"});
  const std::string s = std::to_string(slot);
  EXPECT_EQ(b.run({"CLUSTER", "SETSLOT", s, "IMPORTING", a_id}), "OK");
  EXPECT_EQ(a.run({"CLUSTER", "SETSLOT", s, "MIGRATING", b_id}), "OK");
  EXPECT_EQ(a.run({"MIGRATE", "127.0.0.1", std::to_string(cluster.port(to)), hash, "0", "5000"}),
            "OK");
  const double before = engine.read_as_of(0, "u7", 150).number;
  EXPECT_EQ(read("u7"), before);  // through ASK
  EXPECT_GE(aggregates.redirects(), 1u);
  // The rest of the slot (the event ids remembered), then the slot is b's everywhere.
  for (;;) {
    redisReply* r = static_cast<redisReply*>(
        redisCommand(a.c, "CLUSTER GETKEYSINSLOT %d 100", static_cast<int>(slot)));
    const size_t n = r->elements;
    for (size_t i = 0; i < n; ++i) {
      a.run({"MIGRATE", "127.0.0.1", std::to_string(cluster.port(to)),
             std::string(r->element[i]->str, r->element[i]->len), "0", "5000"});
    }
    freeReplyObject(r);
    if (n == 0) break;
  }
  for (Node* n : {&a, &b, &c}) EXPECT_EQ(n->run({"CLUSTER", "SETSLOT", s, "NODE", b_id}), "OK");
  const uint64_t asked = aggregates.redirects();
  EXPECT_EQ(apply(7 + 200 * 50), 1u);  // a new event of u7: through MOVED, then direct
  EXPECT_GT(aggregates.redirects(), asked);
  EXPECT_EQ(read("u7"), engine.read_as_of(0, "u7", 150).number);
  // An event id u7 had before the move: still remembered, so not counted again.
  std::vector<EventField> again = {EventField::of_text("user", "u7"),
                                   EventField::of_number("click", 1)};
  EXPECT_EQ(aggregates.apply(0.07, again, "7"), 0u);
  for (int u = 0; u < 200; ++u) {
    const std::string user = "u" + std::to_string(u);
    EXPECT_EQ(read(user), engine.read_as_of(0, user, 150).number) << user;
  }
}

}  // namespace
}  // namespace rtml::store
