// The serving API, called directly (no socket): models are created, predict and learn,
// bad requests change nothing, versions roll back, and the metrics are valid Prometheus.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "rtml/runtime/field_featurizer.h"
#include "rtml/runtime/runtime.h"
#include "serve_test_util.h"

namespace rtml {
namespace {

using nlohmann::json;
using test::call;

serve::Api::Options options() {
  serve::Api::Options o;
  o.publish_ms = 1;
  return o;
}

// Waits until the model has applied everything queued and published the result.
void settle(serve::Api& api, const std::string& model) {
  auto r = call(api, "POST", "/v1/models/" + model + "/snapshot");
  ASSERT_EQ(r.status, 201) << r.body;
}

json info(serve::Api& api, const std::string& model) {
  auto r = call(api, "GET", "/v1/models/" + model);
  EXPECT_EQ(r.status, 200) << r.body;
  return json::parse(r.body);
}

std::string predict_body(const std::string& features, const std::string& id = "") {
  std::string b = "{\"features\":" + features;
  if (!id.empty()) b += ",\"event_id\":\"" + id + "\"";
  return b + "}";
}

// A label given by event id teaches the model exactly what the same label given with the
// event's features does, and both teach what a pipeline driven by hand learns.
TEST(ServeApi, LearningByEventIdEqualsLearningFromTheFeatures) {
  RTML_REQUIRE_DATA("elec2.csv.gz");
  const std::string expr = "standard_scaler | logistic_regression(optimizer=adam)";
  serve::Api api(options());
  ASSERT_TRUE(api.create_model("by_id", expr));
  ASSERT_TRUE(api.create_model("by_features", expr));
  auto events = test::elec2_events(2500);

  Pipeline local(expr);
  runtime::Runtime rt(local, runtime::Runtime::Options{{"label", {}}, {}});
  rt.set_binary(true);
  for (size_t i = 0; i < 2000; ++i) {
    const auto& e = events[i];
    const std::string id = "e" + std::to_string(i);
    auto p = call(api, "POST", "/v1/models/by_id/predict", predict_body(e.features, id));
    ASSERT_EQ(p.status, 200) << p.body;
    EXPECT_EQ(json::parse(p.body)["event_id"], id);
    auto l = call(api, "POST", "/v1/models/by_id/learn",
                  "{\"event_id\":\"" + id + "\",\"label\":\"" + e.label + "\"}");
    ASSERT_EQ(l.status, 200) << l.body;
    l = call(api, "POST", "/v1/models/by_features/learn",
             "{\"features\":" + e.features + ",\"label\":\"" + e.label + "\"}");
    ASSERT_EQ(l.status, 200) << l.body;

    auto f = nlohmann::ordered_json::parse(e.features);  // in the order sent
    std::vector<std::string> names;
    std::vector<EventField> fields;
    for (auto& [k, v] : f.items()) names.push_back(k);
    size_t k = 0;
    for (auto& [name, v] : f.items()) fields.push_back(EventField::of_number(names[k++], v));
    Value label{ValueKind::kText, 0, e.label};
    ASSERT_TRUE(rt.learn_fields(fields, label));
  }
  settle(api, "by_id");
  settle(api, "by_features");
  EXPECT_EQ(info(api, "by_id")["learned"], 2000);
  EXPECT_EQ(info(api, "by_id")["pending"], 0);
  EXPECT_EQ(info(api, "by_features")["learned"], 2000);

  Workspace ws;
  for (size_t i = 2000; i < 2500; ++i) {
    auto a = json::parse(
        call(api, "POST", "/v1/models/by_id/predict", predict_body(events[i].features)).body);
    auto b = json::parse(
        call(api, "POST", "/v1/models/by_features/predict", predict_body(events[i].features)).body);
    ASSERT_EQ(a["proba"], b["proba"]) << "event " << i;
    ASSERT_EQ(a["prediction"], b["prediction"]);
    // The hand-driven pipeline gives the same probabilities.
    Features x;
    auto f = nlohmann::ordered_json::parse(events[i].features);
    std::vector<std::string> names;
    for (auto& [k, v] : f.items()) names.push_back(k);
    std::vector<EventField> fields;
    size_t k = 0;
    for (auto& [name, v] : f.items()) fields.push_back(EventField::of_number(names[k++], v));
    ASSERT_TRUE(runtime::featurize_known_fields(local, fields, x));
    Prediction p;
    local.predict(x, p, ws);
    const uint32_t up = *local.labels().find("UP");
    ASSERT_EQ(a["proba"]["UP"].get<double>(), p.proba[up]) << "event " << i;
  }
  // Progressive validation of the labels learned by id: Elec2's logistic regression
  // reaches about 0.8 over its first 2,000 rows (predictions read snapshots up to a
  // millisecond old).
  auto metrics = info(api, "by_id")["metrics"];
  EXPECT_EQ(metrics["scored"], 2000);
  EXPECT_GT(metrics["accuracy"].get<double>(), 0.75) << metrics.dump();
}

// The catalogue over HTTP: a forecaster forecasts from its published snapshot, a
// conformal regressor answers with its interval.
TEST(ServeApi, ForecastersAndIntervalsAnswerOverHttp) {
  serve::Api api(options());
  ASSERT_EQ(call(api, "PUT", "/v1/models/hw",
                 R"j({"model": "holt_winters(alpha=0.5, gamma=0.5, seasonality=4)"})j")
                .status,
            201);
  const double season[] = {10, 12, 10, 8};
  for (int t = 0; t < 400; ++t) {
    auto l = call(api, "POST", "/v1/models/hw/learn",
                  "{\"features\":{},\"label\":" + std::to_string(season[t % 4]) + "}");
    ASSERT_EQ(l.status, 200) << l.body;
  }
  settle(api, "hw");
  auto f = call(api, "GET", "/v1/models/hw/forecast?horizon=8");
  ASSERT_EQ(f.status, 200) << f.body;
  json j = json::parse(f.body);
  ASSERT_EQ(j["forecast"].size(), 8u);
  for (int h = 0; h < 8; ++h) EXPECT_NEAR(j["forecast"][h].get<double>(), season[h % 4], 0.01);
  EXPECT_EQ(j["learned"], 400);
  EXPECT_EQ(call(api, "GET", "/v1/models/hw/forecast").status, 200);  // one step
  EXPECT_EQ(call(api, "GET", "/v1/models/hw/forecast?horizon=0").status, 400);
  EXPECT_EQ(call(api, "GET", "/v1/models/hw/forecast?horizon=x").status, 400);
  EXPECT_EQ(call(api, "POST", "/v1/models/hw/forecast").status, 405);
  EXPECT_EQ(call(api, "GET", "/v1/models/nope/forecast").status, 404);

  ASSERT_EQ(call(api, "PUT", "/v1/models/lr", R"({"model": "linear_regression"})").status, 201);
  auto refused = call(api, "GET", "/v1/models/lr/forecast?horizon=3");
  EXPECT_EQ(refused.status, 400);
  EXPECT_NE(refused.body.find("does not forecast"), std::string::npos) << refused.body;

  ASSERT_EQ(call(api, "PUT", "/v1/models/ci",
                 R"j({"model": "conformal(model=linear_regression, confidence=0.8)"})j")
                .status,
            201);
  for (int i = 0; i < 200; ++i) {
    const double x = (i % 10) / 10.0;
    call(api, "POST", "/v1/models/ci/learn",
         "{\"features\":{\"x\":" + std::to_string(x) +
             "},\"label\":" + std::to_string(2 * x + (i % 3) * 0.1) + "}");
  }
  settle(api, "ci");
  json p =
      json::parse(call(api, "POST", "/v1/models/ci/predict", predict_body(R"({"x": 0.5})")).body);
  ASSERT_TRUE(p.contains("interval")) << p.dump();
  EXPECT_LE(p["interval"][0].get<double>(), p["prediction"].get<double>() + 1e-9);
  EXPECT_GE(p["interval"][1].get<double>(), p["interval"][0].get<double>());
}

TEST(ServeApi, ModelsAreCreatedListedAndDeleted) {
  serve::Api api(options());
  auto r = call(api, "PUT", "/v1/models/a", R"({"model": "one_hot | logistic_regression"})");
  EXPECT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(json::parse(r.body)["model"], "one_hot | logistic_regression");
  // The same again is fine; another expression under the name is a conflict.
  EXPECT_EQ(
      call(api, "PUT", "/v1/models/a", R"({"model": "one_hot | logistic_regression"})").status,
      200);
  EXPECT_EQ(call(api, "PUT", "/v1/models/a", R"({"model": "linear_regression"})").status, 409);
  EXPECT_EQ(call(api, "PUT", "/v1/models/b", R"({"model": "linear_regression"})").status, 201);
  auto list = json::parse(call(api, "GET", "/v1/models").body)["models"];
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["name"], "a");
  EXPECT_EQ(list[1]["model"], "linear_regression");
  EXPECT_EQ(call(api, "DELETE", "/v1/models/a").status, 200);
  EXPECT_EQ(call(api, "GET", "/v1/models/a").status, 404);
  EXPECT_EQ(call(api, "DELETE", "/v1/models/a").status, 404);
  EXPECT_EQ(json::parse(call(api, "GET", "/v1/models").body)["models"].size(), 1u);

  // Bad names and expressions are refused with the reason.
  r = call(api, "PUT", "/v1/models/a%2Fb", R"({"model": "linear_regression"})");
  EXPECT_EQ(r.status, 400);
  r = call(api, "PUT", "/v1/models/c", R"({"model": "one_hot | nope"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("unknown model or transform 'nope'"), std::string::npos) << r.body;
  r = call(api, "PUT", "/v1/models/c", R"({"expression": "linear_regression"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(call(api, "GET", "/v1/models/c").status, 404);
}

TEST(ServeApi, BadRequestsGetAReasonAndChangeNothing) {
  serve::Api api(options());
  ASSERT_TRUE(api.create_model("m", "standard_scaler | logistic_regression"));
  ASSERT_TRUE(api.create_model("r", "linear_regression"));
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"/v1/models/m/predict", R"({"features": {"x": 1)"},  // truncated
      {"/v1/models/m/predict", R"({"features": [1, 2]})"},
      {"/v1/models/m/predict", R"({"features": {"x": [1]}})"},
      {"/v1/models/m/predict", R"({"features": {"city": "Oslo"}})"},  // no encoder
      {"/v1/models/m/predict", R"({"feature": {"x": 1}})"},
      {"/v1/models/m/predict", R"({"events": [{"features": {"x": 1}}, {"features": 3}]})"},
      {"/v1/models/m/predict", R"({"features": {"x": 1}, "event_id": 7})"},
      {"/v1/models/nobody/predict", R"({"features": {"x": 1}})"},
      {"/v1/models/m/learn", R"({"features": {"x": 1}})"},  // no label
      {"/v1/models/m/learn", R"({"features": {"x": 1}, "label": [1]})"},
      {"/v1/models/m/learn", R"({"event_id": "e", "features": {"x": 1}, "label": 1})"},
      {"/v1/models/m/learn", R"({"events": [{"features": {"x": 1}, "label": 1}, {"label": 1}]})"},
      {"/v1/models/r/learn", R"({"features": {"x": 1}, "label": "high"})"},
      {"/v1/models/m/learn", R"({"event_id": "never-predicted", "label": 1})"},
  };
  for (const auto& [target, body] : bad) {
    SCOPED_TRACE(target + " " + body);
    auto r = call(api, "POST", target, body);
    EXPECT_GE(r.status, 400);
    EXPECT_LT(r.status, 500);
    auto j = json::parse(r.body);
    EXPECT_FALSE(j["error"].get<std::string>().empty());
  }
  settle(api, "m");
  settle(api, "r");
  for (const char* model : {"m", "r"}) {
    auto j = info(api, model);
    EXPECT_EQ(j["predicted"], 0) << model;
    EXPECT_EQ(j["learned"], 0) << model;
    EXPECT_EQ(j["pending"], 0) << model;
  }
  EXPECT_EQ(call(api, "GET", "/v2/anything").status, 404);
  EXPECT_EQ(call(api, "PATCH", "/v1/models/m").status, 405);
}

TEST(ServeApi, LabelsAreTakenOnceAndUnknownOnesRefused) {
  serve::Api api(options());
  ASSERT_TRUE(api.create_model("m", "logistic_regression"));
  auto p = json::parse(call(api, "POST", "/v1/models/m/predict", R"({"features": {"x": 1}})").body);
  const std::string id = p["event_id"];
  EXPECT_FALSE(id.empty());
  const std::string learn = "{\"event_id\":\"" + id + "\",\"label\":true}";
  EXPECT_EQ(call(api, "POST", "/v1/models/m/learn", learn).status, 200);
  EXPECT_EQ(call(api, "POST", "/v1/models/m/learn", learn).status, 409);
  EXPECT_EQ(call(api, "POST", "/v1/models/m/learn", R"({"event_id": "x", "label": true})").status,
            404);
  // A batch: each event learned or refused on its own, answered together.
  auto b = call(api, "POST", "/v1/models/m/learn",
                R"({"events": [{"features": {"x": 2}, "label": true},
                               {"event_id": "nope", "label": false},
                               {"features": {"x": -2}, "label": false}]})");
  ASSERT_EQ(b.status, 200) << b.body;
  auto j = json::parse(b.body);
  EXPECT_EQ(j["learned"], 2);
  ASSERT_EQ(j["refused"].size(), 1u);
  EXPECT_EQ(j["refused"][0]["index"], 1);
  settle(api, "m");
  EXPECT_EQ(info(api, "m")["learned"], 3);
}

TEST(ServeApi, BatchesPredictEveryEventOrNone) {
  serve::Api api(options());
  ASSERT_TRUE(api.create_model("m", "one_hot | logistic_regression"));
  auto r = call(api, "POST", "/v1/models/m/predict",
                R"({"events": [{"features": {"x": 1, "city": "Oslo"}},
                               {"features": {"x": 2}, "event_id": "two"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json::parse(r.body)["predictions"];
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[1]["event_id"], "two");
  settle(api, "m");
  EXPECT_EQ(info(api, "m")["pending"], 2);
  EXPECT_EQ(info(api, "m")["predicted"], 2);
  // Categories never seen are no error: they have no weight yet.
  EXPECT_EQ(
      call(api, "POST", "/v1/models/m/learn", R"({"event_id": "two", "label": "yes"})").status,
      200);
}

// A batch of the plain form ({"events": [{"features": ..., "event_id"?}]}) is read in one
// pass (PlainBatchReader), any other by the general reader: both answer alike, and what
// the plain reader does not take is still refused with the general reader's reason.
// A batch's answers are put together from pieces made once a batch (PredictionWriter):
// each is, byte for byte, the answer the same event gets alone.
TEST(ServeApi, BatchAnswersAreByteForByteTheSingleAnswers) {
  serve::Api api(options());
  ASSERT_TRUE(api.create_model("m", "gaussian_nb"));
  ASSERT_TRUE(api.create_model("r", "standard_scaler | linear_regression"));
  auto features = [](int i) {
    return "{\"x\":" + std::to_string(i % 7) + ",\"y\":" + std::to_string((i * 13) % 5) + "}";
  };
  // Classes whose names need escaping, and one that is not plain ASCII.
  const std::vector<std::string> classes = {"\"a\\\"b\"", "\"Oslo\"", "\"\xc3\xbc\""};
  auto compare = [&](const std::string& model, const std::string& stage) {
    SCOPED_TRACE(model + ", " + stage);
    std::string batch = "{\"events\":[";
    std::vector<std::string> singles;
    for (int i = 0; i < 30; ++i) {
      const std::string id = stage + model + std::to_string(i);
      auto one = call(api, "POST", "/v1/models/" + model + "/predict",
                      "{\"features\":" + features(i) + ",\"event_id\":\"s" + id + "\"}");
      ASSERT_EQ(one.status, 200) << one.body;
      std::string body = one.body;
      const std::string from = "\"s" + id + "\"";
      ASSERT_NE(body.find(from), std::string::npos);
      body.replace(body.find(from), from.size(), "\"b" + id + "\"");
      singles.push_back(body);
      batch += std::string(i ? "," : "") + "{\"features\":" + features(i) + ",\"event_id\":\"b" +
               id + "\"}";
    }
    batch += "]}";
    auto all = call(api, "POST", "/v1/models/" + model + "/predict", batch);
    ASSERT_EQ(all.status, 200) << all.body;
    std::string expected = "{\"predictions\":[";
    for (size_t i = 0; i < singles.size(); ++i) expected += (i ? "," : "") + singles[i];
    EXPECT_EQ(all.body, expected + "]}");
  };
  compare("m", "untaught");  // no class yet: a null prediction, no probabilities
  compare("r", "untaught");
  for (int i = 0; i < 300; ++i) {
    // Two classes first, the third later: answers while the model knows two of three.
    const std::string& label = classes[i < 100 ? i % 2 : i % 3];
    ASSERT_EQ(call(api, "POST", "/v1/models/m/learn",
                   "{\"features\":" + features(i) + ",\"label\":" + label + "}")
                  .status,
              200);
    ASSERT_EQ(call(api, "POST", "/v1/models/r/learn",
                   "{\"features\":" + features(i) + ",\"label\":" + std::to_string(i % 9) + "}")
                  .status,
              200);
    if (i == 99) {
      settle(api, "m");
      compare("m", "two");
    }
  }
  settle(api, "m");
  settle(api, "r");
  compare("m", "three");
  compare("r", "taught");
}

TEST(ServeApi, PlainBatchesAnswerAsTheGeneralReaderDoes) {
  serve::Api api(options());
  ASSERT_TRUE(api.create_model("m", "one_hot | standard_scaler | logistic_regression"));
  for (int i = 0; i < 200; ++i) {
    const std::string body = "{\"features\":{\"x\":" + std::to_string(i % 7) +
                             ",\"on\":" + (i % 2 ? "true" : "false") + ",\"city\":\"" +
                             (i % 3 ? "Oslo" : "Rome") +
                             "\"},\"label\":" + (i % 7 > 3 ? "true" : "false") + "}";
    ASSERT_EQ(call(api, "POST", "/v1/models/m/learn", body).status, 200);
  }
  settle(api, "m");
  // The same events, plain; with a key the plain reader does not take (which the general
  // reader ignores); and with escapes in the names. Escapes in texts, nulls, integers,
  // booleans.
  std::string plain = "{\"events\":[", general = plain, escaped = plain;
  for (int i = 0; i < 50; ++i) {
    auto features = [&](std::string_view on) {
      return "{\"x\":" + std::to_string(i % 7) + ",\"" + std::string(on) +
             "\":" + (i % 2 ? "true" : "false") + ",\"city\":\"" + (i % 3 ? "Os\\u006co" : "Rome") +
             "\",\"gone\":null}";
    };
    const std::string sep = i ? "," : "";
    plain += sep + "{\"features\":" + features("on") + "}";
    general += sep + "{\"features\":" + features("on") + ",\"note\":" + std::to_string(i) + "}";
    escaped += sep + "{\"features\":" + features("o\\u006e") + "}";
  }
  plain += "]}";
  general += "]}";
  escaped += "]}";
  auto a = call(api, "POST", "/v1/models/m/predict", plain);
  auto b = call(api, "POST", "/v1/models/m/predict", general);
  auto c = call(api, "POST", "/v1/models/m/predict", escaped);
  ASSERT_EQ(a.status, 200) << a.body;
  ASSERT_EQ(b.status, 200) << b.body;
  ASSERT_EQ(c.status, 200) << c.body;
  auto pa = json::parse(a.body)["predictions"], pb = json::parse(b.body)["predictions"],
       pc = json::parse(c.body)["predictions"];
  ASSERT_EQ(pa.size(), 50u);
  ASSERT_EQ(pb.size(), 50u);
  ASSERT_EQ(pc.size(), 50u);
  std::set<std::string> ids;
  for (size_t i = 0; i < 50; ++i) {
    EXPECT_EQ(pa[i]["prediction"], pb[i]["prediction"]) << i;
    EXPECT_EQ(pa[i]["proba"], pb[i]["proba"]) << i;
    EXPECT_EQ(pc[i]["proba"], pb[i]["proba"]) << i;
    ids.insert(pa[i]["event_id"].get<std::string>());
    ids.insert(pb[i]["event_id"].get<std::string>());
    ids.insert(pc[i]["event_id"].get<std::string>());
  }
  EXPECT_EQ(ids.size(), 150u);  // every event its own id
  // Ids given are kept; a label by one teaches from the features logged.
  auto given = call(
      api, "POST", "/v1/models/m/predict",
      R"({"events":[{"event_id":"p1","features":{"x":3}},{"features":{"x":4},"event_id":"p2"}]})");
  ASSERT_EQ(given.status, 200) << given.body;
  EXPECT_EQ(json::parse(given.body)["predictions"][1]["event_id"], "p2");
  EXPECT_EQ(call(api, "POST", "/v1/models/m/learn", R"({"event_id":"p2","label":true})").status,
            200);
  settle(api, "m");
  EXPECT_EQ(info(api, "m")["predicted"], 152);
  // Refused whole, with the general reader's reasons, logging nothing.
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"events":[{"features":{"x":1}}]} x)", "malformed"},
      {R"({"events":[{"features":{"x":1}}]}{})", "malformed"},
      {R"({"events":[{"features":{"x":1}},{"features":{"x":[1]}}]})", "event 1"},
      {R"({"events":[{"features":{"x":1}},{"features":{"x":1},"event_id":""}]})", "event 1"},
      {R"({"events":[{"features":{"x":1}},{"event_id":"q"}]})", "event 1"},
      {R"({"events":[{"features":{"x":1}},3]})", "event 1"},
      {R"({"events":[{"features":{"x":1e999}}]})", "malformed"},
  };
  for (const auto& [body, why] : bad) {
    SCOPED_TRACE(body);
    auto r = call(api, "POST", "/v1/models/m/predict", body);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_NE(json::parse(r.body)["error"].get<std::string>().find(why), std::string::npos)
        << r.body;
  }
  serve::Api::Options small = options();
  small.max_batch = 2;
  serve::Api limited(small);
  ASSERT_TRUE(limited.create_model("m", "logistic_regression"));
  EXPECT_EQ(call(limited, "POST", "/v1/models/m/predict",
                 R"({"events":[{"features":{"x":1}},{"features":{"x":1}},{"features":{"x":1}}]})")
                .status,
            413);
  settle(api, "m");
  EXPECT_EQ(info(api, "m")["predicted"], 152);
}

TEST(ServeApi, VersionsRollBack) {
  serve::Api api(options());
  ASSERT_TRUE(api.create_model("m", "standard_scaler | logistic_regression"));
  auto teach = [&](double x, const char* label, int n) {
    for (int i = 0; i < n; ++i) {
      auto r = call(api, "POST", "/v1/models/m/learn",
                    "{\"features\":{\"x\":" + std::to_string(x + i * 0.01) + "},\"label\":\"" +
                        label + "\"}");
      ASSERT_EQ(r.status, 200) << r.body;
    }
  };
  teach(1, "up", 50);
  teach(-1, "down", 50);
  auto v1 = call(api, "POST", "/v1/models/m/snapshot");
  ASSERT_EQ(v1.status, 201);
  EXPECT_EQ(json::parse(v1.body)["version"], 1);
  const std::string at_v1 =
      call(api, "POST", "/v1/models/m/predict", R"({"features": {"x": 1}})").body;
  teach(1, "down", 300);  // tastes change
  settle(api, "m");
  const auto changed =
      json::parse(call(api, "POST", "/v1/models/m/predict", R"({"features": {"x": 1}})").body);
  EXPECT_NE(changed["proba"], json::parse(at_v1)["proba"]);
  auto versions = json::parse(call(api, "GET", "/v1/models/m/versions").body)["versions"];
  ASSERT_EQ(versions.size(), 2u);  // settle() took version 2
  EXPECT_EQ(versions[0]["learned"], 100);
  EXPECT_EQ(call(api, "POST", "/v1/models/m/rollback?version=9").status, 404);
  EXPECT_EQ(call(api, "POST", "/v1/models/m/rollback?version=x").status, 400);
  ASSERT_EQ(call(api, "POST", "/v1/models/m/rollback?version=1").status, 200);
  const auto back =
      json::parse(call(api, "POST", "/v1/models/m/predict", R"({"features": {"x": 1}})").body);
  EXPECT_EQ(back["proba"], json::parse(at_v1)["proba"]);
  EXPECT_EQ(info(api, "m")["learned"], 100);
}

TEST(ServeApi, BearerTokenGuardsEverythingButHealthAndThePage) {
  auto o = options();
  o.token = "s3cret";
  serve::Api api(o);
  EXPECT_EQ(call(api, "GET", "/healthz").status, 200);
  EXPECT_EQ(call(api, "GET", "/v1/models").status, 401);
  EXPECT_EQ(call(api, "GET", "/metrics").status, 401);
  EXPECT_EQ(call(api, "GET", "/v1/models", {}, "Bearer wrong").status, 401);
  EXPECT_EQ(call(api, "GET", "/v1/models", {}, "s3cret").status, 401);
  EXPECT_EQ(call(api, "GET", "/v1/models", {}, "Bearer s3cret").status, 200);
  EXPECT_EQ(call(api, "PUT", "/v1/models/m", R"({"model": "linear_regression"})").status, 401);
  EXPECT_EQ(call(api, "GET", "/v1/models/m", {}, "Bearer s3cret").status, 404);
  // The page holds no data; what it polls does.
  auto page = call(api, "GET", "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("/v1/overview"), std::string::npos);
  // No asset from the network (the browser test watches the requests too).
  for (const char* link : {"src=", "href=", "url(", "@import", "https://"}) {
    EXPECT_EQ(page.body.find(link), std::string::npos) << link;
  }
  EXPECT_EQ(call(api, "GET", "/v1/overview").status, 401);
  auto overview = call(api, "GET", "/v1/overview", {}, "Bearer s3cret");
  ASSERT_EQ(overview.status, 200);
  auto o2 = json::parse(overview.body);
  EXPECT_TRUE(o2["models"].is_array());
  EXPECT_EQ(o2["store"]["entities"], 0);
  EXPECT_GT(o2["time"].get<double>(), 1.7e9);
}

TEST(ServeApi, MetricsAreValidPrometheusText) {
  serve::Api api(options());
  ASSERT_TRUE(api.create_model("m", "logistic_regression"));
  for (int i = 0; i < 5; ++i) {
    (void)call(api, "POST", "/v1/models/m/learn", R"({"features": {"x": 1}, "label": true})");
    (void)call(api, "POST", "/v1/models/m/predict", R"({"features": {"x": 1}})");
  }
  (void)call(api, "POST", "/v1/models/m/predict", R"({"features": 1})");
  settle(api, "m");
  auto r = call(api, "GET", "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.content_type.find("text/plain"), std::string::npos);
  EXPECT_NE(r.body.find("rtml_http_requests_total{route=\"predict\",code=\"2xx\"} 5"),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("rtml_http_requests_total{route=\"predict\",code=\"4xx\"} 1"),
            std::string::npos);
  EXPECT_NE(r.body.find("rtml_model_learned_total{model=\"m\"} 5"), std::string::npos);
  EXPECT_NE(r.body.find("rtml_http_request_duration_seconds_count{route=\"learn\"} 5"),
            std::string::npos);
  test::TempDir dir;
  const std::string file = dir.write("metrics.txt", r.body);
  auto check = test::run("promtool check metrics < " + file + " 2>&1");
  EXPECT_EQ(check.exit_code, 0) << check.out;
}

// Features kept in the store by entity are read at prediction time, logged with the
// prediction, and what its label teaches: a label by event id after the store changed
// teaches the values the prediction saw.
TEST(ServeApi, PredictionsReadEntityFeaturesFromTheStore) {
  serve::Api api(options());
  ASSERT_TRUE(api.create_model("byid", "one_hot | logistic_regression"));
  ASSERT_TRUE(api.create_model("given", "one_hot | logistic_regression"));
  auto put = call(api, "PUT", "/v1/features/u7", R"({"features": {"age": 31, "city": "Oslo"}})");
  ASSERT_EQ(put.status, 200) << put.body;
  auto got = json::parse(call(api, "GET", "/v1/features/u7").body);
  EXPECT_EQ(got["features"]["age"], 31);
  EXPECT_EQ(got["features"]["city"], "Oslo");
  EXPECT_EQ(call(api, "GET", "/v1/features/nobody").status, 404);
  EXPECT_EQ(call(api, "PUT", "/v1/features/u7", R"({"features": {"age": [1]}})").status, 400);

  for (int i = 0; i < 30; ++i) {
    const std::string id = "p" + std::to_string(i);
    auto p = call(api, "POST", "/v1/models/byid/predict",
                  "{\"features\":{\"x\":" + std::to_string(i % 3) +
                      "},\"entity\":{\"user_id\":\"u7\"},\"event_id\":\"" + id + "\"}");
    ASSERT_EQ(p.status, 200) << p.body;
    // The store changes before the label comes: the label teaches what was read.
    ASSERT_EQ(call(api, "PUT", "/v1/features/u7",
                   "{\"features\":{\"age\":" + std::to_string(40 + i) + "}}")
                  .status,
              200);
    const char* label = i % 2 ? "yes" : "no";
    ASSERT_EQ(call(api, "POST", "/v1/models/byid/learn",
                   "{\"event_id\":\"" + id + "\",\"label\":\"" + label + "\"}")
                  .status,
              200);
    const std::string age = std::to_string(i == 0 ? 31 : 40 + i - 1);
    ASSERT_EQ(call(api, "POST", "/v1/models/given/learn",
                   "{\"features\":{\"x\":" + std::to_string(i % 3) + ",\"age\":" + age +
                       ",\"city\":\"Oslo\"},\"label\":\"" + label + "\"}")
                  .status,
              200);
  }
  settle(api, "byid");
  settle(api, "given");
  const std::string probe = R"({"features": {"x": 1, "age": 50, "city": "Oslo"}})";
  EXPECT_EQ(json::parse(call(api, "POST", "/v1/models/byid/predict", probe).body)["proba"],
            json::parse(call(api, "POST", "/v1/models/given/predict", probe).body)["proba"]);
  // A feature given in the request wins over the store's.
  // Deleting with null; the store's counters in the metrics.
  EXPECT_EQ(call(api, "PUT", "/v1/features/u7", R"({"features": {"city": null}})").status, 200);
  EXPECT_FALSE(json::parse(call(api, "GET", "/v1/features/u7").body)["features"].contains("city"));
  (void)call(api, "POST", "/v1/models/byid/predict", R"({"entity": {"user_id": "ghost"}})");
  const std::string metrics = call(api, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("rtml_store_lookups_total 31"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("rtml_store_hits_total 30"), std::string::npos);
  EXPECT_NE(metrics.find("rtml_store_entities 1"), std::string::npos);
}

// Predictions run on many threads while one thread learns (TSan in CI: the suite's name
// starts with Concurrency).
TEST(ConcurrencyServe, PredictionsRunWhileTheModelLearns) {
  serve::Api api(options());
  ASSERT_TRUE(api.create_model("m", "one_hot | standard_scaler | logistic_regression"));
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        const std::string body = "{\"features\":{\"x\":" + std::to_string((i % 7) - 3) +
                                 ",\"city\":\"c" + std::to_string((i + t) % 5) + "\"}}";
        auto r = call(api, "POST", "/v1/models/m/predict", body);
        if (r.status != 200) ++bad;
        auto id = json::parse(r.body)["event_id"].get<std::string>();
        if (i % 2 == 0) {
          auto l = call(
              api, "POST", "/v1/models/m/learn",
              "{\"event_id\":\"" + id + "\",\"label\":" + ((i % 7) > 3 ? "true" : "false") + "}");
          if (l.status != 200) ++bad;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
  settle(api, "m");
  auto j = info(api, "m");
  EXPECT_EQ(j["predicted"], 900);
  EXPECT_EQ(j["learned"], 450);
  EXPECT_EQ(j["pending"], 450);
}

}  // namespace
}  // namespace rtml

namespace rtml {
namespace {

// After a rollback to version v, the model is v's state, and learns on from there as a
// pipeline fed v's labels and then the ones after.
TEST(ServeApi, ARolledBackModelLearnsOnAsIfFedItsHistory) {
  RTML_REQUIRE_DATA("elec2.csv.gz");
  auto events = test::elec2_events(400);
  serve::Api api(options());
  const std::string expr = "standard_scaler | logistic_regression(optimizer=adam)";
  ASSERT_TRUE(api.create_model("m", expr));
  auto teach = [&](size_t i) {
    const std::string id = "e" + std::to_string(i);
    ASSERT_EQ(call(api, "POST", "/v1/models/m/predict",
                   "{\"features\":" + events[i].features + ",\"event_id\":\"" + id + "\"}")
                  .status,
              200);
    ASSERT_EQ(call(api, "POST", "/v1/models/m/learn",
                   "{\"event_id\":\"" + id + "\",\"label\":\"" + events[i].label + "\"}")
                  .status,
              200);
  };
  std::vector<size_t> kept;
  for (size_t i = 0; i < 100; ++i) teach(i), kept.push_back(i);
  ASSERT_EQ(call(api, "POST", "/v1/models/m/snapshot").status, 201);  // version 1
  for (size_t i = 100; i < 150; ++i) teach(i);
  ASSERT_EQ(call(api, "POST", "/v1/models/m/rollback?version=1").status, 200);
  for (size_t i = 150; i < 300; ++i) teach(i), kept.push_back(i);
  settle(api, "m");

  Pipeline local(expr);
  runtime::Runtime rt(local, runtime::Runtime::Options{{"label", {}}, {}});
  rt.set_binary(true);
  test::NumberFields parsed;
  for (size_t i : kept) {
    const auto& fields = parsed.parse(events[i].features);
    ASSERT_TRUE(rt.learn_fields(fields, Value{ValueKind::kText, 0, events[i].label}));
  }
  for (size_t i = 300; i < 320; ++i) {
    auto got = json::parse(
        call(api, "POST", "/v1/models/m/predict", "{\"features\":" + events[i].features + "}")
            .body);
    const auto& fields = parsed.parse(events[i].features);
    Features x;
    ASSERT_TRUE(runtime::featurize_known_fields(local, fields, x));
    Prediction p;
    Workspace ws;
    local.predict(x, p, ws);
    ASSERT_EQ(got["proba"]["UP"].get<double>(), p.proba[*local.labels().find("UP")]) << i;
  }
}

}  // namespace
}  // namespace rtml

namespace rtml {
namespace {

// A model whose learning thread holds as many events as it may is answered 503 (retry)
// instead of queueing without bound; a request that fits is served.
TEST(ServeApi, AModelBehindItsClientsAnswers503) {
  auto o = options();
  o.max_queued = 100;
  serve::Api api(o);
  ASSERT_TRUE(api.create_model("m", "standard_scaler | logistic_regression"));
  std::string batch = "{\"events\":[";
  for (int i = 0; i < 150; ++i) batch += std::string(i ? "," : "") + R"({"features":{"x":1}})";
  batch += "]}";
  auto too_many = call(api, "POST", "/v1/models/m/predict", batch);
  EXPECT_EQ(too_many.status, 503) << too_many.body;
  EXPECT_NE(too_many.body.find("is behind"), std::string::npos);
  auto learn_many = call(api, "POST", "/v1/models/m/learn",
                         "{\"events\":[" + std::string(R"({"features":{"x":1},"label":"a"},)") +
                             std::string(R"({"features":{"x":2},"label":"b"})") + "]}");
  EXPECT_EQ(learn_many.status, 200) << learn_many.body;
  EXPECT_EQ(call(api, "POST", "/v1/models/m/predict", R"({"features":{"x":1}})").status, 200);
  EXPECT_EQ(info(api, "m")["predicted"], 1);  // the refused batch changed nothing
}

}  // namespace
}  // namespace rtml
