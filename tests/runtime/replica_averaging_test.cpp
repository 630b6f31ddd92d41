// Data-parallel learning: model replicas averaged (Pipeline::average) and exchanged
// through a redis-server the test starts (ReplicaAverager, rtml run's `replicas`).
#include "rtml/runtime/replica_averaging.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <zlib.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "../redis_server.h"
#include "../test_util.h"
#include "rtml/core/error.h"
#include "rtml/learn/linear/glm.h"
#include "rtml/learn/pipeline.h"
#include "rtml/runtime/model_channel.h"
#include "rtml/runtime/run_config.h"

namespace rtml::runtime {
namespace {

using json = nlohmann::json;

// A pipeline that learned y = sign(a - b) from events of features named in `names`.
Pipeline trained(std::string_view expression, const std::vector<std::string>& names, int n,
                 double shift) {
  Pipeline p(expression);
  std::vector<uint32_t> index;
  for (const auto& name : names) index.push_back(p.schema().intern(name));
  Features x;
  Target y;
  for (int i = 0; i < n; ++i) {
    const double a = std::sin(i * 0.37) + shift, b = std::cos(i * 0.11);
    x.clear();
    x.add(index[0], a);
    x.add(index[1], b);
    y.label = a > b ? 1 : 0;
    p.learn(x, y);
  }
  return p;
}

TEST(ReplicaAveraging, WeightsAreAveragedByEventsAndMatchedByName) {
  // The second replica met its features in the other order: indices differ, names agree.
  Pipeline a = trained("logistic_regression", {"a", "b"}, 500, 0.0);
  Pipeline b = trained("logistic_regression", {"b", "a"}, 500, 0.5);
  const auto& ga = static_cast<const Glm&>(a.model());
  const auto& gb = static_cast<const Glm&>(b.model());
  const uint32_t ia = *a.schema().find("a"), ib = *a.schema().find("b");
  const uint32_t ja = *b.schema().find("a"), jb = *b.schema().find("b");
  ASSERT_NE(ia, ja);
  const double wa = ga.weights().weight(ia), wb = gb.weights().weight(ja);
  const double va = ga.weights().weight(ib), vb = gb.weights().weight(jb);
  const double ca = ga.intercept(), cb = gb.intercept();
  ASSERT_NE(wa, wb);
  a.average(3.0, {{&b, 1.0}});
  EXPECT_DOUBLE_EQ(ga.weights().weight(ia), (3 * wa + wb) / 4);
  EXPECT_DOUBLE_EQ(ga.weights().weight(ib), (3 * va + vb) / 4);
  EXPECT_DOUBLE_EQ(ga.intercept(), (3 * ca + cb) / 4);
}

// The scaler's statistics are averaged too: weighted all towards one replica, the
// average predicts as that replica does, and the bytes carry the averaged state.
TEST(ReplicaAveraging, ScalerStatisticsAreAveragedWithTheWeights) {
  Pipeline a = trained("standard_scaler | logistic_regression", {"a", "b"}, 300, 0.0);
  Pipeline b = trained("standard_scaler | logistic_regression", {"a", "b"}, 300, 2.0);
  Features x;
  x.add(*a.schema().find("a"), 1.3);
  x.add(*a.schema().find("b"), -0.4);
  Prediction pa, pb, p;
  a.predict(x, pa);
  b.predict(x, pb);
  ASSERT_NE(pa.value, pb.value);
  Pipeline kept = a.clone();
  kept.average(1.0, {{&b, 0.0}});
  kept.predict(x, p);
  EXPECT_DOUBLE_EQ(p.value, pa.value);
  Pipeline taken = a.clone();
  taken.average(0.0, {{&b, 1.0}});
  taken.predict(x, p);
  EXPECT_DOUBLE_EQ(p.value, pb.value);
  a.average(1.0, {{&b, 1.0}});
  a.predict(x, p);
  EXPECT_NE(p.value, pa.value);
  EXPECT_NE(p.value, pb.value);
  Pipeline copy = Pipeline::from_bytes(a.to_bytes(), "copy");
  Prediction pc;
  copy.predict(x, pc);
  EXPECT_EQ(pc.value, p.value);
}

// A matrix factorisation that met its users and items in the order `names` lists them.
Pipeline trained_mf(const std::vector<std::string>& users, double shift) {
  Pipeline p("biased_mf");
  const uint32_t user = *p.schema().find("user"), item = *p.schema().find("item");
  Features x;
  for (int i = 0; i < 3000; ++i) {
    x.clear();
    const size_t u = static_cast<size_t>(i) % users.size(), it = static_cast<size_t>(i * 3) % 4;
    p.add_category(x, user, users[u]);
    p.add_category(x, item, "i" + std::to_string(it));
    p.learn(x, Target::of_value(static_cast<double>(users[u].back() - '0') + 0.5 * it + shift));
  }
  return p;
}

double rating(Pipeline& p, const std::string& user, const std::string& item) {
  Features x;
  p.add_known_category(x, *p.schema().find("user"), user);
  p.add_known_category(x, *p.schema().find("item"), item);
  Prediction out;
  p.predict(x, out);
  return out.value;
}

// Users and items are matched by name, whatever order each replica met them in.
TEST(ReplicaAveraging, MatrixFactorisationsAverageUsersAndItemsByName) {
  Pipeline a = trained_mf({"u1", "u2", "u3"}, 0.0);
  Pipeline b = trained_mf({"u3", "u1", "u2"}, 2.0);
  ASSERT_NE(*a.schema().find_category(*a.schema().find("user"), "u1"),
            *b.schema().find_category(*b.schema().find("user"), "u1"));
  Pipeline taken = a.clone();
  taken.average(0.0, {{&b, 1.0}});
  for (const char* u : {"u1", "u2", "u3"}) {
    EXPECT_NEAR(rating(taken, u, "i2"), rating(b, u, "i2"), 1e-9) << u;
    EXPECT_GT(std::abs(rating(a, u, "i2") - rating(b, u, "i2")), 0.5) << u;
  }
  Pipeline kept = a.clone();
  kept.average(1.0, {{&b, 0.0}});
  EXPECT_NEAR(rating(kept, "u2", "i1"), rating(a, "u2", "i1"), 1e-9);
}

TEST(ReplicaAveraging, TreesAreRefusedAndNothingChanges) {
  Pipeline a = trained("hoeffding_tree", {"a", "b"}, 300, 0.0);
  Pipeline b = trained("hoeffding_tree", {"a", "b"}, 300, 1.0);
  const std::string before = a.to_bytes();
  try {
    a.average(1.0, {{&b, 1.0}});
    ADD_FAILURE() << "averaged trees";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot be averaged"), std::string::npos) << e.what();
  }
  EXPECT_EQ(a.to_bytes(), before);
  Pipeline other = trained("logistic_regression", {"a", "b"}, 10, 0.0);
  EXPECT_THROW(other.average(1.0, {{&b, 1.0}}), Error);  // different pipelines
}

TEST(ReplicaAveraging, ReplicasMeetInRedis) {
  test::RedisServer server;
  ASSERT_TRUE(server.up()) << "redis-server did not start";
  store::RedisOptions o;
  o.port = server.port();
  ReplicaAverager one(o, "rtml:replicas", "one"), two(o, "rtml:replicas", "two");
  Pipeline a = trained("logistic_regression", {"a", "b"}, 400, 0.0);
  Pipeline b = trained("logistic_regression", {"a", "b"}, 400, 1.0);
  EXPECT_EQ(one.merge(a, 400), 0u);  // alone so far
  EXPECT_EQ(two.merge(b, 400), 1u);  // b is now the average of a and b
  const std::string averaged = b.to_bytes();
  EXPECT_EQ(one.merge(a, 400), 1u);  // and so is a, from b's published average and a
  EXPECT_EQ(static_cast<const Glm&>(a.model()).intercept(),
            static_cast<const Glm&>(b.model()).intercept());
}

TEST(ReplicaAveraging, AWorkerWithATreeIsRefusedAtStart) {
  test::RedisServer server;
  ASSERT_TRUE(server.up()) << "redis-server did not start";
  test::TempDir tmp;
  const std::string events = tmp.write("e.csv", "a,y\n1,x\n2,z\n");
  const std::string path =
      tmp.write("c.yaml", "redis: redis://127.0.0.1:" + std::to_string(server.port()) +
                              "\nsource:\n  path: " + events +
                              "\nmodel:\n  expression: hoeffding_tree\n  target: y\nreplicas:\n  "
                              "every: 1000\n");
  auto r = test::run(std::string(RTML_BINARY) + " run " + path + " --quiet");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("cannot be averaged"), std::string::npos) << r.out;
}

TEST(ReplicaAveraging, ReplicasNeedRedis) {
  test::TempDir tmp;
  const std::string path =
      tmp.write("c.yaml",
                "source:\n  path: x.csv\nmodel:\n  expression: logistic_regression\n  target: y\n"
                "replicas:\n  every: 100\n");
  try {
    load_run_config(path);
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'replicas' meet in Redis"), std::string::npos)
        << e.what();
  }
}

// Elec2 split over two workers by its `day` field (odd, even), each replayed over the
// same 6 s so that the two halves of the stream advance together, as live partitions
// do: with their replicas averaged every 100 events, the two workers' progressive
// accuracy over the whole stream stays within 1 point of one worker's on all of it.
TEST(ReplicaAveraging, Elec2OverTwoWorkersStaysWithinOnePointOfOneWorker) {
  if (!test::have_data("elec2.csv.gz")) GTEST_SKIP() << "data sets not found";
  test::RedisServer server;
  ASSERT_TRUE(server.up()) << "redis-server did not start";
  test::TempDir tmp;
  // The data set with an id, whole and in two parts.
  gzFile gz = gzopen((test::data_dir() + "/elec2.csv.gz").c_str(), "rb");
  ASSERT_TRUE(gz);
  std::string text;
  char buf[65536];
  for (int n; (n = gzread(gz, buf, sizeof(buf))) > 0;) text.append(buf, n);
  gzclose(gz);
  std::istringstream in(text);
  std::string header, line;
  std::getline(in, header);
  std::ofstream all(tmp.file("all.csv")),
      part[2] = {std::ofstream(tmp.file("part0.csv")), std::ofstream(tmp.file("part1.csv"))};
  all << "id," << header << "\n";
  for (auto& p : part) p << "id," << header << "\n";
  std::map<std::string, std::string> label;
  size_t rows[2] = {0, 0};
  for (int id = 0; std::getline(in, line); ++id) {
    const size_t c1 = line.find(','), c2 = line.find(',', c1 + 1);
    const int day = static_cast<int>(std::stod(line.substr(c1 + 1, c2 - c1 - 1)));
    all << id << "," << line << "\n";
    part[day % 2] << id << "," << line << "\n";
    ++rows[day % 2];
    label[std::to_string(id)] = line.substr(line.rfind(',') + 1);
  }
  all.close();
  for (auto& p : part) p.close();
  auto config = [&](const std::string& name, const std::string& source, double rate,
                    bool replicas) {
    const std::string path = tmp.file(name + ".yaml");
    std::ofstream(path) << "redis: redis://127.0.0.1:" << server.port()
                        << "\nsource:\n  path: " << source << "\n  id: id\n"
                        << (rate > 0 ? "  rate: " + std::to_string(rate) + "\n" : "")
                        << "model:\n  expression: \"standard_scaler | logistic_regression\"\n"
                           "  target: class\n"
                        << (replicas ? "replicas:\n  every: 100\n  name: " + name + "\n" : "")
                        << "sinks:\n  predictions: " << tmp.file(name + ".jsonl") << "\n";
    return path;
  };
  auto accuracy = [&](const std::vector<std::string>& names) {
    size_t ok = 0, n = 0;
    for (const auto& name : names) {
      std::ifstream f(tmp.file(name + ".jsonl"));
      while (std::getline(f, line)) {
        json j = json::parse(line);
        ++n;
        ok += j.value("class", "") == label.at(j.at("id").get<std::string>());
      }
    }
    EXPECT_EQ(n, label.size());
    return static_cast<double>(ok) / static_cast<double>(n);
  };
  auto one = test::run(std::string(RTML_BINARY) + " run " +
                       config("one", tmp.file("all.csv"), 0, false) + " --quiet");
  ASSERT_EQ(one.exit_code, 0) << one.out;
  const double seconds = 6;
  std::vector<std::thread> workers;
  std::vector<test::CommandResult> results(2);
  for (int w = 0; w < 2; ++w) {
    workers.emplace_back([&, w] {
      results[w] =
          test::run(std::string(RTML_BINARY) + " run " +
                    config("w" + std::to_string(w), tmp.file("part" + std::to_string(w) + ".csv"),
                           static_cast<double>(rows[w]) / seconds, true) +
                    " --quiet");
    });
  }
  for (auto& t : workers) t.join();
  for (const auto& r : results) ASSERT_EQ(r.exit_code, 0) << r.out;
  const double single = accuracy({"one"}), merged = accuracy({"w0", "w1"});
  RecordProperty("single", std::to_string(single));
  RecordProperty("merged", std::to_string(merged));
  std::printf("Elec2: one worker %.4f, two averaged every 100 events %.4f\n", single, merged);
  EXPECT_GT(single, 0.8);
  EXPECT_GT(merged, single - 0.01);
}

// A follower takes each version a publisher announces, newest first, without waiting.
TEST(ModelSnapshots, AFollowerTakesTheVersionsAPublisherAnnounces) {
  test::RedisServer server;
  ASSERT_TRUE(server.up()) << "redis-server did not start";
  store::RedisOptions o;
  o.port = server.port();
  ModelPublisher publisher(o, "rtml:model");
  Pipeline a = trained("logistic_regression", {"a", "b"}, 400, 0.0);
  EXPECT_EQ(publisher.publish(a), 1u);
  ModelFollower follower(o, "rtml:model");  // finds version 1 there at start
  uint64_t version = 0;
  std::unique_ptr<Pipeline> got = follower.take(&version);
  ASSERT_TRUE(got);
  EXPECT_EQ(version, 1u);
  EXPECT_EQ(got->to_bytes(), a.to_bytes());
  EXPECT_FALSE(follower.take());  // nothing newer
  Pipeline b = trained("logistic_regression", {"a", "b"}, 400, 1.0);
  EXPECT_EQ(publisher.publish(b), 2u);
  for (int i = 0; i < 200 && !(got = follower.take(&version)); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(got) << "version 2 never came: " << follower.last_error();
  EXPECT_EQ(version, 2u);
  EXPECT_EQ(got->to_bytes(), b.to_bytes());
  EXPECT_EQ(follower.last_error(), "");
}

// rtml run as a learner that publishes every 1,000 events and as a follower reading a
// Redis stream: the follower learns nothing, yet predicts as well as the learner's
// model, which it reloads as versions come.
TEST(ModelSnapshots, AFollowerWorkerPredictsWithTheLearnersModel) {
  test::RedisServer server;
  ASSERT_TRUE(server.up()) << "redis-server did not start";
  test::TempDir tmp;
  std::string csv = "x,y,label\n";
  for (int i = 0; i < 20000; ++i) {
    const double x = std::fmod(i * 0.6180339887, 1.0), y = std::fmod(i * 0.4142135623, 1.0);
    csv += std::to_string(x) + "," + std::to_string(y) + "," + (x + y > 1 ? "yes" : "no") + "\n";
  }
  const std::string events = tmp.write("events.csv", csv);
  const std::string redis = "redis: redis://127.0.0.1:" + std::to_string(server.port()) + "\n";
  const std::string model =
      "model:\n  expression: \"standard_scaler | logistic_regression\"\n  target: label\n";
  const std::string follower_config =
      tmp.write("follower.yaml", redis + "source:\n  stream: rtml:events\n  consumer: f\n" + model +
                                     "replicas:\n  mode: follow\n  key: rtml:model\n");
  const std::string learner_config = tmp.write(
      "learner.yaml", redis + "source:\n  path: " + events + "\n" + model +
                          "replicas:\n  mode: publish\n  every: 1000\n  key: rtml:model\n");
  // exec: the shell becomes the worker, so that pclose waits for the worker itself.
  FILE* f = ::popen(("exec " + std::string(RTML_BINARY) + " run " + follower_config +
                     " --quiet --json > " + tmp.file("follower.out") + " 2>&1")
                        .c_str(),
                    "w");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto learner = test::run(std::string(RTML_BINARY) + " run " + learner_config + " --quiet --json");
  ASSERT_EQ(learner.exit_code, 0) << learner.out;
  store::RedisOptions o;
  o.port = server.port();
  store::RedisConnection r(o);
  for (int i = 0; i < 3000; ++i) {
    const double x = std::fmod(i * 0.7548776662, 1.0), y = std::fmod(i * 0.5698402910, 1.0);
    r.append({"XADD", "rtml:events", "*", "x", std::to_string(x), "y", std::to_string(y), "label",
              x + y > 1 ? "yes" : "no"});
  }
  for (int i = 0; i < 3000; ++i) r.reply();
  // The follower has predicted them all once the stream's group has nothing pending.
  for (int i = 0; i < 300; ++i) {
    auto len = r.command({"XINFO", "GROUPS", "rtml:events"});
    if (len->type == REDIS_REPLY_ARRAY && len->elements == 1) {
      const redisReply* g = len->element[0];
      std::string last;
      long long pending = -1;
      for (size_t k = 0; k + 1 < g->elements; k += 2) {
        const std::string name(g->element[k]->str, g->element[k]->len);
        if (name == "pending") pending = g->element[k + 1]->integer;
        if (name == "last-delivered-id")
          last.assign(g->element[k + 1]->str, g->element[k + 1]->len);
      }
      auto tail = r.command({"XREVRANGE", "rtml:events", "+", "-", "COUNT", "1"});
      if (pending == 0 && tail->elements == 1 && last == tail->element[0]->element[0]->str) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::system(("pkill -INT -f '" + follower_config + "'").c_str());
  ::pclose(f);
  json s = json::parse(test::last_line(test::read_all(tmp.file("follower.out"))));
  EXPECT_EQ(s["events"], 3000) << s;
  EXPECT_EQ(s["learned"], 0);
  EXPECT_GE(s["model_versions"].get<int>(), 1);
  EXPECT_GT(s["rolling_accuracy"].get<double>(), 0.95) << s;
}

}  // namespace
}  // namespace rtml::runtime
