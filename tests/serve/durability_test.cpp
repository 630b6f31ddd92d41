// rtml serve with --dir: models, their labels and versions survive a restart and a
// kill -9 at any point, each acknowledged label applied exactly once.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "rtml/core/error.h"
#include "rtml/runtime/runtime.h"
#include "serve_test_util.h"

namespace rtml {
namespace {

using nlohmann::json;
using test::call;

serve::Api::Options in_dir(const std::string& dir, const std::string& fsync = "every=10ms") {
  serve::Api::Options o;
  o.publish_ms = 1;
  o.dir = dir;
  o.fsync = store::FsyncSetting::parse(fsync);
  return o;
}

std::string learn_body(const test::JsonEvent& e) {
  return "{\"features\":" + e.features + ",\"label\":\"" + e.label + "\"}";
}

TEST(ServeDurable, ModelsLabelsAndVersionsComeBackAfterARestart) {
  RTML_REQUIRE_DATA("elec2.csv.gz");
  test::TempDir dir;
  auto events = test::elec2_events(1200);
  std::vector<std::string> before;
  {
    serve::Api api(in_dir(dir.file("srv")));
    ASSERT_TRUE(api.create_model("a", "standard_scaler | logistic_regression"));
    ASSERT_TRUE(api.create_model("b", "hoeffding_tree"));
    ASSERT_EQ(call(api, "PUT", "/v1/features/u1", R"({"features": {"age": 7}})").status, 200);
    for (size_t i = 0; i < 500; ++i) {
      ASSERT_EQ(call(api, "POST", "/v1/models/a/learn", learn_body(events[i])).status, 200);
      ASSERT_EQ(call(api, "POST", "/v1/models/b/learn", learn_body(events[i])).status, 200);
    }
    ASSERT_EQ(call(api, "POST", "/v1/models/a/snapshot").status, 201);  // version 1
    for (size_t i = 500; i < 1000; ++i) {
      ASSERT_EQ(call(api, "POST", "/v1/models/a/learn", learn_body(events[i])).status, 200);
    }
    // Predictions waiting for their label are kept too.
    auto p = call(api, "POST", "/v1/models/a/predict",
                  "{\"features\":" + events[1000].features + ",\"event_id\":\"waiting\"}");
    ASSERT_EQ(p.status, 200);
    // And a batch's (logged as one op, each event in the write-ahead log).
    std::string batch = "{\"events\":[";
    for (size_t i = 0; i < 50; ++i) {
      if (i) batch += ',';
      batch +=
          "{\"features\":" + events[i].features + ",\"event_id\":\"b" + std::to_string(i) + "\"}";
    }
    ASSERT_EQ(call(api, "POST", "/v1/models/a/predict", batch + "]}").status, 200);
    ASSERT_EQ(call(api, "POST", "/v1/models/a/snapshot").status, 201);  // publishes
    for (size_t i = 1001; i < 1200; ++i) {
      before.push_back(
          call(api, "POST", "/v1/models/a/predict", "{\"features\":" + events[i].features + "}")
              .body);
    }
    // No shutdown(): the destructor stops the models as a SIGTERM would.
  }
  serve::Api api(in_dir(dir.file("srv")));
  auto list = json::parse(call(api, "GET", "/v1/models").body)["models"];
  ASSERT_EQ(list.size(), 2u);
  // The feature store lives in the folder too.
  EXPECT_EQ(json::parse(call(api, "GET", "/v1/features/u1").body)["features"]["age"], 7);
  auto a = json::parse(call(api, "GET", "/v1/models/a").body);
  EXPECT_EQ(a["learned"], 1000);
  EXPECT_EQ(a["pending"], 1 + 50 + 199);  // the waiting ones and the predictions after
  EXPECT_EQ(json::parse(call(api, "GET", "/v1/models/b").body)["learned"], 500);
  for (size_t i = 1001; i < 1200; ++i) {
    auto now = json::parse(
        call(api, "POST", "/v1/models/a/predict", "{\"features\":" + events[i].features + "}")
            .body);
    auto then = json::parse(before[i - 1001]);
    ASSERT_EQ(now["proba"], then["proba"]) << "event " << i;
  }
  // The label of a prediction made before the restart is learned from its logged features.
  EXPECT_EQ(
      call(api, "POST", "/v1/models/a/learn", R"({"event_id": "waiting", "label": "UP"})").status,
      200);
  EXPECT_EQ(call(api, "POST", "/v1/models/a/learn", R"({"event_id": "b7", "label": "UP"})").status,
            200);
  EXPECT_EQ(call(api, "POST", "/v1/models/a/learn", R"({"event_id": "b7", "label": "UP"})").status,
            409);  // labelled before
  auto versions = json::parse(call(api, "GET", "/v1/models/a/versions").body)["versions"];
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(versions[0]["learned"], 500);
  ASSERT_EQ(call(api, "POST", "/v1/models/a/rollback?version=1").status, 200);
  EXPECT_EQ(json::parse(call(api, "GET", "/v1/models/a").body)["learned"], 500);
}

TEST(ServeDurable, OneServerPerFolderAndDeletedModelsStayDeleted) {
  test::TempDir dir;
  {
    serve::Api api(in_dir(dir.file("srv")));
    try {
      serve::Api second(in_dir(dir.file("srv")));
      ADD_FAILURE() << "a second server opened the folder";
    } catch (const Error& e) {
      // Named as what it is, with the process that holds it.
      EXPECT_NE(std::string(e.what()).find("the server folder is in use by process "),
                std::string::npos)
          << e.what();
    }
    ASSERT_TRUE(api.create_model("gone", "logistic_regression"));
    ASSERT_TRUE(api.create_model("kept", "logistic_regression"));
    EXPECT_TRUE(std::filesystem::exists(dir.file("srv/models/gone/model.json")));
    ASSERT_EQ(call(api, "DELETE", "/v1/models/gone").status, 200);
    EXPECT_FALSE(std::filesystem::exists(dir.file("srv/models/gone")));
    // A request to a model deleted under it is refused, not lost.
  }
  // A folder left without its description (a PUT cut short) is not a model.
  std::filesystem::create_directories(dir.file("srv/models/half/wal"));
  serve::Api again(in_dir(dir.file("srv")));
  auto list = json::parse(call(again, "GET", "/v1/models").body)["models"];
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["name"], "kept");
  EXPECT_FALSE(std::filesystem::exists(dir.file("srv/models/half")));
}

// Runs `rtml serve --dir` on port, returning its pid once it answers.
pid_t start_server(const std::string& dir, uint16_t port, const std::string& fsync,
                   const std::string& log) {
  pid_t pid = fork();
  if (pid == 0) {
    FILE* f = freopen(log.c_str(), "a", stderr);
    (void)f;
    const std::string listen = "127.0.0.1:" + std::to_string(port);
    execl(RTML_BINARY, RTML_BINARY, "serve", "--listen", listen.c_str(), "--dir", dir.c_str(),
          "--fsync", fsync.c_str(), "--checkpoint-every", "0.15", "--model",
          "m=standard_scaler | logistic_regression(optimizer=adam)", static_cast<char*>(nullptr));
    _exit(127);
  }
  for (int i = 0; i < 500; ++i) {
    test::HttpClient c(port);
    if (c.connected() && c.call("GET", "/healthz").first == 200) return pid;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pid;
}

uint16_t free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

class ServeCrash : public ::testing::TestWithParam<std::string> {};

// A client predicts and labels Elec2 events one after the other while the server is
// killed with SIGKILL ten times at random points and restarted. The client retries what
// got no answer, with the same event id: a label answered 409 (labelled before) had been
// applied before the kill. After the last restart every label is applied exactly once,
// and the model predicts what a pipeline fed the same labels in the same order predicts.
TEST_P(ServeCrash, KillNineTenTimesLosesNoAcknowledgedLabel) {
  RTML_REQUIRE_DATA("elec2.csv.gz");
  test::TempDir dir;
  const std::string folder = dir.file("srv"), log = dir.file("server.log");
  const uint16_t port = free_port();
  auto events = test::elec2_events(6000);
  std::atomic<pid_t> pid{start_server(folder, port, GetParam(), log)};
  std::atomic<bool> killing{true};
  std::thread killer([&] {
    std::mt19937 rng(7);
    for (int k = 0; k < 10; ++k) {
      std::this_thread::sleep_for(std::chrono::milliseconds(60 + rng() % 200));
      kill(pid.load(), SIGKILL);
      waitpid(pid.load(), nullptr, 0);
      pid = start_server(folder, port, GetParam(), log);
    }
    killing = false;
  });
  size_t n = 0;
  int retries = 0;
  std::unique_ptr<test::HttpClient> c;
  // Sends until answered (reconnecting after a kill); returns the status.
  auto send = [&](const std::string& target, const std::string& body) {
    for (;;) {
      if (!c || !c->connected()) c = std::make_unique<test::HttpClient>(port);
      auto [status, answer] = c->call("POST", target, body);
      if (status != 0) return std::make_pair(status, answer);
      c.reset();
      ++retries;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  };
  while ((killing || n < 1500) && n + 100 < events.size()) {
    const std::string id = "e" + std::to_string(n);
    auto [ps, pb] = send("/v1/models/m/predict",
                         "{\"features\":" + events[n].features + ",\"event_id\":\"" + id + "\"}");
    ASSERT_EQ(ps, 200) << pb;
    auto [ls, lb] = send("/v1/models/m/learn",
                         "{\"event_id\":\"" + id + "\",\"label\":\"" + events[n].label + "\"}");
    ASSERT_TRUE(ls == 200 || ls == 409) << "event " << n << ": " << ls << " " << lb;
    ++n;
  }
  killer.join();
  EXPECT_GT(retries, 0);

  auto [ss, sb] = send("/v1/models/m/snapshot", "");
  ASSERT_EQ(ss, 201) << sb;
  c = std::make_unique<test::HttpClient>(port);
  auto info = json::parse(c->call("GET", "/v1/models/m").second);
  EXPECT_EQ(info["learned"], n) << info.dump();  // each exactly once
  EXPECT_EQ(info["pending"], 0);

  // The same labels, in the same order, through a pipeline driven by hand.
  Pipeline local("standard_scaler | logistic_regression(optimizer=adam)");
  runtime::Runtime rt(local, runtime::Runtime::Options{{"label", {}}, {}});
  rt.set_binary(true);
  test::NumberFields parsed;
  for (size_t i = 0; i < n; ++i) {
    ASSERT_TRUE(rt.learn_fields(parsed.parse(events[i].features),
                                Value{ValueKind::kText, 0, events[i].label}));
  }
  Workspace ws;
  for (size_t i = n; i < n + 100; ++i) {
    auto got = json::parse(
        c->call("POST", "/v1/models/m/predict", "{\"features\":" + events[i].features + "}")
            .second);
    Features x;
    ASSERT_TRUE(runtime::featurize_known_fields(local, parsed.parse(events[i].features), x));
    Prediction p;
    local.predict(x, p, ws);
    ASSERT_EQ(got["proba"]["UP"].get<double>(), p.proba[*local.labels().find("UP")])
        << "event " << i;
  }
  kill(pid.load(), SIGTERM);
  int status = 0;
  waitpid(pid.load(), &status, 0);
  EXPECT_TRUE(WIFEXITED(status)) << test::read_all(log);
  std::printf("%zu events, %d retries across 10 kills (fsync %s)\n", n, retries,
              GetParam().c_str());
}

// Kills land among snapshots, rollbacks, and a second model deleted and created again:
// after each restart the server starts, and after the last one the model is what its
// acknowledged history makes it (a rollback to version v keeps the labels v had, then the
// ones after), the second model exists as its last acknowledged PUT or DELETE left it.
TEST(ServeCrashDuring, RollbacksAndDeletesSurviveKillNine) {
  RTML_REQUIRE_DATA("elec2.csv.gz");
  test::TempDir dir;
  const std::string folder = dir.file("srv"), log = dir.file("server.log");
  const uint16_t port = free_port();
  auto events = test::elec2_events(6000);
  std::atomic<pid_t> pid{start_server(folder, port, "every=10ms", log)};
  // The server goes with the test, also when an assertion ends it early.
  struct Reaper {
    std::atomic<pid_t>& pid;
    ~Reaper() {
      kill(pid.load(), SIGKILL);
      waitpid(pid.load(), nullptr, 0);
    }
  } reaper{pid};
  std::atomic<bool> killing{true};
  std::atomic<int> restarts_failed{0};
  std::thread killer([&] {
    std::mt19937 rng(11);
    const int kills = std::getenv("RTML_TEST_NO_KILL") ? 0 : 10;
    for (int k = 0; k < kills; ++k) {
      std::this_thread::sleep_for(std::chrono::milliseconds(60 + rng() % 200));
      kill(pid.load(), SIGKILL);
      waitpid(pid.load(), nullptr, 0);
      pid = start_server(folder, port, "every=10ms", log);
      test::HttpClient probe(port);
      if (!probe.connected() || probe.call("GET", "/healthz").first != 200) ++restarts_failed;
    }
    killing = false;
  });
  std::unique_ptr<test::HttpClient> c;
  auto send = [&](const std::string& method, const std::string& target, const std::string& body) {
    for (;;) {
      if (!c || !c->connected()) c = std::make_unique<test::HttpClient>(port);
      auto [status, answer] = c->call(method, target, body);
      if (status != 0) return std::make_pair(status, answer);
      c.reset();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  };
  auto predict_learn = [&](const std::string& model, size_t i, const std::string& id) {
    auto [ps, pb] = send("POST", "/v1/models/" + model + "/predict",
                         "{\"features\":" + events[i].features + ",\"event_id\":\"" + id + "\"}");
    EXPECT_EQ(ps, 200) << pb;
    auto [ls, lb] = send("POST", "/v1/models/" + model + "/learn",
                         "{\"event_id\":\"" + id + "\",\"label\":\"" + events[i].label + "\"}");
    EXPECT_TRUE(ls == 200 || ls == 409) << id << ": " << ls << " " << lb;
  };
  std::vector<size_t> learned;  // the events model m has learned, in order
  // Acknowledged versions: the number, and the events learned then (a version taken after
  // a rollback does not hold a prefix of what came before it).
  std::vector<std::pair<uint64_t, std::vector<size_t>>> versions;
  bool tmp_exists = false;
  size_t tmp_learned = 0, n = 0, rollbacks = 0, toggles = 0;
  std::mt19937 rng(5);
  while ((killing || n < 600) && n + 100 < events.size()) {
    predict_learn("m", n, "e" + std::to_string(n));
    learned.push_back(n);
    ++n;
    if (n % 23 == 0) {
      auto [st, body] = send("POST", "/v1/models/m/snapshot", "");
      ASSERT_EQ(st, 201) << body;
      versions.emplace_back(json::parse(body)["version"].get<uint64_t>(), learned);
    }
    if (n % 41 == 0 && !versions.empty()) {
      const auto& [v, then] =
          versions[versions.size() - 1 - rng() % std::min<size_t>(5, versions.size())];
      auto [st, body] = send("POST", "/v1/models/m/rollback?version=" + std::to_string(v), "");
      ASSERT_EQ(st, 200) << "rollback to " << v << ": " << body;
      learned = then;
      ++rollbacks;
    }
    if (n % 17 == 0) {
      if (tmp_exists) {
        auto [st, body] = send("DELETE", "/v1/models/tmp", "");
        ASSERT_TRUE(st == 200 || st == 404) << body;  // 404: deleted by a try cut short
        tmp_exists = false;
      } else {
        auto [st, body] = send("PUT", "/v1/models/tmp", R"({"model": "logistic_regression"})");
        ASSERT_TRUE(st == 201 || st == 200) << body;
        tmp_exists = true;
        tmp_learned = 0;
        for (int k = 0; k < 3; ++k) {
          predict_learn("tmp", n + static_cast<size_t>(k),
                        "t" + std::to_string(n) + "-" + std::to_string(k));
          ++tmp_learned;
        }
      }
      ++toggles;
    }
  }
  killer.join();
  EXPECT_EQ(restarts_failed.load(), 0) << test::read_all(log);
  c = std::make_unique<test::HttpClient>(port);
  ASSERT_EQ(c->call("POST", "/v1/models/m/snapshot", "").first, 201);
  auto info = json::parse(c->call("GET", "/v1/models/m").second);
  EXPECT_EQ(info["learned"], learned.size()) << info.dump();
  auto [ts, tb] = c->call("GET", "/v1/models/tmp");
  if (tmp_exists) {
    ASSERT_EQ(ts, 200) << tb;
    ASSERT_EQ(c->call("POST", "/v1/models/tmp/snapshot", "").first, 201);
    EXPECT_EQ(json::parse(c->call("GET", "/v1/models/tmp").second)["learned"], tmp_learned);
  } else {
    EXPECT_EQ(ts, 404) << tb;
  }
  // Model m predicts as a pipeline fed the labels its history kept, in order.
  Pipeline local("standard_scaler | logistic_regression(optimizer=adam)");
  runtime::Runtime rt(local, runtime::Runtime::Options{{"label", {}}, {}});
  rt.set_binary(true);
  test::NumberFields parsed;
  for (size_t i : learned) {
    ASSERT_TRUE(rt.learn_fields(parsed.parse(events[i].features),
                                Value{ValueKind::kText, 0, events[i].label}));
  }
  Workspace ws;
  for (size_t i = n; i < n + 50; ++i) {
    auto got = json::parse(
        c->call("POST", "/v1/models/m/predict", "{\"features\":" + events[i].features + "}")
            .second);
    Features x;
    ASSERT_TRUE(runtime::featurize_known_fields(local, parsed.parse(events[i].features), x));
    Prediction p;
    local.predict(x, p, ws);
    ASSERT_EQ(got["proba"]["UP"].get<double>(), p.proba[*local.labels().find("UP")])
        << "event " << i;
  }
  std::printf("%zu events, %zu rollbacks, %zu deletes and creates across 10 kills\n", n, rollbacks,
              toggles);
}

INSTANTIATE_TEST_SUITE_P(Fsync, ServeCrash, ::testing::Values("always", "every=10ms", "never"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (char& ch : s) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return s;
                         });

}  // namespace
}  // namespace rtml
