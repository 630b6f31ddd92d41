// The runtime's unit: a row becomes features, is predicted on, and is learned from when
// its label comes, from the features logged with the prediction.
#include "rtml/runtime/runtime.h"

#include <gtest/gtest.h>

#include "rtml/core/error.h"
#include "rtml/features/aggregate_spec.h"
#include "rtml/runtime/store_aggregates.h"

namespace rtml::runtime {
namespace {

const std::vector<Column> kColumns = {
    {"x1", ColumnType::kNumeric}, {"x2", ColumnType::kNumeric}, {"y", ColumnType::kCategorical}};

Row row_of(double x1, double x2, std::string_view y) {
  Row r;
  r.values.resize(3);
  r.values[0] = {ValueKind::kNumber, x1, {}};
  r.values[1] = {ValueKind::kNumber, x2, {}};
  if (!y.empty()) r.values[2] = {ValueKind::kText, 0, y};
  return r;
}

Runtime make(Pipeline& p, double ttl = std::numeric_limits<double>::infinity()) {
  Runtime rt(p, {.roles = {.target = "y", .drop = {}}, .log = {.max_entries = 1000, .ttl = ttl}});
  rt.sync_columns(kColumns);
  rt.set_binary(true);
  return rt;
}

// Classes are learned after their event's prediction: the first event's prediction
// cannot name the class it is about to teach (an untrained model's tie would name class
// 0, the class just learned); a tie between two known classes goes to the negative one,
// whichever came first.
TEST(Runtime, NoPredictionKnowsItsOwnEventsClass) {
  for (const auto& [first, second] : {std::pair{"9", "10"}, std::pair{"10", "9"}}) {
    SCOPED_TRACE(first);
    Pipeline p("logistic_regression(lr=1e-300, intercept_lr=0)");  // stays at 0.5
    Runtime rt = make(p);
    Prediction out;
    Target y;
    ASSERT_TRUE(rt.predict_then_learn(row_of(1, 1, first), out, y));
    EXPECT_FALSE(out.has_label) << "the first prediction named class " << out.label;
    ASSERT_TRUE(rt.predict_then_learn(row_of(1, 1, second), out, y));
    ASSERT_TRUE(rt.predict_then_learn(row_of(1, 1, second), out, y));
    ASSERT_TRUE(out.has_label);
    EXPECT_EQ(p.labels().name(out.label), "9");  // "10" is the positive class
    EXPECT_EQ(p.reported_probability(out), 0.5);
  }
}

// A label refused for its id (unknown here) changes nothing: its class does not take
// one of a binary model's two places.
TEST(Runtime, ALabelForAnUnknownIdDoesNotAddItsClass) {
  Pipeline p("logistic_regression");
  Runtime rt = make(p);
  Value garbage{ValueKind::kText, 0, "garbage"};
  Status refused = rt.label(EventId::of_text("nope"), garbage, 1.0);
  ASSERT_FALSE(refused);
  EXPECT_EQ(p.labels().size(), 0u);
  Prediction out;
  Target y;
  ASSERT_TRUE(rt.predict_then_learn(row_of(1, 1, "0"), out, y));
  ASSERT_TRUE(rt.predict_then_learn(row_of(1, 1, "1"), out, y));
  EXPECT_EQ(p.labels().size(), 2u);
}

// A late label teaches the model the features its event was predicted with: the same
// model as one taught those features directly, whatever came in between.
TEST(Runtime, ALateLabelLearnsFromTheFeaturesOfItsPrediction) {
  Pipeline late("logistic_regression");
  Pipeline direct("logistic_regression");
  Runtime rt = make(late);
  direct.labels().set_binary("no", "yes");
  late.labels().set_binary("no", "yes");
  Prediction p;
  Target y;
  bool has_target;
  ASSERT_TRUE(rt.predict(row_of(1.0, -2.0, ""), EventId::of_text("a"), 0, false, p, y, has_target));
  EXPECT_FALSE(has_target);
  ASSERT_TRUE(rt.predict(row_of(5.0, 5.0, ""), EventId::of_text("b"), 1, false, p, y, has_target));
  ASSERT_TRUE(rt.label(EventId::of_text("a"), Target::of_class(1), 2));

  Features xa;
  xa.add(direct.schema().intern("x1"), 1.0);
  xa.add(direct.schema().intern("x2"), -2.0);
  direct.learn(xa, Target::of_class(1));
  Features probe;
  probe.add(0, 0.3);
  probe.add(1, 0.7);
  Prediction pl, pd;
  late.predict(probe, pl);
  direct.predict(probe, pd);
  EXPECT_EQ(pl.value, pd.value);
  EXPECT_NE(pl.value, 0.5);  // it did learn
  EXPECT_EQ(rt.log().waiting(), 1u);
}

TEST(Runtime, RefusesWhatItCannotLearnFromWithTheReason) {
  Pipeline pipeline("logistic_regression");
  Runtime rt = make(pipeline, 10.0);
  Prediction p;
  Target y;
  bool has_target;
  ASSERT_TRUE(rt.predict(row_of(1, 1, "yes"), EventId::of_number(1), 0, true, p, y, has_target));
  EXPECT_TRUE(has_target);
  Status repeated =
      rt.predict(row_of(1, 1, "no"), EventId::of_number(1), 0, true, p, y, has_target);
  ASSERT_FALSE(repeated);
  EXPECT_NE(repeated.why().find("repeated"), std::string::npos) << repeated.why();
  EXPECT_EQ(pipeline.labels().size(), 1u);  // a refused event changes nothing
  ASSERT_TRUE(rt.predict(row_of(1, 1, "no"), EventId::of_number(3), 0, true, p, y, has_target));
  Status third =
      rt.predict(row_of(1, 1, "maybe"), EventId::of_number(2), 0, true, p, y, has_target);
  ASSERT_FALSE(third);
  EXPECT_NE(third.why().find("beyond its two classes 'yes' and 'no'"), std::string::npos)
      << third.why();
  Status missing = rt.predict(row_of(1, 1, ""), EventId::of_number(4), 0, true, p, y, has_target);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.why(), "missing target 'y'");

  ASSERT_TRUE(rt.label(EventId::of_number(1), Target::of_class(1), 5));
  Status twice = rt.label(EventId::of_number(1), Target::of_class(1), 5);
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.why().find("labelled before"), std::string::npos) << twice.why();
  Status unknown = rt.label(EventId::of_number(99), Target::of_class(1), 5);
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.why().find("no prediction"), std::string::npos) << unknown.why();
  Status late = rt.label(EventId::of_number(3), Target::of_class(0), 50);  // TTL 10
  ASSERT_FALSE(late);
  EXPECT_NE(late.why().find("expired"), std::string::npos) << late.why();
  EXPECT_EQ(rt.log().expired(), 1u);
}

TEST(Runtime, PredictThenLearnNeedsTheRowsTarget) {
  Pipeline pipeline("logistic_regression");
  Runtime rt = make(pipeline);
  Prediction p;
  Target y;
  ASSERT_TRUE(rt.predict_then_learn(row_of(1, 2, "yes"), p, y));
  EXPECT_EQ(y.label, pipeline.labels().find("yes").value());
  Status st = rt.predict_then_learn(row_of(1, 2, ""), p, y);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.why(), "missing target 'y'");
  EXPECT_EQ(rt.log().waiting(), 0u);  // nothing logged on this path
}

// An event is enriched with its user's aggregate as the store held it before the event
// (point in time), and then updates it; the aggregate is kept under the event's own user
// field, apart from another entity's.
TEST(Runtime, EnrichesEachEventFromTheStoreAsItStoodBefore) {
  store::StoreOptions so;
  so.computed = std::make_shared<StoreAggregates>(std::vector<features::AggregateSpec>{
      features::parse_aggregate("views = count(item) by user over 100s every 10s"),
      features::parse_aggregate("item_views = count(item) by item over 100s every 10s")});
  auto store = store::EmbeddedStore::open(so);
  Pipeline pipeline("one_hot | logistic_regression");
  Runtime rt(pipeline, {.roles = {.target = "y", .drop = {"user"}}, .log = {}});
  rt.sync_columns({{"user", ColumnType::kCategorical},
                   {"item", ColumnType::kCategorical},
                   {"y", ColumnType::kCategorical}});
  rt.set_binary(true);
  rt.use_store(store.get(), {{"user", {"views"}}, {"item", {"item_views"}}});
  const uint32_t views = pipeline.schema().intern("views");
  const uint32_t item_views = pipeline.schema().intern("item_views");
  auto feature = [&](uint32_t index) -> std::optional<double> {
    for (const auto& f : rt.last_features().numbers()) {
      if (f.index == index) return f.value;
    }
    return std::nullopt;
  };
  Prediction p;
  Target y;
  for (int i = 1; i <= 10; ++i) {
    Row r;
    r.values = {{ValueKind::kText, 0, "u1"},
                {ValueKind::kText, 0, i % 2 ? "book" : "game"},
                {ValueKind::kText, 0, "yes"}};
    double t = 10.0 * i;
    ASSERT_TRUE(rt.predict_then_learn(r, p, y, t));
    if (i == 10) {
      // Events at 10..90 s: the one at 100 s is not yet in the store.
      EXPECT_EQ(feature(views), 9.0);
      EXPECT_EQ(feature(item_views), 4.0);  // "game" at 20, 40, 60, 80
    }
    ASSERT_TRUE(rt.update_store(r, t, "e" + std::to_string(i)));
  }
  // Kept per entity kind: the user's count is not the items'.
  store::FeatureValue v[2];
  std::string names[2] = {"views", "item_views"};
  store->get_as_of(store::EntityKey("u1"), names, 110, v);
  EXPECT_EQ(v[0].number, 10.0);
  store->get_as_of(store::EntityKey("book"), names, 110, v);
  EXPECT_EQ(v[1].number, 5.0);
}

TEST(Status, OkHoldsNothingAndAnErrorAlwaysSaysWhy) {
  Status ok = Status::ok();
  EXPECT_TRUE(ok.is_ok());
  EXPECT_TRUE(static_cast<bool>(ok));
  EXPECT_EQ(ok.why(), "");
  Status bad = Status::error("field 'x': expected a number");
  EXPECT_FALSE(bad);
  EXPECT_EQ(bad.why(), "field 'x': expected a number");
  EXPECT_FALSE(Status::error(""));  // an empty reason is still a refusal
}

}  // namespace
}  // namespace rtml::runtime
