// The runtime's unit: a row becomes features, is predicted on, and is learned from when
// its label comes, from the features logged with the prediction.
#include "rtml/runtime/runtime.h"

#include <gtest/gtest.h>

#include "rtml/core/error.h"

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
  EXPECT_NE(third.why().find("third value"), std::string::npos) << third.why();
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
