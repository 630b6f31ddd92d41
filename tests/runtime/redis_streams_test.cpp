// rtml run on a Redis stream: workers of one consumer group, against a redis-server the
// test starts on loopback.
#include "rtml/runtime/redis_streams.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "../redis_server.h"
#include "../test_util.h"
#include "rtml/core/error.h"
#include "rtml/runtime/run_config.h"
#include "rtml/store/redis_connection.h"
#include "shared_aggregates.h"

extern char** environ;

namespace rtml::runtime {
namespace {

using json = nlohmann::json;
using store::RedisConnection;
using store::RedisOptions;

RedisOptions local(int port) {
  RedisOptions o;
  o.port = port;
  return o;
}

// Event i: two features, its label a function of them (learnable), as one JSON field
// (odd i) or one field per feature (even i). With entities, one field per feature, an
// event time t (i / 100 s), and for one event in ten a user, an item and a whole-number
// price (for aggregates).
void add_events(RedisConnection& r, int from, int to, bool entities = false) {
  std::mt19937_64 rng(static_cast<uint64_t>(from));
  std::uniform_real_distribution<double> u(0, 1);
  int queued = 0;
  for (int i = from; i < to; ++i) {
    const double x = u(rng), y = u(rng);
    const std::string id = std::to_string(i), xs = std::to_string(x), ys = std::to_string(y);
    const char* label = x + y > 1 ? "yes" : "no";
    if (entities && i % 10 == 0) {
      // One event in ten is a purchase: a user, an item and a price.
      const std::string user = "u" + std::to_string(rng() % 500),
                        item = "i" + std::to_string(rng() % 40),
                        price = std::to_string(rng() % 100), t = std::to_string(i / 100.0);
      r.append({"XADD", "rtml:events", "*", "id", id, "x", xs, "y", ys, "label", label, "user",
                user, "item", item, "price", price, "t", t});
    } else if (entities) {
      r.append({"XADD", "rtml:events", "*", "id", id, "x", xs, "y", ys, "label", label, "t",
                std::to_string(i / 100.0)});
    } else if (i % 2) {
      const std::string event =
          "{\"id\":" + id + ",\"x\":" + xs + ",\"y\":" + ys + ",\"label\":\"" + label + "\"}";
      r.append({"XADD", "rtml:events", "*", "event", event});
    } else {
      r.append({"XADD", "rtml:events", "*", "id", id, "x", xs, "y", ys, "label", label});
    }
    if (++queued == 1000) {
      for (; queued; --queued) r.reply();
    }
  }
  for (; queued; --queued) r.reply();
}

// The fields of every entry of a stream, in order.
std::vector<std::map<std::string, std::string>> read_stream(RedisConnection& r,
                                                            const std::string& stream) {
  std::vector<std::map<std::string, std::string>> out;
  std::string from = "-";
  for (;;) {
    auto reply = r.command({"XRANGE", stream, from, "+", "COUNT", "10000"});
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) break;
    for (size_t i = 0; i < reply->elements; ++i) {
      const redisReply* e = reply->element[i];
      std::map<std::string, std::string> fields;
      for (size_t k = 0; k + 1 < e->element[1]->elements; k += 2) {
        fields[std::string(e->element[1]->element[k]->str, e->element[1]->element[k]->len)] =
            std::string(e->element[1]->element[k + 1]->str, e->element[1]->element[k + 1]->len);
      }
      out.push_back(std::move(fields));
    }
    // The next page starts after the last id ("(" : exclusive).
    from = "(" + std::string(reply->element[reply->elements - 1]->element[0]->str);
  }
  return out;
}

long long integer(RedisConnection& r, const std::vector<std::string_view>& args) {
  auto reply = r.command(args);
  return reply->type == REDIS_REPLY_INTEGER ? reply->integer : -1;
}

// Entries of the group not acknowledged yet.
long long pending(RedisConnection& r) {
  auto reply = r.command({"XPENDING", "rtml:events", "rtml"});
  return reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 ? reply->element[0]->integer : -1;
}

std::string worker_config(const test::TempDir& tmp, int port, const std::string& name,
                          const std::string& extra) {
  const std::string path = tmp.file(name + ".yaml");
  std::ofstream(path) << "redis: redis://127.0.0.1:" << port
                      << "\n"
                         "source:\n"
                         "  stream: rtml:events\n"
                         "  id: id\n"
                         "  consumer: "
                      << name << "\n"
                      << extra
                      << "model:\n"
                         "  expression: \"standard_scaler | logistic_regression\"\n"
                         "  target: label\n"
                         "sinks:\n"
                         "  predictions_stream: rtml:predictions\n"
                         "  dead_letters_stream: rtml:dead-letters\n";
  return path;
}

// Waits until f() holds, up to seconds; returns whether it did.
template <typename F>
bool wait_for(F f, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (!f()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// SIGTERM, then the worker's exit status and its summary (the last line it printed).
// `rtml run config` in the background, its errors beside its output.
pid_t spawn_worker(const std::string& config, const std::string& out) {
  return test::spawn_rtml_run(config, out, out + ".err");
}

json stop_worker(pid_t pid, const std::string& out, int* status = nullptr) {
  ::kill(pid, SIGTERM);
  int st = 0;
  ::waitpid(pid, &st, 0);
  if (status) *status = st;
  try {
    return json::parse(test::last_line(test::read_all(out)));
  } catch (const std::exception&) {
    return json{{"unreadable", test::read_all(out) + test::read_all(out + ".err")}};
  }
}

// One worker: entries in both forms are predicted once each, learned from, and
// acknowledged; a bad entry goes to the dead-letter stream naming its entry id.
TEST(RedisStreams, AWorkerPredictsEveryEntryAndAcknowledgesIt) {
  test::RedisServer server;
  ASSERT_TRUE(server.up()) << "redis-server did not start";
  RedisConnection r(local(server.port()));
  const int n = 5000;
  add_events(r, 0, n);
  auto bad = r.command({"XADD", "rtml:events", "*", "event", "{\"id\": 1, oops"});
  const std::string bad_id(bad->str, bad->len);
  test::TempDir tmp;
  const std::string config = worker_config(tmp, server.port(), "w", "");
  pid_t pid = spawn_worker(config, tmp.file("w.out"));
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(wait_for(
      [&] {
        return integer(r, {"XLEN", "rtml:predictions"}) == n && pending(r) == 0;
      },
      30))
      << integer(r, {"XLEN", "rtml:predictions"}) << " predictions, " << pending(r) << " pending";
  json s = stop_worker(pid, tmp.file("w.out"));
  EXPECT_EQ(s["events"], n) << s;
  EXPECT_EQ(s["learned"], n);
  EXPECT_EQ(s["dead_letters"], 1);
  EXPECT_EQ(s["stream"]["entries"], n + 1);
  EXPECT_EQ(s["stream"]["acknowledged"], n + 1);
  EXPECT_GT(s["rolling_accuracy"].get<double>(), 0.9);  // it learned the label
  std::set<std::string> ids;
  for (const auto& p : read_stream(r, "rtml:predictions")) {
    EXPECT_TRUE(p.count("prediction")) << p.at("id");
    ids.insert(p.at("id"));
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(n));
  EXPECT_TRUE(ids.count("0") && ids.count(std::to_string(n - 1)));
  auto dead = read_stream(r, "rtml:dead-letters");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0]["entry"], bad_id);
  EXPECT_EQ(dead[0]["source"], "events");
  EXPECT_EQ(dead[0]["record"], "{\"id\": 1, oops");

  // A second worker on the same group later finds nothing left to do.
  pid = spawn_worker(worker_config(tmp, server.port(), "w2", ""), tmp.file("w2.out"));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  json s2 = stop_worker(pid, tmp.file("w2.out"));
  EXPECT_EQ(s2["events"], 0) << s2;
}

// Three workers of one group with checkpoints, one of them killed with SIGKILL at random
// moments and restarted, while 200,000 events arrive: every event is predicted (some
// twice, after a kill: at-least-once), each label is learned exactly once by the
// workers' final states together (a label learned twice would count twice), and the
// aggregates they keep in Redis are exactly those of one worker run once, cleanly.
TEST(RedisStreams, ThreeWorkersKilledAndRestartedLearnEachLabelOnce) {
  test::RedisServer server;
  ASSERT_TRUE(server.up()) << "redis-server did not start";
  RedisConnection r(local(server.port()));
  test::TempDir tmp;
  const int n = 200000;
  std::vector<std::string> configs;
  for (int w = 0; w < 3; ++w) {
    const std::string name = "w" + std::to_string(w);
    configs.push_back(worker_config(
        tmp, server.port(), name,
        "  claim_idle: 5\n  time: t\ncheckpoint:\n  dir: " + tmp.file(name + "-ck") +
            "\n  seconds: 0.5\n  events: 20000\n" + test::shared_store(server.port(), "rtml")));
    test::drop_entities(configs.back());
  }
  // The events arrive over about 8 s, so that the kills land all over the stream.
  std::atomic<bool> producing{true};
  std::thread producer([&] {
    RedisConnection p(local(server.port()));
    for (int at = 0; at < n; at += 5000) {
      add_events(p, at, at + 5000, true);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    producing = false;
  });
  std::vector<pid_t> pids(3);
  for (int w = 0; w < 3; ++w) {
    pids[w] = spawn_worker(configs[w], tmp.file("w" + std::to_string(w) + ".out"));
    ASSERT_GT(pids[w], 0);
  }
  std::mt19937_64 rng(
      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  int kills = 0;
  while (producing || kills < 5) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + rng() % 900));
    const int w = static_cast<int>(rng() % 3);
    ASSERT_EQ(::kill(pids[w], SIGKILL), 0);
    int status = 0;
    ::waitpid(pids[w], &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "worker " << w << " ended before its kill";
    ++kills;
    pids[w] = spawn_worker(configs[w], tmp.file("w" + std::to_string(w) + ".out"));
  }
  producer.join();
  // Every event predicted and every entry acknowledged.
  std::set<std::string> ids;
  ASSERT_TRUE(wait_for(
      [&] {
        if (pending(r) != 0 || integer(r, {"XLEN", "rtml:predictions"}) < n) return false;
        ids.clear();
        for (const auto& p : read_stream(r, "rtml:predictions")) ids.insert(p.at("id"));
        return ids.size() == static_cast<size_t>(n);
      },
      90))
      << ids.size() << " events predicted, " << pending(r) << " pending";
  uint64_t learned = 0, events = 0;
  for (int w = 0; w < 3; ++w) {
    int status = 0;
    json s = stop_worker(pids[w], tmp.file("w" + std::to_string(w) + ".out"), &status);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "worker " << w << ": " << s;
    learned += s.value("learned", uint64_t{0});
    events += s.value("events", uint64_t{0});
  }
  EXPECT_GE(kills, 5);
  EXPECT_EQ(learned, static_cast<uint64_t>(n)) << "a label learned twice, or never";
  EXPECT_EQ(events, static_cast<uint64_t>(n));
  EXPECT_EQ(integer(r, {"XLEN", "rtml:dead-letters"}), 0);
  EXPECT_EQ(pending(r), 0);

  // One worker, never killed, reads the whole stream in a group of its own and keeps
  // its aggregates under another prefix: the same keys, the same contents.
  std::string clean =
      worker_config(tmp, server.port(), "clean",
                    "  group: clean\n  time: t\n" + test::shared_store(server.port(), "clean"));
  std::string text = test::read_all(clean);
  text.replace(text.find("rtml:predictions"), 16, "clean:predictions");
  text.replace(text.find("rtml:dead-letters"), 17, "clean:dead-letters");
  std::ofstream(clean) << text;
  test::drop_entities(clean);
  pid_t pid = spawn_worker(clean, tmp.file("clean.out"));
  ASSERT_TRUE(wait_for([&] { return integer(r, {"XLEN", "clean:predictions"}) >= n; }, 120));
  json s = stop_worker(pid, tmp.file("clean.out"));
  EXPECT_EQ(s["events"], n) << s;
  const auto shared = test::aggregates_in(r, "rtml"), alone = test::aggregates_in(r, "clean");
  EXPECT_GT(shared.size(), 500u);  // 500 users, 40 items
  EXPECT_EQ(shared.size(), alone.size());
  size_t differ = 0;
  for (const auto& [key, value] : alone) {
    auto it = shared.find(key);
    if (it == shared.end() || it->second != value) {
      if (++differ <= 3) {
        ADD_FAILURE() << key << ": alone " << value << "\n  shared "
                      << (it == shared.end() ? "(none)" : it->second);
      }
    }
  }
  EXPECT_EQ(differ, 0u) << "aggregates that differ from one clean run's";
}

// Lag and pending entries of the group `rtml` on a stream (XINFO GROUPS).
std::pair<long long, long long> lag_and_pending(RedisConnection& r, const std::string& stream) {
  auto reply = r.command({"XINFO", "GROUPS", stream});
  long long lag = -1, pending_entries = -1;
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) return {lag, pending_entries};
  const redisReply* g = reply->element[0];
  for (size_t k = 0; k + 1 < g->elements; k += 2) {
    const std::string name(g->element[k]->str, g->element[k]->len);
    if (name == "lag" && g->element[k + 1]->type == REDIS_REPLY_INTEGER) {
      lag = g->element[k + 1]->integer;
    }
    if (name == "pending") pending_entries = g->element[k + 1]->integer;
  }
  return {lag, pending_entries};
}

// Events without labels, then their labels on a stream of their own, to two workers
// with checkpoints, one of them killed and restarted while the labels come: a label
// that reaches the other worker than its event is learned from the features logged in
// Redis when the event was predicted; every label is learned once in all.
TEST(RedisStreams, LabelsReachingAnotherWorkerAreLearnedFromTheLogInRedis) {
  test::RedisServer server;
  ASSERT_TRUE(server.up()) << "redis-server did not start";
  RedisConnection r(local(server.port()));
  test::TempDir tmp;
  const int n = 20000;
  std::vector<std::string> labels;
  {
    std::mt19937_64 rng(11);
    std::uniform_real_distribution<double> u(0, 1);
    for (int i = 0; i < n; ++i) {
      const double x = u(rng), y = u(rng);
      labels.push_back(x + y > 1 ? "yes" : "no");
      r.append({"XADD", "rtml:events", "*", "id", std::to_string(i), "x", std::to_string(x), "y",
                std::to_string(y)});
      if (i % 1000 == 999) {
        for (int k = 0; k < 1000; ++k) r.reply();
      }
    }
  }
  std::vector<std::string> configs;
  for (int w = 0; w < 2; ++w) {
    const std::string name = "w" + std::to_string(w);
    configs.push_back(
        worker_config(tmp, server.port(), name,
                      "  claim_idle: 3\nlabels:\n  stream: rtml:labels\n  id: id\n  label: label\n"
                      "checkpoint:\n  dir: " +
                          tmp.file(name + "-ck") + "\n  seconds: 0.5\n"));
  }
  std::vector<pid_t> pids = {spawn_worker(configs[0], tmp.file("w0.out")),
                             spawn_worker(configs[1], tmp.file("w1.out"))};
  ASSERT_TRUE(wait_for([&] { return integer(r, {"XLEN", "rtml:predictions"}) >= n; }, 60));
  // The labels, in a shuffled order, while worker 1 is killed once and restarted.
  std::vector<int> order(n);
  for (int i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937_64(5));
  for (int k = 0; k < n; ++k) {
    const int i = order[static_cast<size_t>(k)];
    r.append({"XADD", "rtml:labels", "*", "id", std::to_string(i), "label",
              labels[static_cast<size_t>(i)]});
    if (k % 1000 == 999) {
      for (int j = 0; j < 1000; ++j) r.reply();
      if (k == 9999) {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        ASSERT_EQ(::kill(pids[1], SIGKILL), 0);
        ::waitpid(pids[1], nullptr, 0);
        pids[1] = spawn_worker(configs[1], tmp.file("w1.out"));
      }
    }
  }
  ASSERT_TRUE(wait_for(
      [&] {
        auto [lag, pending_labels] = lag_and_pending(r, "rtml:labels");
        return lag == 0 && pending_labels == 0;
      },
      60))
      << "labels not all handled";
  // Then 2,000 more events, and their labels once they are predicted: the models that
  // learned from both logs predict them well.
  {
    std::mt19937_64 rng(12);
    std::uniform_real_distribution<double> u(0, 1);
    std::vector<std::string> more;
    for (int i = n; i < n + 2000; ++i) {
      const double x = u(rng), y = u(rng);
      more.push_back(x + y > 1 ? "yes" : "no");
      r.command({"XADD", "rtml:events", "*", "id", std::to_string(i), "x", std::to_string(x), "y",
                 std::to_string(y)});
    }
    ASSERT_TRUE(wait_for([&] { return integer(r, {"XLEN", "rtml:predictions"}) >= n + 2000; }, 30));
    ASSERT_TRUE(wait_for([&] { return lag_and_pending(r, "rtml:events").second == 0; }, 30));
    for (int i = n; i < n + 2000; ++i) {
      r.command({"XADD", "rtml:labels", "*", "id", std::to_string(i), "label",
                 more[static_cast<size_t>(i - n)]});
    }
    ASSERT_TRUE(wait_for(
        [&] {
          auto [lag, pending_labels] = lag_and_pending(r, "rtml:labels");
          return lag == 0 && pending_labels == 0;
        },
        30));
  }
  uint64_t learned = 0, from_log = 0;
  double best_accuracy = 0;
  std::string summaries;
  for (int w = 0; w < 2; ++w) {
    int status = 0;
    json s = stop_worker(pids[static_cast<size_t>(w)], tmp.file("w" + std::to_string(w) + ".out"),
                         &status);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << s;
    learned += s.value("learned", uint64_t{0});
    from_log += s["stream"].value("labels_from_log", uint64_t{0});
    best_accuracy = std::max(best_accuracy, s.value("rolling_accuracy", 0.0));
    summaries += s.dump() + "\n";
  }
  EXPECT_EQ(learned, static_cast<uint64_t>(n + 2000)) << "a label learned twice, or never\n"
                                                      << summaries;
  EXPECT_GT(from_log, static_cast<uint64_t>(n / 10)) << summaries;
  EXPECT_GT(best_accuracy, 0.9) << summaries;
  EXPECT_EQ(integer(r, {"XLEN", "rtml:dead-letters"}), 0);
  std::cout << "workers' summaries:\n" << summaries;
}

// A worker that dies after a checkpoint is written and before the entries it holds are
// acknowledged (a window a random kill rarely hits): restarted, it acknowledges them
// without handling them again.
TEST(RedisStreams, AKillBetweenACheckpointAndItsAcknowledgementLearnsNothingTwice) {
  test::RedisServer server;
  ASSERT_TRUE(server.up()) << "redis-server did not start";
  RedisConnection r(local(server.port()));
  test::TempDir tmp;
  const int n = 30000;
  add_events(r, 0, n);
  const std::string config =
      worker_config(tmp, server.port(), "w",
                    "checkpoint:\n  dir: " + tmp.file("ck") + "\n  events: 5000\n  seconds: 10\n");
  // The 3rd checkpoint (the first is written before the first event) holds 10,000 events.
  ::setenv("RTML_CRASH_AT", "before-stream-ack:3", 1);
  pid_t pid = spawn_worker(config, tmp.file("crash.out"));
  ::unsetenv("RTML_CRASH_AT");
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 137) << status;
  EXPECT_GE(pending(r), 5000);  // the 3rd checkpoint's entries, not acknowledged
  pid = spawn_worker(config, tmp.file("w.out"));
  ASSERT_TRUE(wait_for(
      [&] {
        return integer(r, {"XLEN", "rtml:predictions"}) >= n && pending(r) == 0;
      },
      30));
  json s = stop_worker(pid, tmp.file("w.out"));
  EXPECT_EQ(s["resumed_at"], 10000) << s;
  EXPECT_EQ(s["learned"], n) << "a label learned twice, or never";
  EXPECT_EQ(s["stream"]["entries"], n - 10000);
}

// A worker killed and never restarted: the entries it held are taken over by another
// after claim_idle, so nothing is lost.
TEST(RedisStreams, ADeadWorkersEntriesAreTakenOverByAnother) {
  test::RedisServer server;
  ASSERT_TRUE(server.up()) << "redis-server did not start";
  RedisConnection r(local(server.port()));
  test::TempDir tmp;
  const int n = 40000;
  add_events(r, 0, n);
  // The first worker holds what it read until a checkpoint that never comes.
  const std::string a =
      worker_config(tmp, server.port(), "a",
                    "  claim_idle: 1000\ncheckpoint:\n  dir: " + tmp.file("a-ck") +
                        "\n  seconds: 100\n  events: 1000000000\n");
  pid_t pid = spawn_worker(a, tmp.file("a.out"));
  ASSERT_TRUE(wait_for([&] { return integer(r, {"XLEN", "rtml:predictions"}) > 1000; }, 30));
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  const long long held = pending(r);
  EXPECT_GT(held, 0);
  const std::string b = worker_config(tmp, server.port(), "b", "  claim_idle: 0.5\n");
  pid = spawn_worker(b, tmp.file("b.out"));
  std::set<std::string> ids;
  EXPECT_TRUE(wait_for(
      [&] {
        if (pending(r) != 0) return false;
        ids.clear();
        for (const auto& p : read_stream(r, "rtml:predictions")) ids.insert(p.at("id"));
        return ids.size() == static_cast<size_t>(n);
      },
      30))
      << ids.size() << " events predicted, " << pending(r) << " pending";
  json s = stop_worker(pid, tmp.file("b.out"));
  EXPECT_EQ(s["stream"]["claimed"].get<long long>(), held) << s;
}

// The example config runs against the Redis RTML_REDIS_URL names.
TEST(RedisStreams, TheExampleConfigReadsTheRedisTheEnvironmentNames) {
  test::RedisServer server;
  ASSERT_TRUE(server.up()) << "redis-server did not start";
  RedisConnection r(local(server.port()));
  add_events(r, 0, 300);
  const std::string example = std::string(RTML_SOURCE_DIR) + "/examples/redis_streams.yaml";
  ::setenv("RTML_REDIS_URL", ("redis://127.0.0.1:" + std::to_string(server.port())).c_str(), 1);
  RunConfig c = load_run_config(example);
  ::unsetenv("RTML_REDIS_URL");
  EXPECT_EQ(c.redis, "redis://127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(load_run_config(example).redis, "redis://127.0.0.1:6379");  // the default
  test::TempDir tmp;
  ::setenv("RTML_REDIS_URL", ("redis://127.0.0.1:" + std::to_string(server.port())).c_str(), 1);
  pid_t pid = spawn_worker(example, tmp.file("w.out"));
  ::unsetenv("RTML_REDIS_URL");
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(wait_for([&] { return integer(r, {"XLEN", "rtml:predictions"}) == 300; }, 30));
  json s = stop_worker(pid, tmp.file("w.out"));
  EXPECT_EQ(s["events"], 300) << s;
}

TEST(RedisStreams, ConfigMistakesAreClearErrors) {
  test::TempDir tmp;
  auto error_of = [&](const std::string& text) {
    const std::string path = tmp.write("c.yaml", text);
    try {
      load_run_config(path);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string model = "model:\n  expression: logistic_regression\n  target: y\n";
  EXPECT_NE(error_of("source:\n  stream: s\n" + model).find("add 'redis: redis://host:port'"),
            std::string::npos);
  EXPECT_NE(error_of("redis: redis://h\nsource:\n  stream: s\n  path: x.csv\n" + model)
                .find("one of 'path'"),
            std::string::npos);
  EXPECT_NE(error_of("redis: redis://h\nsource:\n  stream: s\n  claim_idle: 10\n" + model +
                     "checkpoint:\n  dir: ck\n  seconds: 10\n")
                .find("more than twice 'checkpoint.seconds'"),
            std::string::npos);
  ::unsetenv("RTML_NO_SUCH_VARIABLE");
  EXPECT_NE(error_of("redis: ${RTML_NO_SUCH_VARIABLE}\nsource:\n  stream: s\n" + model)
                .find("c.yaml:1: the environment variable RTML_NO_SUCH_VARIABLE is not set"),
            std::string::npos);
  EXPECT_EQ(error_of("redis: ${RTML_NO_SUCH_VARIABLE:-redis://h:1}\nsource:\n  path: x.csv\n" +
                     model + "sinks:\n  predictions_stream: p\n"),
            "no error");  // no Redis is contacted while reading the config
  EXPECT_NE(error_of("redis: redis://h\nsource:\n  path: ${OOPS\n" + model).find("without its '}'"),
            std::string::npos);
}

}  // namespace
}  // namespace rtml::runtime
