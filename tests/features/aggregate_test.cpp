#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "rtml/core/error.h"
#include "rtml/core/random.h"
#include "rtml/features/aggregate_engine.h"

namespace rtml::features {
namespace {

AggregateEngine engine(std::initializer_list<const char*> declarations) {
  std::vector<AggregateSpec> specs;
  for (const char* d : declarations) specs.push_back(parse_aggregate(d));
  return AggregateEngine(std::move(specs));
}

void event(AggregateEngine& e, std::string_view key, double t, std::string_view field, double x) {
  EventField f = EventField::of_number(field, x);
  e.apply(key, t, std::span<const EventField>(&f, 1));
}

void text_event(AggregateEngine& e, std::string_view key, double t, std::string_view field,
                std::string_view text) {
  EventField f = EventField::of_text(field, text);
  e.apply(key, t, std::span<const EventField>(&f, 1));
}

TEST(AggregateSpec, ParsesDeclarationsAndWritesThemBack) {
  auto s = parse_aggregate("user_clicks_1h = count(click) by user over 1h every 1m");
  EXPECT_EQ(s.name, "user_clicks_1h");
  EXPECT_EQ(s.function, AggregateFunction::kCount);
  EXPECT_EQ(s.field, "click");
  EXPECT_EQ(s.by, "user");
  EXPECT_EQ(s.window, WindowKind::kSliding);
  EXPECT_EQ(s.window_seconds, 3600);
  EXPECT_EQ(s.hop_seconds, 60);
  EXPECT_EQ(s.to_string(), "user_clicks_1h = count(click) by user over 1h every 1m");
  auto t = parse_aggregate("top = topk(page, k=2) by user over 10m late 30s keep 1h");
  EXPECT_EQ(t.k, 2);
  EXPECT_EQ(t.lateness_seconds, 30);
  EXPECT_EQ(t.to_string(), "top = topk(page, k=2) by user over 10m late 30s keep 1h");
  EXPECT_EQ(parse_aggregate("d = sum(x) by u decay 90s").window, WindowKind::kDecayed);

  auto error = [](const char* text) {
    try {
      parse_aggregate(text);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error("a = median(x) by u over 1h").find("unknown function 'median'"),
            std::string::npos);
  EXPECT_NE(error("a = count(x) by u over 1y").find("duration unit"), std::string::npos);
  EXPECT_NE(error("a = count(x) by u over 1h every 7m").find("whole number of steps"),
            std::string::npos);
  EXPECT_NE(error("a = count(x) by u").find("column"), std::string::npos);
  EXPECT_NE(error("a = max(x) by u decay 1h").find("decay works with"), std::string::npos);
  EXPECT_THROW(parse_aggregates("a = count(x) by u over 1h\na = sum(x) by u over 1h\n", "f"),
               Error);
}

TEST(AggregateEngine, SlidingCountAndPointInTimeReads) {
  auto e = engine({"clicks = count(click) by user over 60s every 10s keep 3m"});
  for (int t = 0; t < 120; ++t) {
    event(e, "u1", t, "click", 1);
    if (t == 50) event(e, "u2", 50, "click", 1);
  }
  EXPECT_EQ(e.stats(0).late_dropped, 0u);
  EXPECT_EQ(e.read(0, "u1").number, 60);  // events 60..119
  EXPECT_EQ(e.read(0, "u2").number, 0);   // its event left the window
  EXPECT_EQ(e.read(0, "nobody").number, 0);
  // As of t: the window ending at the bucket boundary at or before t; nothing later.
  EXPECT_EQ(e.read_as_of(0, "u1", 65).number, 60);  // [0, 60)
  EXPECT_EQ(e.read_as_of(0, "u1", 35).number, 30);  // [-30, 30): events 0..29
  EXPECT_EQ(e.read_as_of(0, "u2", 59).number, 0);   // [-10, 50): its event at 50 is later
  EXPECT_EQ(e.read_as_of(0, "u2", 61).number, 1);   // [0, 60)
  EXPECT_TRUE(e.read_as_of(0, "u1", 35).present);
  EXPECT_FALSE(e.read_as_of(0, "u1", -200).present);  // older than the 3 minutes kept
  // Without `keep`, only one window of history is kept.
  auto short_memory = engine({"clicks = count(click) by user over 60s every 10s"});
  for (int t = 0; t < 120; ++t) event(short_memory, "u1", t, "click", 1);
  EXPECT_FALSE(short_memory.read_as_of(0, "u1", 35).present);
}

TEST(AggregateEngine, LateEventsWithinTheAllowanceLandOthersAreDropped) {
  auto e = engine({"n = count(x) by u over 60s every 10s late 5s"});
  for (int t = 0; t < 120; ++t) event(e, "u", t, "x", 1);
  event(e, "u", 116, "x", 1);  // 3 s late: applied
  event(e, "u", 100, "x", 1);  // 19 s late: dropped
  EXPECT_EQ(e.read(0, "u").number, 61);
  EXPECT_EQ(e.stats(0).late_dropped, 1u);
  EXPECT_EQ(e.stats(0).applied, 121u);
}

TEST(AggregateEngine, NumericFunctionsMatchABruteForceWindow) {
  auto e = engine({"s = sum(x) by u over 60s every 5s", "m = mean(x) by u over 60s every 5s",
                   "lo = min(x) by u over 60s every 5s", "hi = max(x) by u over 60s every 5s",
                   "v = variance(x) by u over 60s every 5s", "l = last(x) by u over 60s every 5s"});
  Random rng(3);
  std::vector<std::pair<double, double>> events;  // time, value
  double t = 0;
  for (int i = 0; i < 2000; ++i) {
    t += rng.uniform(0, 0.5);
    double x = rng.uniform(-10, 10);
    events.emplace_back(t, x);
    EventField f = EventField::of_number("x", x);
    e.apply("u", t, std::span<const EventField>(&f, 1));
  }
  // The live window: buckets of the last 60 s ending with the watermark's bucket.
  double end = (std::floor(t / 5) + 1) * 5, start = end - 60;
  double sum = 0, lo = INFINITY, hi = -INFINITY, last = 0, n = 0, mean = 0, m2 = 0;
  for (auto [et, x] : events) {
    if (et < start || et >= end) continue;
    sum += x;
    lo = std::min(lo, x);
    hi = std::max(hi, x);
    last = x;
    n += 1;
    double d = x - mean;
    mean += d / n;
    m2 += d * (x - mean);
  }
  EXPECT_NEAR(e.read(0, "u").number, sum, 1e-9);
  EXPECT_NEAR(e.read(1, "u").number, sum / n, 1e-9);
  EXPECT_EQ(e.read(2, "u").number, lo);
  EXPECT_EQ(e.read(3, "u").number, hi);
  EXPECT_NEAR(e.read(4, "u").number, m2 / (n - 1), 1e-9);
  EXPECT_EQ(e.read(5, "u").number, last);
}

TEST(AggregateEngine, TumblingWindowsRestartAtBoundaries) {
  auto e = engine({"n = count(x) by u over 60s"});
  for (int t = 0; t < 90; ++t) event(e, "u", t, "x", 1);
  EXPECT_EQ(e.read(0, "u").number, 30);            // the current window [60, 120)
  EXPECT_EQ(e.read_as_of(0, "u", 89).number, 60);  // the last complete one [0, 60)
}

TEST(AggregateEngine, ExponentialDecay) {
  auto e = engine({"s = sum(x) by u decay 10s", "c = count(x) by u decay 10s"});
  event(e, "u", 0, "x", 8);
  event(e, "other", 10, "x", 0);  // moves the watermark to 10
  EXPECT_NEAR(e.read(0, "u").number, 4, 1e-12);
  EXPECT_NEAR(e.read_as_of(0, "u", 20).number, 2, 1e-12);
  EXPECT_NEAR(e.read(1, "u").number, 0.5, 1e-12);
}

TEST(AggregateEngine, DistinctAndTopK) {
  auto e = engine(
      {"d = distinct(item, precision=12) by u over 1h", "top = topk(item, k=3) by u over 1h"});
  for (int i = 0; i < 1000; ++i) text_event(e, "u", i, "item", "item" + std::to_string(i));
  double d = e.read(0, "u").number;
  EXPECT_NEAR(d, 1000, 50);
  auto f = engine({"top = topk(page, k=3) by u over 1h every 10m"});
  const std::pair<const char*, int> pages[] = {
      {"home", 50}, {"cart", 30}, {"help", 20}, {"faq", 5}};
  double t = 0;
  for (auto [page, count] : pages) {
    for (int i = 0; i < count; ++i) text_event(f, "u", t += 1, "page", page);
  }
  EXPECT_EQ(f.read(0, "u").text, "home,cart,help");
}

TEST(AggregateEngine, TextWhereANumberIsNeededIsCounted) {
  auto e = engine({"s = sum(x) by u over 1h"});
  text_event(e, "u", 1, "x", "abc");
  EXPECT_EQ(e.stats(0).wrong_type, 1u);
  EXPECT_EQ(e.read(0, "u").number, 0);
}

}  // namespace
}  // namespace rtml::features
