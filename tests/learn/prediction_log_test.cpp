// The prediction log keeps each prediction's features by event id until its label
// comes, and tells an unknown id, an expired one, a second label and a repeated event
// apart.
#include "rtml/learn/prediction_log.h"

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <string>

#include "rtml/core/error.h"
#include "rtml/core/random.h"

namespace rtml {
namespace {

Features features_of(double v) {
  Features x;
  x.add(0, v);
  x.add(3, -v);
  x.add_category(1, static_cast<uint32_t>(v));
  return x;
}

Prediction prediction_of(double v) {
  Prediction p;
  p.value = v;
  p.proba = {1 - v, v};
  p.label = v > 0.5;
  p.has_label = true;
  return p;
}

TEST(PredictionLog, ALabelGetsTheFeaturesItsPredictionUsedOnce) {
  PredictionLog log({});
  ASSERT_TRUE(log.log(EventId::of_text("imp-1"), 10.0, features_of(0.25), prediction_of(0.25)));
  ASSERT_TRUE(log.log(EventId::of_text("imp-2"), 11.0, features_of(0.75), prediction_of(0.75)));
  EXPECT_EQ(log.waiting(), 2u);

  LabelRefusal why;
  const auto* e = log.take(EventId::of_text("imp-2"), 20.0, &why);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(why, LabelRefusal::kNone);
  EXPECT_EQ(e->time, 11.0);
  ASSERT_EQ(e->x.numbers().size(), 2u);
  EXPECT_EQ(e->x.numbers()[0].value, 0.75);
  EXPECT_EQ(e->x.numbers()[1].index, 3u);
  ASSERT_EQ(e->x.categories().size(), 1u);
  EXPECT_EQ(e->prediction.value, 0.75);
  EXPECT_EQ(e->prediction.proba[1], 0.75);
  EXPECT_EQ(log.waiting(), 1u);

  EXPECT_EQ(log.take(EventId::of_text("imp-2"), 21.0, &why), nullptr);
  EXPECT_EQ(why, LabelRefusal::kAlreadyLabelled);
  EXPECT_EQ(log.take(EventId::of_text("imp-3"), 21.0, &why), nullptr);
  EXPECT_EQ(why, LabelRefusal::kUnknown);
  EXPECT_NE(label_refusal_text(LabelRefusal::kUnknown), "");
  EXPECT_EQ(log.expired(), 0u);
}

TEST(PredictionLog, ARepeatedEventIdIsRefusedEvenAfterItsLabel) {
  PredictionLog log({});
  ASSERT_TRUE(log.log(EventId::of_number(7), 0, features_of(0), prediction_of(0)));
  EXPECT_FALSE(log.log(EventId::of_number(7), 1, features_of(1), prediction_of(1)));
  LabelRefusal why;
  ASSERT_NE(log.take(EventId::of_number(7), 1, &why), nullptr);
  EXPECT_FALSE(log.log(EventId::of_number(7), 2, features_of(2), prediction_of(2)));
  // A text id and a numeric id with the same digits are different events.
  EXPECT_TRUE(log.log(EventId::of_text("7"), 2, features_of(2), prediction_of(2)));
}

TEST(PredictionLog, EntriesOlderThanTheTtlExpireAndAreNeverLearnedFrom) {
  PredictionLog log({.max_entries = 100, .ttl = 5.0});
  for (int t = 0; t < 10; ++t) {
    ASSERT_TRUE(log.log(EventId::of_number(t), t, features_of(t), prediction_of(0.5)));
  }
  log.expire(7.5);  // times 0, 1 and 2 are more than 5 s old
  EXPECT_EQ(log.expired(), 3u);
  EXPECT_EQ(log.waiting(), 7u);
  LabelRefusal why;
  EXPECT_EQ(log.take(EventId::of_number(1), 7.5, &why), nullptr);
  EXPECT_EQ(why, LabelRefusal::kExpired);
  // Not yet walked by expire(), but too old when its label comes.
  EXPECT_EQ(log.take(EventId::of_number(3), 9.0, &why), nullptr);
  EXPECT_EQ(why, LabelRefusal::kExpired);
  EXPECT_EQ(log.expired(), 4u);
  EXPECT_NE(log.take(EventId::of_number(4), 9.0, &why), nullptr);
  size_t seen = 0;
  log.for_each_waiting([&](EventId id, const PredictionLog::Entry& e) {
    EXPECT_EQ(e.time, static_cast<double>(id.number));
    EXPECT_GE(id.number, 5u);
    ++seen;
  });
  EXPECT_EQ(seen, 5u);
}

TEST(PredictionLog, AFullLogPushesOutItsOldestAndCountsIt) {
  PredictionLog log({.max_entries = 4});
  for (uint64_t i = 0; i < 10; ++i) {
    ASSERT_TRUE(log.log(EventId::of_number(i), 0, features_of(1), prediction_of(1)));
  }
  EXPECT_EQ(log.waiting(), 4u);
  EXPECT_EQ(log.expired(), 6u);
  LabelRefusal why;
  EXPECT_EQ(log.take(EventId::of_number(2), 0, &why), nullptr);
  EXPECT_EQ(why, LabelRefusal::kUnknown);  // forgotten with its entry
  EXPECT_NE(log.take(EventId::of_number(6), 0, &why), nullptr);
  // An id forgotten long ago may come again.
  EXPECT_TRUE(log.log(EventId::of_number(2), 0, features_of(1), prediction_of(1)));
}

TEST(PredictionLog, BadLimitsAreRefused) {
  EXPECT_THROW(PredictionLog({.max_entries = 0}), Error);
  EXPECT_THROW(PredictionLog({.max_entries = 10, .ttl = 0}), Error);
  EXPECT_THROW(PredictionLog({.max_entries = 10, .ttl = -1}), Error);
}

// Random logs and labels against a plain model of what the log must answer: the hash
// table's deletions and growth never lose or confuse an id.
// Small logs and one of several chunks of slots (4,096 each), both lapped many times.
class PredictionLogTraffic : public testing::TestWithParam<size_t> {};

TEST_P(PredictionLogTraffic, AgreesWithAModelOverRandomTraffic) {
  const size_t max = GetParam();
  PredictionLog log({.max_entries = max});
  Random rng(42);
  std::map<uint64_t, int> state;  // 0 waiting, 1 labelled
  std::deque<uint64_t> order;     // ids in the order logged
  uint64_t expired = 0;
  for (int step = 0; step < 200000; ++step) {
    uint64_t id = rng.below(max * 12);
    bool text = rng.below(2) == 0;
    std::string as_text = "e" + std::to_string(id);
    EventId eid = text ? EventId::of_text(as_text) : EventId::of_number(id);
    uint64_t key = id * 2 + text;
    if (rng.below(2) == 0) {
      bool fresh = !state.count(key);
      ASSERT_EQ(log.log(eid, 0, features_of(static_cast<double>(key)), prediction_of(0)), fresh);
      if (!fresh) continue;
      if (order.size() == max) {
        auto it = state.find(order.front());
        if (it->second == 0) ++expired;
        state.erase(it);
        order.erase(order.begin());
      }
      state[key] = 0;
      order.push_back(key);
    } else {
      LabelRefusal why;
      const auto* e = log.take(eid, 0, &why);
      auto it = state.find(key);
      if (it == state.end()) {
        ASSERT_EQ(e, nullptr);
        ASSERT_EQ(why, LabelRefusal::kUnknown);
      } else if (it->second == 1) {
        ASSERT_EQ(e, nullptr);
        ASSERT_EQ(why, LabelRefusal::kAlreadyLabelled);
      } else {
        ASSERT_NE(e, nullptr);
        ASSERT_EQ(e->x.numbers()[0].value, static_cast<double>(key));
        it->second = 1;
      }
    }
  }
  size_t waiting = 0;
  for (const auto& [k, s] : state) waiting += s == 0;
  EXPECT_EQ(log.waiting(), waiting);
  EXPECT_EQ(log.expired(), expired);
}
INSTANTIATE_TEST_SUITE_P(Sizes, PredictionLogTraffic, testing::Values(1, 63, 257, 9001));

}  // namespace
}  // namespace rtml
