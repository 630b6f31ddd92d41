// rtml serve over real sockets on loopback: keep-alive, pipelining, limits, many idle
// connections, and the command line's start and stop.
#include "rtml/serve/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "serve_test_util.h"

namespace rtml {
namespace {

using nlohmann::json;

using Client = test::HttpClient;

// An Api and an HttpServer on a free loopback port, served by a thread.
struct Server {
  explicit Server(serve::HttpServer::Options o = {}, serve::Api::Options a = {}) : api(a) {
    o.port = 0;
    http = std::make_unique<serve::HttpServer>(api, o);
    thread = std::thread([this] { http->run(); });
  }
  ~Server() {
    http->stop();
    thread.join();
    api.shutdown();
  }
  uint16_t port() const { return http->port(); }
  serve::Api api;
  std::unique_ptr<serve::HttpServer> http;
  std::thread thread;
};

TEST(ServeHttp, PipelinedRequestsAreAnsweredInOrder) {
  Server s;
  ASSERT_TRUE(s.api.create_model("m", "standard_scaler | logistic_regression"));
  Client c(s.port());
  ASSERT_TRUE(c.connected());
  // 300 requests in one write: predictions with ids, each followed by its label.
  std::string batch;
  for (int i = 0; i < 150; ++i) {
    const std::string id = "p" + std::to_string(i);
    batch += Client::request(
        "POST", "/v1/models/m/predict",
        "{\"features\":{\"x\":" + std::to_string(i % 10) + "},\"event_id\":\"" + id + "\"}");
    batch += Client::request(
        "POST", "/v1/models/m/learn",
        "{\"event_id\":\"" + id + "\",\"label\":" + (i % 10 > 4 ? "true" : "false") + "}");
  }
  ASSERT_TRUE(c.send(batch));
  for (int i = 0; i < 150; ++i) {
    auto [status, body] = c.read_answer();
    ASSERT_EQ(status, 200) << body;
    EXPECT_EQ(json::parse(body)["event_id"], "p" + std::to_string(i));
    std::tie(status, body) = c.read_answer();
    ASSERT_EQ(status, 200) << "learn " << i << ": " << body;
    EXPECT_EQ(json::parse(body)["learned"], 1);
  }
  auto [status, body] = c.call("GET", "/v1/models/m");
  ASSERT_EQ(status, 200);
  EXPECT_EQ(json::parse(body)["learned"], 150);
}

// Large answers (a batch's, written from where they are, not copied) and small ones
// pipelined on one connection come back whole and in order.
TEST(ServeHttp, LargeAndSmallAnswersPipelinedComeBackInOrder) {
  Server s;
  ASSERT_TRUE(s.api.create_model("m", "standard_scaler | logistic_regression"));
  Client c(s.port());
  ASSERT_TRUE(c.connected());
  auto batch_of = [](int round, int n) {
    std::string body = "{\"events\":[";
    for (int i = 0; i < n; ++i) {
      body += std::string(i ? "," : "") + "{\"features\":{\"x\":" + std::to_string(i % 10) +
              "},\"event_id\":\"r" + std::to_string(round) + "-" + std::to_string(i) + "\"}";
    }
    return body + "]}";
  };
  std::string pipelined;
  for (int round = 0; round < 20; ++round) {
    // A batch of 400 answers some 30 KB; one of 3 a few hundred bytes.
    pipelined += Client::request("POST", "/v1/models/m/predict", batch_of(round, 400));
    pipelined += Client::request("GET", "/healthz", "");
    pipelined += Client::request("POST", "/v1/models/m/predict", batch_of(100 + round, 3));
  }
  ASSERT_TRUE(c.send(pipelined));
  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE(round);
    auto [status, body] = c.read_answer();
    ASSERT_EQ(status, 200) << body;
    EXPECT_GT(body.size(), 16384u);
    auto big = json::parse(body)["predictions"];
    ASSERT_EQ(big.size(), 400u);
    EXPECT_EQ(big[399]["event_id"], "r" + std::to_string(round) + "-399");
    std::tie(status, body) = c.read_answer();
    ASSERT_EQ(status, 200) << body;
    std::tie(status, body) = c.read_answer();
    ASSERT_EQ(status, 200) << body;
    auto small = json::parse(body)["predictions"];
    ASSERT_EQ(small.size(), 3u);
    EXPECT_EQ(small[2]["event_id"], "r" + std::to_string(100 + round) + "-2");
  }
}

TEST(ServeHttp, LimitsAndMalformedRequests) {
  serve::HttpServer::Options o;
  o.max_body = 1000;
  o.max_connections = 4;
  Server s(o);
  ASSERT_TRUE(s.api.create_model("m", "logistic_regression"));
  {
    Client c(s.port());
    auto [status, body] = c.call("POST", "/v1/models/m/predict", std::string(2000, ' '));
    EXPECT_EQ(status, 413);
    EXPECT_TRUE(c.closed());
  }
  {
    Client c(s.port());
    ASSERT_TRUE(c.send("NOT HTTP AT ALL\r\n\r\n"));
    EXPECT_EQ(c.read_answer().first, 400);
    EXPECT_TRUE(c.closed());
  }
  {
    Client c(s.port());
    ASSERT_TRUE(c.send(Client::request("GET", "/healthz", {}, false)));
    EXPECT_EQ(c.read_answer().first, 200);
    EXPECT_TRUE(c.closed());  // Connection: close is honoured
  }
  // Past max_connections a new connection is told so and closed; the others go on.
  std::vector<std::unique_ptr<Client>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<Client>(s.port()));
    ASSERT_EQ(held.back()->call("GET", "/healthz").first, 200);
  }
  Client extra(s.port());
  EXPECT_EQ(extra.read_answer().first, 503);
  EXPECT_EQ(held[0]->call("GET", "/healthz").first, 200);
}

// A slow or silent client never stalls the others: 500 connections held open (some with
// half a request sent) while another client's requests are answered.
TEST(ServeHttp, FiveHundredIdleConnectionsDoNotStallAnother) {
  // Both ends live in this process: a thousand descriptors and more.
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  if (nofile.rlim_cur < 2048) {
    nofile.rlim_cur = std::min<rlim_t>(nofile.rlim_max, 2048);
    setrlimit(RLIMIT_NOFILE, &nofile);
  }
  ASSERT_GE(nofile.rlim_cur, 1100u) << "this test needs 1,100 file descriptors";
  Server s;
  ASSERT_TRUE(s.api.create_model("m", "logistic_regression"));
  std::vector<std::unique_ptr<Client>> idle;
  for (int i = 0; i < 500; ++i) {
    idle.push_back(std::make_unique<Client>(s.port()));
    ASSERT_TRUE(idle.back()->connected());
    if (i % 2) {
      ASSERT_TRUE(idle.back()->send("POST /v1/models/m/predict HTTP/1.1\r\nContent-Le"));
    }
  }
  Client c(s.port());
  for (int i = 0; i < 200; ++i) {
    auto [status, body] = c.call("POST", "/v1/models/m/predict", R"({"features": {"x": 1}})");
    ASSERT_EQ(status, 200) << body;
  }
  EXPECT_GE(s.http->connections(), 501u);
}

// The command: starts on a free port, answers, and stops cleanly on SIGINT.
// Starts `rtml serve ARGS...` with its stderr in log; returns its pid and port (0 if it
// did not start listening).
std::pair<pid_t, uint16_t> start_serve(const std::string& log, std::vector<std::string> args) {
  pid_t pid = fork();
  if (pid == 0) {
    FILE* f = freopen(log.c_str(), "w", stderr);
    (void)f;
    if (chdir(RTML_SOURCE_DIR) != 0) _exit(126);
    std::vector<char*> argv{const_cast<char*>(RTML_BINARY), const_cast<char*>("serve")};
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(RTML_BINARY, argv.data());
    _exit(127);
  }
  uint16_t port = 0;
  for (int i = 0; i < 150 && port == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const std::string text = test::read_all(log);
    const auto at = text.find("http://127.0.0.1:");
    if (at != std::string::npos) port = static_cast<uint16_t>(std::atoi(text.c_str() + at + 17));
  }
  return {pid, port};
}

TEST(ServeHttp, CommandServesAndStopsOnSigint) {
  test::TempDir dir;
  const std::string log = dir.file("stderr.txt");
  auto [pid, port] = start_serve(
      log, {"--listen", "127.0.0.1:0", "--model", "clicks=standard_scaler | logistic_regression"});
  ASSERT_NE(port, 0) << test::read_all(log);
  {
    Client c(port);
    auto [status, body] =
        c.call("POST", "/v1/models/clicks/learn", R"({"features": {"x": 1}, "label": "yes"})");
    EXPECT_EQ(status, 200) << body;
    std::tie(status, body) = c.call("GET", "/v1/models");
    EXPECT_EQ(json::parse(body)["models"][0]["name"], "clicks");
  }
  kill(pid, SIGINT);
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  EXPECT_TRUE(WIFEXITED(wstatus));
  EXPECT_EQ(WEXITSTATUS(wstatus), 0);
  EXPECT_NE(test::read_all(log).find("stopped by SIGINT"), std::string::npos)
      << test::read_all(log);
}

// The example config serves its models and aggregates; flags override its keys, and
// --model adds to its models.
TEST(ServeHttp, CommandServesTheExampleConfig) {
  test::TempDir dir;
  const std::string log = dir.file("stderr.txt");
  auto [pid, port] = start_serve(log, {"--config", "examples/serving/serve.yaml", "--listen",
                                       "127.0.0.1:0", "--model", "extra=hoeffding_tree"});
  ASSERT_NE(port, 0) << test::read_all(log);
  {
    Client c(port);
    auto [status, body] = c.call("GET", "/v1/models");
    ASSERT_EQ(status, 200);
    std::set<std::string> names;
    const json listed = json::parse(body);
    for (const auto& m : listed["models"]) names.insert(m["name"].get<std::string>());
    EXPECT_EQ(names, (std::set<std::string>{"clicks", "prices", "extra"}));
    std::tie(status, body) =
        c.call("POST", "/v1/events", R"({"fields": {"user": "u7", "item": "hat", "price": 12}})");
    EXPECT_EQ(status, 200) << body;
    std::tie(status, body) = c.call("GET", "/v1/features/u7?key=user");
    ASSERT_EQ(status, 200) << body;
    EXPECT_EQ(json::parse(body)["features"]["user_spend_mean"], 12);
  }
  kill(pid, SIGTERM);
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  EXPECT_TRUE(WIFEXITED(wstatus));
  EXPECT_EQ(WEXITSTATUS(wstatus), 0);

  // A mistake in the file stops the command with its line.
  const std::string bad = dir.file("bad.yaml");
  std::ofstream(bad) << "listen: 127.0.0.1:0\nmodels:\n  m: \"no_such_model\"\n";
  auto r = test::run(std::string(RTML_BINARY) + " serve --config " + bad + " 2>&1");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("model 'm'"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace rtml
