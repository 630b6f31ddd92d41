#include "bench_serve.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "rtml/core/error.h"
#include "rtml/core/random.h"
#include "rtml/serve/api.h"
#include "rtml/serve/http_server.h"

namespace rtml::cli {
namespace {

using Clock = std::chrono::steady_clock;

// Answers every request with its own body: the floor any server on Beast pays.
class Echo final : public serve::RequestHandler {
 public:
  void handle(const serve::ApiRequest& request, Respond respond) override {
    serve::ApiResponse r;
    r.body.assign(request.body);
    respond(std::move(r));
  }
};

// A server on a free loopback port, served by its own thread.
struct Running {
  Running(serve::RequestHandler& handler, int threads) {
    serve::HttpServer::Options o;
    o.port = 0;
    o.threads = threads;
    server = std::make_unique<serve::HttpServer>(handler, o);
    thread = std::thread([this] { server->run(); });
  }
  ~Running() {
    server->stop();
    thread.join();
  }
  std::unique_ptr<serve::HttpServer> server;
  std::thread thread;
};

// A blocking client on one connection that reads answers by Content-Length.
class Connection {
 public:
  explicit Connection(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      throw Error("bench serve: cannot connect to the server");
    }
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~Connection() { close(fd_); }

  void send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) throw Error("bench serve: the server closed the connection");
      bytes.remove_prefix(static_cast<size_t>(n));
    }
  }
  // Reads n answers; returns the body of the last, throwing for a status other than 2xx.
  std::string_view read(size_t n) {
    std::string_view last;
    for (size_t i = 0; i < n; ++i) {
      for (;;) {
        const size_t end = in_.find("\r\n\r\n", start_);
        if (end != std::string::npos) {
          const size_t cl = in_.find("Content-Length: ", start_);
          const size_t length = std::strtoul(in_.c_str() + cl + 16, nullptr, 10);
          if (in_.size() >= end + 4 + length) {
            if (in_[start_ + 9] != '2') {
              throw Error("bench serve: an answer was not 2xx: " +
                          in_.substr(start_, std::min<size_t>(300, in_.size() - start_)));
            }
            last = std::string_view(in_).substr(end + 4, length);
            start_ = end + 4 + length;
            break;
          }
        }
        if (start_ > 0 && start_ == in_.size()) {
          in_.clear();
          start_ = 0;
        } else if (start_ > (1 << 20)) {
          in_.erase(0, start_);
          start_ = 0;
        }
        char buf[1 << 16];
        ssize_t got = recv(fd_, buf, sizeof buf, 0);
        if (got <= 0) throw Error("bench serve: the server closed the connection");
        in_.append(buf, static_cast<size_t>(got));
      }
    }
    return last;
  }

 private:
  int fd_ = -1;
  std::string in_;
  size_t start_ = 0;
};

std::string request(std::string_view target, std::string_view body) {
  return fmt::format("POST {} HTTP/1.1\r\nHost: b\r\nContent-Length: {}\r\n\r\n{}", target,
                     body.size(), body);
}

// Eight numeric features, as Elec2 has.
std::string features(Random& rng) {
  return fmt::format(
      "{{\"date\":{:.4f},\"day\":{},\"period\":{:.4f},\"nswprice\":{:.5f},\"nswdemand\":{:.5f},"
      "\"vicprice\":{:.5f},\"vicdemand\":{:.5f},\"transfer\":{:.5f}}}",
      rng.uniform(), static_cast<int>(rng.uniform() * 7), rng.uniform(), rng.uniform(),
      rng.uniform(), rng.uniform() * 0.01, rng.uniform(), rng.uniform());
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Request-reply latencies in microseconds of `count` requests, one at a time.
std::vector<double> request_reply(Connection& c, const std::vector<std::string>& requests,
                                  size_t count) {
  std::vector<double> us;
  us.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const auto t = Clock::now();
    c.send(requests[i % requests.size()]);
    c.read(1);
    us.push_back(seconds_since(t) * 1e6);
  }
  return us;
}

struct WrkRow {
  std::string name;
  double rps = 0, p99_ms = 0;
};

// Runs Debian's wrk (64 connections, 2 threads, 3 s) with a POST body; nullopt-like empty
// name if wrk is missing or fails.
WrkRow run_wrk(const std::string& name, uint16_t port, const std::string& path,
               const std::string& body) {
  WrkRow row{name};
  char script_path[] = "/tmp/rtml-bench-wrk-XXXXXX.lua";
  int fd = mkstemps(script_path, 4);
  if (fd < 0) return row;
  close(fd);
  {
    std::ofstream script(script_path);
    std::string quoted;
    for (char ch : body) {
      if (ch == '\\' || ch == '"') quoted += '\\';
      quoted += ch;
    }
    script << "wrk.method = \"POST\"\nwrk.body = \"" << quoted
           << "\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n";
  }
  const std::string cmd =
      fmt::format("wrk -t2 -c64 -d3s --latency -s {} http://127.0.0.1:{}{} 2>/dev/null",
                  script_path, port, path);
  FILE* p = popen(cmd.c_str(), "r");
  if (p) {
    char line[512];
    while (fgets(line, sizeof line, p)) {
      std::string l(line);
      if (l.find("Requests/sec:") != std::string::npos) {
        row.rps = std::strtod(l.c_str() + l.find(':') + 1, nullptr);
      }
      const auto at = l.find("99%");
      if (at != std::string::npos) {
        char* end = nullptr;
        double v = std::strtod(l.c_str() + at + 3, &end);
        std::string unit(end, end + 2);
        row.p99_ms = unit == "us" ? v / 1000 : unit.substr(0, 1) == "s" ? v * 1000 : v;
      }
    }
    pclose(p);
  }
  std::remove(script_path);
  return row;
}

}  // namespace

int run_bench_serve(const BenchServeOptions& o) {
  serve::Api::Options api_options;
  api_options.log.max_entries = 1u << 20;
  serve::Api api(api_options);
  if (Status s = api.create_model("m", "standard_scaler | logistic_regression"); !s) {
    throw Error(s.why());
  }
  Echo echo;
  Running served(api, o.threads), echoed(echo, o.threads);
  const uint16_t port = served.server->port(), echo_port = echoed.server->port();
  auto progress = [&](const char* what) {
    if (!o.json) std::fprintf(stderr, "bench serve: %s...\n", what);
  };

  // The model learns 2,000 events and the store holds 1,000 users, first.
  Random rng(1);
  std::vector<std::string> events;
  for (int i = 0; i < 1000; ++i) events.push_back(features(rng));
  {
    Connection c(port);
    std::string batch;
    for (int i = 0; i < 2000; ++i) {
      batch += request("/v1/models/m/learn", "{\"features\":" + events[i % events.size()] +
                                                 ",\"label\":\"" + (i % 3 ? "UP" : "DOWN") + "\"}");
    }
    c.send(batch);
    c.read(2000);
    batch.clear();
    for (int u = 0; u < 1000; ++u) {
      const std::string body = "{\"features\":" + events[u] + "}";
      batch += fmt::format("PUT /v1/features/u{} HTTP/1.1\r\nContent-Length: {}\r\n\r\n{}", u,
                           body.size(), body);
    }
    c.send(batch);
    c.read(1000);
    c.send(request("/v1/models/m/snapshot", ""));
    c.read(1);
  }

  std::vector<std::string> predict_requests, echo_requests, lookup_requests;
  for (const auto& e : events) {
    const std::string body = "{\"features\":" + e + "}";
    predict_requests.push_back(request("/v1/models/m/predict", body));
    echo_requests.push_back(request("/echo", body));
  }
  for (int u = 0; u < 1000; ++u) {
    lookup_requests.push_back(
        request("/v1/models/m/predict",
                fmt::format("{{\"features\":{{\"hour\":{}}},\"entity\":{{\"user_id\":\"u{}\"}}}}",
                            u % 24, u)));
  }

  // 1. Pipelined predictions on one connection, windows of 256.
  progress("pipelined predictions");
  double pipelined = 0;
  {
    Connection c(port);
    const size_t window = 256, total = o.pipelined;
    std::string burst;
    for (size_t i = 0; i < window; ++i) burst += predict_requests[i % predict_requests.size()];
    const auto t = Clock::now();
    for (size_t sent = 0; sent < total; sent += window) {
      c.send(burst);
      c.read(window);
    }
    pipelined = static_cast<double>(total) / seconds_since(t);
  }
  // 2. Request-reply, beside the echo server with the same bodies.
  progress("request-reply");
  double predict_p50 = 0, echo_p50 = 0, predict_p99 = 0, echo_p99 = 0;
  {
    Connection c(port), e(echo_port);
    request_reply(c, predict_requests, 2000);  // warm
    request_reply(e, echo_requests, 2000);
    // In rounds of 100, alternating, so that both servers see the same moments of a
    // host whose speed drifts (a VM's neighbours): compared in one run, not one after
    // the other.
    std::vector<double> a, b;
    for (size_t done = 0; done < o.request_reply; done += 100) {
      const size_t n = std::min<size_t>(100, o.request_reply - done);
      auto x = request_reply(c, predict_requests, n);
      auto y = request_reply(e, echo_requests, n);
      a.insert(a.end(), x.begin(), x.end());
      b.insert(b.end(), y.begin(), y.end());
    }
    predict_p50 = percentile(a, 0.5);
    predict_p99 = percentile(a, 0.99);
    echo_p50 = percentile(b, 0.5);
    echo_p99 = percentile(b, 0.99);
  }
  // 3. Predict with one store lookup, paced at 10,000 requests/s.
  progress("predict with a store lookup at 10,000/s");
  double lookup_p50 = 0, lookup_p99 = 0;
  {
    Connection c(port);
    // The learning thread first logs what the steps before predicted (a snapshot waits
    // for its queue): this step measures predictions, not that backlog.
    c.send(request("/v1/models/m/snapshot", ""));
    c.read(1);
    std::vector<double> us;
    const auto start = Clock::now();
    const auto gap = std::chrono::nanoseconds(100000);
    for (size_t i = 0; i < o.paced; ++i) {
      const auto due = start + gap * static_cast<int64_t>(i);
      // Sleep, then spin the last 50 us: a spinning client would take a core from the
      // server on a small machine.
      std::this_thread::sleep_until(due - std::chrono::microseconds(50));
      while (Clock::now() < due) {
      }
      c.send(lookup_requests[i % lookup_requests.size()]);
      c.read(1);
      us.push_back(std::chrono::duration<double>(Clock::now() - due).count() * 1e6);
    }
    lookup_p50 = percentile(us, 0.5);
    lookup_p99 = percentile(us, 0.99);
  }
  // 4. Batch predict, 1,000 events a request.
  progress("batch predictions");
  double batch_rate = 0;
  {
    std::string body = "{\"events\":[";
    for (int i = 0; i < 1000; ++i) {
      if (i) body += ',';
      body += "{\"features\":" + events[i] + "}";
    }
    body += "]}";
    const std::string req = request("/v1/models/m/predict", body);
    Connection c(port);
    // A client sends its next batch when the model is not behind (else the server would
    // answer 503): the rate is what the server sustains, its learning thread included.
    auto send_batch = [&] {
      while (api.queued("m") + 1000 > api_options.max_queued) {
        std::this_thread::sleep_for(std::chrono::microseconds(100));
      }
      c.send(req);
      c.read(1);
    };
    // First the model's prediction log is filled (2^20 predictions, with those of the
    // steps before: each step's predictions are logged): from then on each prediction logged makes
    // the oldest leave, as in a server that has run a while. In its first lap the log allocates as
    // it grows.
    for (size_t n = o.pipelined + 2000 + o.request_reply + o.paced; n < api_options.log.max_entries;
         n += 1000) {
      send_batch();
    }
    const auto t = Clock::now();
    for (size_t i = 0; i < o.batches; ++i) send_batch();
    batch_rate = 1000.0 * static_cast<double>(o.batches) / seconds_since(t);
  }
  // 5. wrk, 64 connections.
  std::vector<WrkRow> wrk;
  if (!o.no_wrk && std::system("command -v wrk >/dev/null 2>&1") == 0) {
    progress("wrk, 64 connections");
    Connection c(port);
    c.send(request("/v1/models/m/snapshot", ""));
    c.read(1);
    const std::string body = "{\"features\":" + events[0] + "}";
    wrk.push_back(run_wrk("predict", port, "/v1/models/m/predict", body));
    wrk.push_back(run_wrk("learn", port, "/v1/models/m/learn",
                          "{\"features\":" + events[0] + ",\"label\":\"UP\"}"));
    wrk.push_back(run_wrk("echo", echo_port, "/echo", body));
  }

  if (!o.json) {
    std::printf("%-48s %14s\n", "rtml bench serve (one run, loopback)", "");
    std::printf("%-48s %14.0f /s   (goal >= 180,000)\n", "pipelined predictions, one connection",
                pipelined);
    std::printf("%-48s %11.1f us   p99 %.1f us\n", "request-reply predict p50", predict_p50,
                predict_p99);
    std::printf("%-48s %11.1f us   p99 %.1f us\n", "request-reply echo p50 (same library)",
                echo_p50, echo_p99);
    std::printf("%-48s %11.1f us   (goal < 10)\n", "predict over echo, p50",
                predict_p50 - echo_p50);
    std::printf("%-48s %11.1f us   p50 %.1f us (goal p99 < 100)\n",
                "predict with a store lookup at 10,000/s, p99", lookup_p99, lookup_p50);
    std::printf("%-48s %14.0f /s   (goal >= 2,000,000)\n", "batch predict, 1,000 events a request",
                batch_rate);
    for (const auto& w : wrk) {
      std::printf("wrk -c64 %-39s %14.0f /s   p99 %.2f ms\n", w.name.c_str(), w.rps, w.p99_ms);
    }
  }
  std::printf(
      "{\"pipelined_predictions_per_second\": %.0f, \"request_reply_overhead_us_p50\": %.2f, "
      "\"predict_with_lookup_p99_us\": %.2f, \"batch_events_per_second\": %.0f}\n",
      pipelined, predict_p50 - echo_p50, lookup_p99, batch_rate);
  api.shutdown();
  return 0;
}

}  // namespace rtml::cli
