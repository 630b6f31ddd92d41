// rtml run on a Kafka topic: workers of one consumer group against librdkafka's mock
// cluster (rdkafka_mock.h), which the test starts in its own process: real brokers on
// loopback sockets as far as the workers can tell.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "../redis_server.h"
#include "../test_util.h"
#include "rtml/core/error.h"
#include "rtml/runtime/run_config.h"
#include "shared_aggregates.h"

extern char** environ;

namespace rtml::runtime {
namespace {

using json = nlohmann::json;

// A mock cluster of `brokers` brokers, alive while the object lives.
class MockKafka {
 public:
  explicit MockKafka(int brokers) {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err));
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    cluster_ = rd_kafka_mock_cluster_new(rk_, brokers);
    bootstraps_ = rd_kafka_mock_cluster_bootstraps(cluster_);
  }
  ~MockKafka() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(rk_);
  }
  const std::string& bootstraps() const { return bootstraps_; }
  rd_kafka_mock_cluster_t* cluster() { return cluster_; }
  void topic(const char* name, int partitions) {
    rd_kafka_mock_topic_create(cluster_, name, partitions, 1);
  }

 private:
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string bootstraps_;
};

// Produces events [from, to) to rtml-events, keyed by id: two features, the label a
// function of them; with bad = true also one record that is not JSON.
// With entities, also an event time t (i / 100 s), and for one event in ten a user, an
// item and a whole-number price, keyed by the user: one user's events are on one
// partition, so one worker at a time applies them.
void produce(const std::string& brokers, int from, int to, bool bad = false,
             bool entities = false) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof(err));
  rd_kafka_conf_set(conf, "linger.ms", "5", err, sizeof(err));
  rd_kafka_t* p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  ASSERT_TRUE(p) << err;
  std::mt19937_64 rng(static_cast<uint64_t>(from));
  std::uniform_real_distribution<double> u(0, 1);
  auto send = [&](const std::string& key, const std::string& value) {
    while (rd_kafka_producev(p, RD_KAFKA_V_TOPIC("rtml-events"),
                             RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
                             RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                             RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(p, 50);
    }
  };
  for (int i = from; i < to; ++i) {
    const double x = u(rng), y = u(rng);
    std::string event = "{\"id\":" + std::to_string(i) + ",\"x\":" + std::to_string(x) +
                        ",\"y\":" + std::to_string(y) + ",\"label\":\"" +
                        (x + y > 1 ? "yes" : "no") + "\"";
    std::string key = std::to_string(i);
    if (entities) {
      event += ",\"t\":" + std::to_string(i / 100.0);
      if (i % 10 == 0) {
        key = "u" + std::to_string(rng() % 500);
        event += ",\"user\":\"" + key + "\",\"item\":\"i" + std::to_string(rng() % 40) +
                 "\",\"price\":" + std::to_string(rng() % 100);
      }
    }
    send(key, event + "}");
  }
  if (bad) send("bad", "{\"id\": 1, oops");
  EXPECT_EQ(rd_kafka_flush(p, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_destroy(p);
}

// The ids in the predictions topic, read from its start by a group of its own, until
// `want` distinct ones or `seconds` pass.
std::set<std::string> predicted_ids(const std::string& brokers, size_t want, double seconds) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof(err));
  rd_kafka_conf_set(conf, "group.id", "verify", err, sizeof(err));
  rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, sizeof(err));
  rd_kafka_t* c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  rd_kafka_poll_set_consumer(c);
  rd_kafka_topic_partition_list_t* t = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(t, "rtml-predictions", RD_KAFKA_PARTITION_UA);
  rd_kafka_subscribe(c, t);
  rd_kafka_topic_partition_list_destroy(t);
  std::set<std::string> ids;
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (ids.size() < want && std::chrono::steady_clock::now() < end) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 100);
    if (!m) continue;
    if (!m->err) {
      json j = json::parse(std::string(static_cast<const char*>(m->payload), m->len));
      ids.insert(j.at("id").get<std::string>());
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(c);
  rd_kafka_destroy(c);
  return ids;
}

std::string worker_config(const test::TempDir& tmp, const std::string& brokers,
                          const std::string& name, const std::string& extra) {
  const std::string path = tmp.file(name + ".yaml");
  std::ofstream(path) << "kafka:\n  brokers: " << brokers
                      << "\n  settings:\n    log_level: 0\n"
                         "source:\n  topic: rtml-events\n  id: id\n  claim_idle: 6\n  consumer: "
                      << name << "\n"
                      << extra
                      << "model:\n"
                         "  expression: \"standard_scaler | logistic_regression\"\n"
                         "  target: label\n"
                         "sinks:\n  predictions_topic: rtml-predictions\n"
                         "  predictions: "
                      << tmp.file(name + "-predictions.jsonl") << "\n";
  return path;
}

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

// One worker: every record predicted once, to its topic and its file; a bad record is a
// dead letter naming topic/partition/offset; the offsets are committed.
TEST(KafkaTopics, AWorkerPredictsEveryRecordAndCommits) {
  MockKafka kafka(1);
  kafka.topic("rtml-events", 2);
  kafka.topic("rtml-predictions", 2);
  const int n = 3000;
  produce(kafka.bootstraps(), 0, n, true);
  test::TempDir tmp;
  const std::string config = worker_config(
      tmp, kafka.bootstraps(), "w", "checkpoint:\n  dir: " + tmp.file("ck") + "\n  seconds: 0.5\n");
  std::string with_dead =
      test::read_all(config) + "  dead_letters: " + tmp.file("dead.jsonl") + "\n";
  std::ofstream(config) << with_dead;
  pid_t pid = spawn_worker(config, tmp.file("w.out"));
  ASSERT_GT(pid, 0);
  std::set<std::string> ids = predicted_ids(kafka.bootstraps(), n, 60);
  EXPECT_EQ(ids.size(), static_cast<size_t>(n));
  json s = stop_worker(pid, tmp.file("w.out"));
  EXPECT_EQ(s["events"], n) << s;
  EXPECT_EQ(s["learned"], n);
  EXPECT_EQ(s["dead_letters"], 1);
  EXPECT_EQ(s["stream"]["acknowledged"], n + 1);
  EXPECT_GT(s["rolling_accuracy"].get<double>(), 0.9);
  const std::string dead = test::read_all(tmp.file("dead.jsonl"));
  EXPECT_NE(dead.find("\"entry\":\"rtml-events/"), std::string::npos) << dead;
  // Started again, it resumes past what it committed: nothing new.
  pid = spawn_worker(config, tmp.file("again.out"));
  std::this_thread::sleep_for(std::chrono::seconds(4));
  json again = stop_worker(pid, tmp.file("again.out"));
  EXPECT_EQ(again["events"], n) << again;  // the checkpoint's, nothing more
  EXPECT_EQ(again["stream"]["entries"], 0) << again;
  // A new worker of the group, without the checkpoint: the group's committed offsets
  // alone say it is all done.
  pid = spawn_worker(worker_config(tmp, kafka.bootstraps(), "other", ""), tmp.file("other.out"));
  std::this_thread::sleep_for(std::chrono::seconds(4));
  json other = stop_worker(pid, tmp.file("other.out"));
  EXPECT_EQ(other["stream"]["entries"], 0) << other;
}

// The ids in the workers' prediction files.
std::set<std::string> ids_in_files(const test::TempDir& tmp,
                                   const std::vector<std::string>& names) {
  std::set<std::string> ids;
  for (const auto& name : names) {
    std::ifstream f(tmp.file(name + "-predictions.jsonl"));
    std::string line;
    while (std::getline(f, line)) {
      try {
        ids.insert(json::parse(line).at("id").get<std::string>());
      } catch (const std::exception&) {
        // a line being written
      }
    }
  }
  return ids;
}

// Three workers with checkpoints while events arrive: a third joins (a rebalance), one is
// killed with SIGKILL and restarted, a broker fails (its partitions' leaders and the
// group's coordinator move to the others), one worker leaves (another rebalance). Every
// event is predicted, and the workers' final states together learned each label once:
// librdkafka's mock refuses every commit while the group rebalances, so this holds only
// because a worker gives up partitions committed, or goes back to its last committed
// checkpoint.
TEST(KafkaTopics, RebalancesAKillAndABrokerFailureLoseNothingAndLearnNothingTwice) {
  MockKafka kafka(3);
  kafka.topic("rtml-events", 6);
  kafka.topic("rtml-predictions", 3);
  const int n = 30000;
  test::TempDir tmp;
  // The aggregates of the users and items the events name, kept in this Redis.
  test::RedisServer redis;
  ASSERT_TRUE(redis.up()) << "redis-server did not start";
  std::vector<std::string> names = {"w0", "w1", "w2"}, configs;
  for (const auto& name : names) {
    configs.push_back(worker_config(tmp, kafka.bootstraps(), name,
                                    "  time: t\ncheckpoint:\n  dir: " + tmp.file(name + "-ck") +
                                        "\n  seconds: 0.5\n" +
                                        test::shared_store(redis.port(), "rtml")));
    test::drop_entities(configs.back());
  }
  auto out = [&](int w) { return tmp.file(names[w] + ".out"); };
  std::vector<pid_t> pids = {spawn_worker(configs[0], out(0)), spawn_worker(configs[1], out(1)),
                             -1};
  produce(kafka.bootstraps(), 0, n / 3, false, true);
  std::this_thread::sleep_for(std::chrono::seconds(3));
  pids[2] = spawn_worker(configs[2], out(2));  // joins: a rebalance
  produce(kafka.bootstraps(), n / 3, n / 2, false, true);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ASSERT_EQ(::kill(pids[1], SIGKILL), 0);  // killed, restarted at once
  ::waitpid(pids[1], nullptr, 0);
  pids[1] = spawn_worker(configs[1], out(1));
  produce(kafka.bootstraps(), n / 2, 2 * n / 3, false, true);
  // Broker 3 fails; a second later its partitions are led by the others, and the group's
  // coordinator is broker 1.
  std::thread late([&] { produce(kafka.bootstraps(), 2 * n / 3, n, false, true); });
  rd_kafka_mock_broker_set_down(kafka.cluster(), 3);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  for (const char* topic : {"rtml-events", "rtml-predictions"}) {
    for (int32_t p = 0; p < 6; ++p)
      rd_kafka_mock_partition_set_leader(kafka.cluster(), topic, p, 1 + p % 2);
  }
  rd_kafka_mock_coordinator_set(kafka.cluster(), "group", "rtml", 1);
  late.join();
  int status = 0;
  std::string summaries;
  uint64_t learned = 0;
  json left = stop_worker(pids[0], out(0), &status);  // leaves: a rebalance
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << left;
  learned += left.value("learned", uint64_t{0});
  summaries += left.dump() + "\n";
  std::set<std::string> ids;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  while ((ids = ids_in_files(tmp, names)).size() < static_cast<size_t>(n) &&
         std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(n)) << "events never predicted";
  for (int w : {1, 2}) {
    json s = stop_worker(pids[w], out(w), &status);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << names[w] << ": " << s;
    learned += s.value("learned", uint64_t{0});
    summaries += s.dump() + "\n";
  }
  std::cout << "workers' summaries:\n" << summaries;
  // One worker run once, cleanly, over the whole topic (a group and a prefix of its own):
  // the same aggregates, bucket for bucket.
  const std::string clean =
      worker_config(tmp, kafka.bootstraps(), "clean",
                    "  group: clean\n  time: t\n" + test::shared_store(redis.port(), "clean"));
  test::drop_entities(clean);
  pid_t pid = spawn_worker(clean, tmp.file("clean.out"));
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (ids_in_files(tmp, {"clean"}).size() < static_cast<size_t>(n) &&
         std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  json alone_summary = stop_worker(pid, tmp.file("clean.out"));
  EXPECT_EQ(alone_summary["events"], n) << alone_summary;
  store::RedisOptions ro;
  ro.port = redis.port();
  store::RedisConnection r(ro);
  const auto shared = test::aggregates_in(r, "rtml"), alone = test::aggregates_in(r, "clean");
  EXPECT_GT(shared.size(), 500u);
  EXPECT_EQ(shared, alone) << "aggregates that differ from one clean run's";
  EXPECT_EQ(learned, static_cast<uint64_t>(n))
      << "a label learned twice, or never\n"
      << summaries << test::read_all(out(0) + ".err") << test::read_all(out(1) + ".err")
      << test::read_all(out(2) + ".err");
}

// A worker killed between a checkpoint and its commit, and one killed between the
// commit and the checkpoint's promotion: started again, each resumes from the checkpoint
// the group's offsets match, so every label is learned once.
TEST(KafkaTopics, AKillAroundTheCommitLearnsNothingTwice) {
  for (const char* point : {"before-stream-ack:3", "before-checkpoint-promote:3"}) {
    SCOPED_TRACE(point);
    MockKafka kafka(1);
    kafka.topic("rtml-events", 2);
    kafka.topic("rtml-predictions", 2);
    const int n = 20000;
    produce(kafka.bootstraps(), 0, n);
    test::TempDir tmp;
    // The 3rd checkpoint (the first is written before the first event) holds 10,000.
    const std::string config = worker_config(
        tmp, kafka.bootstraps(), "w",
        "checkpoint:\n  dir: " + tmp.file("ck") + "\n  events: 5000\n  seconds: 100\n");
    ::setenv("RTML_CRASH_AT", point, 1);
    pid_t pid = spawn_worker(config, tmp.file("crash.out"));
    ::unsetenv("RTML_CRASH_AT");
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 137) << status;
    pid = spawn_worker(config, tmp.file("w.out"));
    std::set<std::string> ids;
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while ((ids = ids_in_files(tmp, {"w"})).size() < static_cast<size_t>(n) &&
           std::chrono::steady_clock::now() < end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    EXPECT_EQ(ids.size(), static_cast<size_t>(n));
    json s = stop_worker(pid, tmp.file("w.out"));
    // Killed before the commit: the 2nd checkpoint (5,000); after it: the 3rd (10,000).
    EXPECT_EQ(s["resumed_at"], std::string(point).rfind("before-stream", 0) == 0 ? 5000 : 10000)
        << s;
    EXPECT_EQ(s["learned"], n) << "a label learned twice, or never: " << s;
  }
}

TEST(KafkaTopics, ConfigMistakesAreClearErrors) {
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
  EXPECT_NE(error_of("source:\n  topic: t\n" + model).find("add 'kafka: {brokers: host:port}'"),
            std::string::npos);
  EXPECT_NE(error_of("kafka:\n  settings: {a: b}\nsource:\n  topic: t\n" + model)
                .find("missing key 'kafka.brokers'"),
            std::string::npos);
  EXPECT_NE(error_of("kafka:\n  brokers: h:1\n  settings: [a]\nsource:\n  topic: t\n" + model)
                .find("'kafka.settings' must be a mapping"),
            std::string::npos);
  EXPECT_EQ(error_of("kafka:\n  brokers: h:1\n  settings: {security.protocol: SASL_SSL}\n"
                     "source:\n  topic: t\n" +
                     model),
            "no error");
}

}  // namespace
}  // namespace rtml::runtime
