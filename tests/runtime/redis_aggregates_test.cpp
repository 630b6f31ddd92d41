// Aggregates kept in Redis (RedisAggregates) against the in-memory AggregateEngine: the
// same events give the same values, whichever order two workers apply them in and
// however often a crashed worker applies them again.
#include "rtml/runtime/redis_aggregates.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "../redis_server.h"
#include "rtml/features/aggregate_engine.h"
#include "rtml/store/redis_connection.h"

namespace rtml::runtime {
namespace {

const char* kDeclarations =
    "clicks_1m = count(click) by user over 1m every 10s\n"
    "spend_1m = sum(price) by user over 1m every 10s\n"
    "price_mean = mean(price) by user over 1m\n"
    "price_var = variance(price) by user over 1m every 20s\n"
    "price_min = min(price) by user over 1m every 10s\n"
    "price_max = max(price) by item over 1m every 10s\n"
    "last_price = last(price) by user over 1m every 10s\n"
    "items_seen = distinct(item) by user over 1m every 10s\n"
    "top_items = topk(item, k=2) by user over 1m every 10s\n"
    "spend_decay = sum(price) by user decay 30s\n";

struct Event {
  std::string id, user, item;
  double time, price;
};

// 3,000 events of 20 users and 30 items over 10 minutes, in time order; prices are
// whole numbers, so that sums do not depend on the order they are added in.
std::vector<Event> events() {
  std::mt19937_64 rng(7);
  std::vector<Event> out;
  for (int i = 0; i < 3000; ++i) {
    out.push_back({"e" + std::to_string(i), "u" + std::to_string(rng() % 20),
                   "i" + std::to_string(rng() % 30), i * 0.2, static_cast<double>(rng() % 50)});
  }
  return out;
}

std::vector<EventField> fields_of(const Event& e) {
  return {EventField::of_text("user", e.user), EventField::of_text("item", e.item),
          EventField::of_number("price", e.price), EventField::of_number("click", 1)};
}

RedisAggregates::Options local(int port, const std::string& prefix) {
  RedisAggregates::Options o;
  o.redis.port = port;
  o.redis.prefix = prefix;
  return o;
}

// The aggregates of event e's user and item as of time t, read from Redis and from the
// engine: equal (distinct within HyperLogLog's error, decayed to 1e-9).
void expect_same(RedisAggregates& redis, const features::AggregateEngine& engine, const Event& e,
                 double t) {
  const auto& specs = engine.specs();
  for (uint32_t i = 0; i < specs.size(); ++i) {
    const std::string& key = specs[i].by == "user" ? e.user : e.item;
    features::AggregateValue want = engine.read_as_of(i, key, t);
    store::FeatureValue got;
    redis.read_as_of(std::span<const uint32_t>(&i, 1), store::EntityKey(key), t,
                     std::span(&got, 1));
    SCOPED_TRACE(specs[i].name + " of " + key + " at " + std::to_string(t));
    ASSERT_EQ(got.present, want.present);
    if (specs[i].function == features::AggregateFunction::kTopK) {
      EXPECT_EQ(got.text, want.text);
    } else if (specs[i].function == features::AggregateFunction::kDistinct) {
      EXPECT_NEAR(got.number, want.number, std::max(1.0, want.number * 0.05));
    } else {
      EXPECT_NEAR(got.number, want.number, 1e-9 * std::max(1.0, std::abs(want.number)));
    }
  }
}

// At the end of the stream, every user and item as of its last moments.
void expect_same_at_end(RedisAggregates& redis, const features::AggregateEngine& engine) {
  for (int u = 0; u < 30; ++u) {
    Event e{"", "u" + std::to_string(u % 20), "i" + std::to_string(u), 0, 0};
    for (double t : {590.0, 599.9}) expect_same(redis, engine, e, t);
  }
}

TEST(RedisAggregates, GiveTheEnginesValues) {
  test::RedisServer server;
  ASSERT_TRUE(server.up()) << "redis-server did not start";
  auto specs = features::parse_aggregates(kDeclarations, "test");
  features::AggregateEngine engine(specs);
  RedisAggregates redis(local(server.port(), "a"), specs);
  for (const Event& e : events()) {
    auto f = fields_of(e);
    // As the run reads: as of the event's time, before its own update.
    if (e.id.size() > 2 && e.id.substr(e.id.size() - 2) == "00")
      expect_same(redis, engine, e, e.time);
    for (size_t i = 0; i < specs.size(); ++i) {
      engine.apply_one(i, specs[i].by == "user" ? e.user : e.item, e.time, f);
    }
    EXPECT_GT(redis.apply(e.time, f, e.id), 0u);
  }
  expect_same_at_end(redis, engine);
}

// Two workers, each given a shuffled half of the events within a few seconds of disorder,
// one of them applying a stretch again after a "crash": the values are a single
// in-order run's.
TEST(RedisAggregates, TwoWorkersOutOfOrderAndRepeatsCountOnce) {
  test::RedisServer server;
  ASSERT_TRUE(server.up()) << "redis-server did not start";
  auto specs = features::parse_aggregates(kDeclarations, "test");
  features::AggregateEngine clean(specs);
  std::vector<Event> all = events();
  for (const Event& e : all) {
    auto f = fields_of(e);
    for (size_t i = 0; i < specs.size(); ++i) {
      clean.apply_one(i, specs[i].by == "user" ? e.user : e.item, e.time, f);
    }
  }
  RedisAggregates a(local(server.port(), "b"), specs), b(local(server.port(), "b"), specs);
  std::mt19937_64 rng(3);
  // Disorder within blocks of 10 events (2 s), well inside every ring.
  for (size_t at = 0; at < all.size(); at += 10) {
    std::shuffle(all.begin() + static_cast<long>(at),
                 all.begin() + static_cast<long>(std::min(all.size(), at + 10)), rng);
  }
  size_t repeated = 0;
  for (size_t j = 0; j < all.size(); ++j) {
    auto f = fields_of(all[j]);
    RedisAggregates& w = rng() % 2 ? a : b;
    w.apply(all[j].time, f, all[j].id);
    if (j % 500 == 499) {  // a crash: the last 50 events come again, to the other worker
      RedisAggregates& other = &w == &a ? b : a;
      for (size_t r = j - 49; r <= j; ++r) {
        auto g = fields_of(all[r]);
        EXPECT_EQ(other.apply(all[r].time, g, all[r].id), 0u) << "applied twice";
        ++repeated;
      }
    }
  }
  EXPECT_EQ(repeated, 300u);
  expect_same_at_end(a, clean);
  // The state lives in Redis: a third worker started now reads the same.
  RedisAggregates c(local(server.port(), "b"), specs);
  expect_same_at_end(c, clean);
}

// An event too old for its entity's ring is dropped, as the engine drops a late event;
// the server forgetting the scripts (SCRIPT FLUSH) is mended by loading them again.
TEST(RedisAggregates, TooLateIsDroppedAndFlushedScriptsComeBack) {
  test::RedisServer server;
  ASSERT_TRUE(server.up()) << "redis-server did not start";
  auto specs = features::parse_aggregates("n = count(click) by user over 10s\n", "test");
  RedisAggregates r(local(server.port(), "c"), specs);
  auto f = [](const char* user) {
    return std::vector<EventField>{EventField::of_text("user", user),
                                   EventField::of_number("click", 1)};
  };
  EXPECT_EQ(r.apply(100, f("u"), "1"), 1u);
  EXPECT_EQ(r.apply(50, f("u"), "2"), 0u);  // its bucket left the ring
  EXPECT_EQ(r.apply(105, f("u"), ""), 1u);  // no id: never deduplicated
  EXPECT_EQ(r.apply(106, f("u"), ""), 1u);
  store::RedisOptions o;
  o.port = server.port();
  store::RedisConnection admin(o);
  admin.checked({"SCRIPT", "FLUSH"}, "flush");
  EXPECT_EQ(r.apply(107, f("u"), "3"), 1u);
  uint32_t i = 0;
  store::FeatureValue v;
  r.read_as_of(std::span(&i, 1), store::EntityKey(std::string("u")), 110.5, std::span(&v, 1));
  EXPECT_TRUE(v.present);
  EXPECT_EQ(v.number, 4);
  EXPECT_EQ(r.apply(108, f("v"), "1"), 1u);  // the same id, another entity: its own
}

}  // namespace
}  // namespace rtml::runtime
