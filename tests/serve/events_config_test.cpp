// rtml serve's feature store aggregates (POST /v1/events), its --config file and models
// served from a saved file.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "rtml/core/error.h"
#include "rtml/serve/serve_config.h"
#include "serve_test_util.h"

namespace rtml {
namespace {

using nlohmann::json;
using test::call;

constexpr double kHour = 1699999200;  // an hour boundary: events in one tumbling window

serve::Api::Options with_aggregates() {
  serve::Api::Options o;
  o.publish_ms = 1;
  o.aggregates = {"views = count(item) by user over 1h", "spend = sum(price) by user over 1h"};
  return o;
}

std::string event(const std::string& user, const std::string& item, double price,
                  const std::string& id, double time) {
  json e{{"fields", {{"user", user}, {"item", item}, {"price", price}}}, {"time", time}};
  if (!id.empty()) e["id"] = id;
  return e.dump();
}

json features_of(serve::Api& api, const std::string& target) {
  auto r = call(api, "GET", target);
  EXPECT_EQ(r.status, 200) << r.body;
  return json::parse(r.body)["features"];
}

// Events keep the aggregates; a prediction naming the user reads them as they stand, and
// its label teaches the values read then (as a model given those values learns).
TEST(ServeEvents, AggregatesKeptByEventsAreReadByPredictions) {
  serve::Api api(with_aggregates());
  ASSERT_TRUE(api.create_model("byentity", "standard_scaler | logistic_regression"));
  ASSERT_TRUE(api.create_model("given", "standard_scaler | logistic_regression"));
  double spend = 0;
  for (int i = 0; i < 40; ++i) {
    const double price = 3 + (i * 7) % 11;
    spend += price;
    const std::string id = "e" + std::to_string(i);
    auto r =
        call(api, "POST", "/v1/events", event("u7", "i" + std::to_string(i), price, id, kHour + i));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json::parse(r.body)["applied"], 1);
    auto p =
        call(api, "POST", "/v1/models/byentity/predict",
             "{\"features\":{\"x\":" + std::to_string(i % 3) +
                 "},\"entity\":{\"user\":\"u7\"},\"event_id\":\"p" + std::to_string(i) + "\"}");
    ASSERT_EQ(p.status, 200) << p.body;
    // Another event before the label: the label still teaches the values read at predict.
    ASSERT_EQ(call(api, "POST", "/v1/events", event("u8", "x", 1, "", kHour + i)).status, 200);
    const char* label = (i % 3 == 1) == (spend > 150) ? "yes" : "no";
    ASSERT_EQ(call(api, "POST", "/v1/models/byentity/learn",
                   "{\"event_id\":\"p" + std::to_string(i) + "\",\"label\":\"" + label + "\"}")
                  .status,
              200);
    json given{{"features", {{"x", i % 3}, {"views", i + 1}, {"spend", spend}}}, {"label", label}};
    ASSERT_EQ(call(api, "POST", "/v1/models/given/learn", given.dump()).status, 200);
  }
  auto u7 = features_of(api, "/v1/features/u7?key=user");
  EXPECT_EQ(u7["views"], 40);
  EXPECT_EQ(u7["spend"], spend);
  EXPECT_EQ(call(api, "GET", "/v1/features/u7?key=item").status, 404);
  ASSERT_EQ(call(api, "POST", "/v1/models/byentity/snapshot").status, 201);
  ASSERT_EQ(call(api, "POST", "/v1/models/given/snapshot").status, 201);
  const std::string probe = R"({"features": {"x": 1, "views": 20, "spend": 120}})";
  EXPECT_EQ(json::parse(call(api, "POST", "/v1/models/byentity/predict", probe).body)["proba"],
            json::parse(call(api, "POST", "/v1/models/given/predict", probe).body)["proba"]);

  // An id applied before is acknowledged and not counted again.
  auto again = call(api, "POST", "/v1/events", event("u7", "i0", 5, "e0", kHour + 50));
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(features_of(api, "/v1/features/u7?key=user")["views"], 40);
  // A batch with one bad event applies none of it.
  json batch{{"events",
              {json::parse(event("u7", "a", 1, "b1", kHour + 60)),
               json{{"fields", {{"user", "u7"}, {"price", "free"}}}}}}};
  auto bad = call(api, "POST", "/v1/events", batch.dump());
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("event 1"), std::string::npos) << bad.body;
  EXPECT_NE(bad.body.find("must be a number"), std::string::npos) << bad.body;
  EXPECT_EQ(features_of(api, "/v1/features/u7?key=user")["views"], 40);
  // An event that feeds an aggregate names its entity; one that feeds none is ignored.
  auto keyless = call(api, "POST", "/v1/events", R"({"fields": {"item": "a", "price": 2}})");
  EXPECT_EQ(keyless.status, 400);
  EXPECT_NE(keyless.body.find("has no 'user'"), std::string::npos) << keyless.body;
  auto unrelated = call(api, "POST", "/v1/events", R"({"fields": {"colour": "red"}})");
  ASSERT_EQ(unrelated.status, 200);
  EXPECT_EQ(json::parse(unrelated.body)["ignored"], 1);
  for (const char* body : {"not json", R"({"fields": 3})", R"({"events": [1]})",
                           R"({"fields": {"user": "u"}, "time": "noon"})",
                           R"({"fields": {"user": "u", "item": "a"}, "id": 5})"}) {
    EXPECT_EQ(call(api, "POST", "/v1/events", body).status, 400) << body;
  }
  EXPECT_EQ(call(api, "GET", "/v1/events").status, 405);
  const std::string metrics = call(api, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("rtml_events_applied_total 81"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("rtml_events_duplicate_total 1"), std::string::npos);
  EXPECT_NE(metrics.find("rtml_events_refused_total 7"), std::string::npos);

  // A numeric key is the entity the events' numeric field names (42, not "42").
  ASSERT_EQ(call(api, "POST", "/v1/events",
                 R"({"fields": {"user": 42, "item": "a", "price": 7}, "time": 1699999300})")
                .status,
            200);
  EXPECT_EQ(features_of(api, "/v1/features/42?key=user")["spend"], 7);
  ASSERT_TRUE(api.create_model("numeric", "linear_regression"));
  ASSERT_EQ(call(api, "POST", "/v1/models/numeric/predict",
                 R"({"entity": {"user": 42}, "event_id": "n1"})")
                .status,
            200);
  ASSERT_EQ(
      call(api, "POST", "/v1/models/numeric/learn", R"({"event_id": "n1", "label": 3})").status,
      200);
  ASSERT_EQ(call(api, "POST", "/v1/models/numeric/snapshot").status, 201);
  // It learned from the spend it read: a model given spend=7 predicts as it does.
  ASSERT_TRUE(api.create_model("numeric_given", "linear_regression"));
  ASSERT_EQ(call(api, "POST", "/v1/models/numeric_given/learn",
                 R"({"features": {"views": 1, "spend": 7}, "label": 3})")
                .status,
            200);
  ASSERT_EQ(call(api, "POST", "/v1/models/numeric_given/snapshot").status, 201);
  const std::string numeric_probe = R"({"features": {"views": 1, "spend": 7}})";
  EXPECT_EQ(
      json::parse(
          call(api, "POST", "/v1/models/numeric/predict", numeric_probe).body)["prediction"],
      json::parse(
          call(api, "POST", "/v1/models/numeric_given/predict", numeric_probe).body)["prediction"]);

  // A server without aggregates says where to declare them.
  serve::Api plain(serve::Api::Options{});
  auto none = call(plain, "POST", "/v1/events", event("u7", "a", 1, "", kHour));
  EXPECT_EQ(none.status, 400);
  EXPECT_NE(none.body.find("store.aggregates"), std::string::npos);
}

// The aggregates live in the server's folder with the store.
TEST(ServeEvents, AggregatesComeBackAfterARestart) {
  test::TempDir dir;
  serve::Api::Options o = with_aggregates();
  o.dir = dir.file("srv");
  {
    serve::Api api(o);
    for (int i = 0; i < 10; ++i) {
      ASSERT_EQ(
          call(api, "POST", "/v1/events", event("u1", "a", 2, "e" + std::to_string(i), kHour + i))
              .status,
          200);
    }
  }
  serve::Api api(o);
  auto u1 = features_of(api, "/v1/features/u1?key=user");
  EXPECT_EQ(u1["views"], 10);
  EXPECT_EQ(u1["spend"], 20);
  // Ids from before the restart are still known.
  ASSERT_EQ(call(api, "POST", "/v1/events", event("u1", "a", 2, "e3", kHour + 20)).status, 200);
  EXPECT_EQ(features_of(api, "/v1/features/u1?key=user")["views"], 10);
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

TEST(ServeConfig, ReadsEveryKeyAndNamesTheLineOfAMistake) {
  test::TempDir dir;
  const std::string path = dir.file("serve.yaml");
  write(path,
        "listen: 0.0.0.0:9000\n"
        "threads: 3\n"
        "dir: /tmp/x\n"
        "fsync: always\n"
        "checkpoint_every: 5\n"
        "limits: {body: 1000, batch: 10, connections: 20, models: 3, versions: 4, queued: 9}\n"
        "pending: {max: 50, ttl: 60}\n"
        "models:\n"
        "  a: \"one_hot | logistic_regression\"\n"
        "  b: {file: saved.rtml}\n"
        "store:\n"
        "  aggregates: [\"n = count(x) by user over 1h\"]\n");
  serve::ServeConfig c;
  serve::load_serve_config(path, c);
  EXPECT_EQ(c.listen, "0.0.0.0:9000");
  EXPECT_EQ(c.threads, 3);
  EXPECT_EQ(c.dir, "/tmp/x");
  EXPECT_EQ(c.fsync, "always");
  EXPECT_EQ(c.checkpoint_every_s, 5);
  EXPECT_EQ(c.max_body, 1000u);
  EXPECT_EQ(c.max_batch, 10u);
  EXPECT_EQ(c.max_connections, 20u);
  EXPECT_EQ(c.max_models, 3u);
  EXPECT_EQ(c.max_versions, 4u);
  EXPECT_EQ(c.max_queued, 9u);
  EXPECT_EQ(c.pending, 50u);
  EXPECT_EQ(c.ttl, 60);
  ASSERT_EQ(c.models.size(), 2u);
  EXPECT_EQ(c.models[0].name, "a");
  EXPECT_EQ(c.models[0].expression, "one_hot | logistic_regression");
  EXPECT_EQ(c.models[1].file, "saved.rtml");
  ASSERT_EQ(c.aggregates.size(), 1u);

  write(path, "listen: 127.0.0.1:1\nlimits:\n  batch: 10\n  bodyy: 3\n");
  try {
    serve::ServeConfig bad;
    serve::load_serve_config(path, bad);
    FAIL() << "an unknown key was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path + ":4"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("limits.bodyy"), std::string::npos) << e.what();
  }
  write(path, "models:\n  a: {model: \"x\", file: \"y.rtml\"}\n");
  serve::ServeConfig both;
  EXPECT_THROW(serve::load_serve_config(path, both), Error);
  EXPECT_EQ(serve::parse_model_spec("m=dir/saved.rtml").file, "dir/saved.rtml");
  EXPECT_EQ(serve::parse_model_spec("m=one_hot | logistic_regression").expression,
            "one_hot | logistic_regression");
  EXPECT_THROW(serve::parse_model_spec("=x"), Error);
  EXPECT_THROW(serve::parse_model_spec("m="), Error);
}

// A model saved elsewhere is served with what it learned, and goes on from there, also
// after a restart that comes before its first checkpoint.
TEST(ServeModelFile, AModelFromAFileGoesOnFromItsState) {
  RTML_REQUIRE_DATA("elec2.csv.gz");
  test::TempDir dir;
  auto events = test::elec2_events(700);
  auto learn = [&](serve::Api& api, const std::string& model, size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) {
      auto r =
          call(api, "POST", "/v1/models/" + model + "/learn",
               "{\"features\":" + events[i].features + ",\"label\":\"" + events[i].label + "\"}");
      ASSERT_EQ(r.status, 200) << r.body;
    }
    ASSERT_EQ(call(api, "POST", "/v1/models/" + model + "/snapshot").status, 201);
  };
  auto proba = [&](serve::Api& api, const std::string& model, size_t i) {
    auto r = call(api, "POST", "/v1/models/" + model + "/predict",
                  "{\"features\":" + events[i].features + "}");
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body)["proba"];
  };
  serve::Api::Options o;
  o.publish_ms = 1;
  o.dir = dir.file("origin");
  serve::Api origin(o);
  ASSERT_TRUE(origin.create_model("m", "standard_scaler | logistic_regression"));
  learn(origin, "m", 0, 400);  // version 1, a file saved by Pipeline::save
  const std::string saved = dir.file("origin") + "/models/m/versions/v1.rtml";
  ASSERT_TRUE(std::filesystem::exists(saved));

  serve::Api::Options o2 = o;
  o2.dir = dir.file("copy");
  {
    serve::Api copy(o2);
    ASSERT_TRUE(copy.create_model_from_file("m", saved));
    EXPECT_EQ(json::parse(call(copy, "GET", "/v1/models/m").body)["learned"], 0);
  }
  // As a kill before the first checkpoint leaves it (nothing logged yet): the file's
  // state is served again.
  std::filesystem::remove_all(dir.file("copy") + "/models/m/checkpoints");
  std::filesystem::remove_all(dir.file("copy") + "/models/m/wal");
  serve::Api copy(o2);
  ASSERT_TRUE(copy.create_model_from_file("m", saved));  // the same model: no error
  for (size_t i = 400; i < 420; ++i) EXPECT_EQ(proba(copy, "m", i), proba(origin, "m", i));
  learn(origin, "m", 400, 700);
  learn(copy, "m", 400, 700);
  for (size_t i = 600; i < 700; ++i) ASSERT_EQ(proba(copy, "m", i), proba(origin, "m", i));
  EXPECT_FALSE(copy.create_model_from_file("n", dir.file("missing.rtml")));
}

}  // namespace
}  // namespace rtml
