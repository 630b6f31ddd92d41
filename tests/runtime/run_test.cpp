// rtml run: a YAML config runs events (and a labels stream) through the runtime.
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "../test_util.h"
#include "rtml/core/error.h"
#include "rtml/runtime/run_config.h"

namespace rtml::runtime {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

using test::read_all;

// Every ready-made config in examples/ runs, from the repository's root.
TEST(RunCli, EveryExampleRuns) {
  size_t ran = 0;
  for (const auto& e : fs::directory_iterator(std::string(RTML_SOURCE_DIR) + "/examples")) {
    if (e.path().extension() != ".yaml") continue;
    // A worker of a live stream never ends: RedisStreams.TheExampleConfig... runs it.
    if (e.path().filename() == "redis_streams.yaml") continue;
    auto r = test::run("cd " + std::string(RTML_SOURCE_DIR) + " && " + RTML_BINARY + " run " +
                       e.path().string() + " --json --quiet > /dev/null; " + RTML_BINARY + " run " +
                       e.path().string() + " --json --quiet | tail -n 1");
    ASSERT_EQ(r.exit_code, 0) << e.path() << ": " << r.out.substr(0, 2000);
    json j = json::parse(test::last_line(r.out));
    EXPECT_GT(j["events"].get<int>(), 0) << e.path();
    EXPECT_GT(j["learned"].get<int>(), 0) << e.path();
    ++ran;
  }
  EXPECT_GE(ran, 2u);
}

// The example with a labels stream: bad records are dead letters with their reason, and
// the run goes on.
TEST(RunCli, BadInputGoesToTheDeadLetterSinkWithItsReason) {
  test::TempDir tmp;
  std::string config = read_all(std::string(RTML_SOURCE_DIR) + "/examples/delayed-clicks.yaml");
  config.replace(config.find("predictions: \"-\""), 16, "predictions: " + tmp.file("p.jsonl"));
  config.replace(config.find("dead_letters: \"-\""), 17, "dead_letters: " + tmp.file("d.jsonl"));
  auto path = tmp.write("run.yaml", config);
  auto r = test::run("cd " + std::string(RTML_SOURCE_DIR) + " && " + RTML_BINARY + " run " + path +
                     " --json --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  json s = json::parse(test::last_line(r.out));
  EXPECT_EQ(s["events"], 400);
  EXPECT_EQ(s["learned"], 400);
  EXPECT_EQ(s["dead_letters"], 3);
  std::vector<json> dead;
  std::istringstream lines(read_all(tmp.file("d.jsonl")));
  for (std::string l; std::getline(lines, l);) dead.push_back(json::parse(l));
  ASSERT_EQ(dead.size(), 3u);
  std::map<std::string, std::string> by_source;
  for (const auto& d : dead) by_source[d["reason"].get<std::string>()] = d["source"];
  EXPECT_EQ(by_source["not valid JSON"], "events");
  EXPECT_EQ(by_source["event id 'imp-7' repeated"], "events");
  bool unknown = false;
  for (const auto& d : dead) {
    if (d["source"] == "labels") {
      unknown = d["reason"].get<std::string>().find("imp-99999") != std::string::npos;
    }
    if (d["reason"] == "not valid JSON") {
      EXPECT_EQ(d["record"], "not json");
    }
  }
  EXPECT_TRUE(unknown);
  // One prediction per event accepted, each with its id.
  size_t predictions = 0;
  std::istringstream preds(read_all(tmp.file("p.jsonl")));
  for (std::string l; std::getline(preds, l); ++predictions) {
    json p = json::parse(l);
    ASSERT_TRUE(p.contains("id") && p.contains("prediction")) << l;
  }
  EXPECT_EQ(predictions, 400u);
}

// Events from standard input, in the format the config names; SIGTERM on a pipe that
// has gone quiet stops the run with its summary and exit status 143.
TEST(RunCli, ReadsStdinAndStopsOnSigterm) {
  test::TempDir tmp;
  std::string root = RTML_SOURCE_DIR;
  std::string config = read_all(root + "/examples/delayed-clicks.yaml");
  config.replace(config.find("path: examples/data/impressions.jsonl"), 37,
                 "path: \"-\"\n  format: jsonl");
  config.replace(config.find("predictions: \"-\""), 16, "predictions: \"\"");
  config.replace(config.find("dead_letters: \"-\""), 17, "dead_letters: \"\"");
  auto path = tmp.write("stdin.yaml", config);
  auto all = test::run("cd " + root + " && " + RTML_BINARY + " run " + path +
                       " --json --quiet < examples/data/impressions.jsonl");
  ASSERT_EQ(all.exit_code, 0) << all.out;
  EXPECT_EQ(json::parse(test::last_line(all.out))["events"], 400);

  // A FIFO: a background job's standard input would be /dev/null.
  std::string fifo = tmp.file("events.fifo");
  auto stopped =
      test::run("cd " + root + " && mkfifo " + fifo +
                " && { (head -n 100 examples/data/impressions.jsonl; sleep 3) > " + fifo +
                " & } && { " + RTML_BINARY + " run " + path + " --json --quiet < " + fifo +
                " & pid=$!; sleep 1; kill -TERM $pid; wait $pid; }");
  EXPECT_EQ(stopped.exit_code, 143) << stopped.out;
  json s = json::parse(test::last_line(stopped.out));
  EXPECT_EQ(s["events"], 99);  // line 51 is not JSON
  EXPECT_EQ(s["stopped_by"], "SIGTERM");
}

// Replay at a pace: `rate` events per second, or event time `speed` times faster than
// it passed; a stop request ends a wait at once.
TEST(RunCli, ReplaysAtARateOrAtEventTimeSpeed) {
  test::TempDir tmp;
  std::string root = RTML_SOURCE_DIR;
  auto config = [&](const std::string& pace) {
    return tmp.write("pace.yaml",
                     "source:\n  path: " + root +
                         "/examples/data/impressions.jsonl\n  id: impression\n  time: ts\n  " +
                         pace + "\nmodel:\n  expression: \"one_hot | linear_regression\"\n" +
                         "  target: price\nsinks:\n  predictions: " + tmp.file("p.jsonl") + "\n");
  };
  // 401 events at 2,000 a second take at least 0.2 s (a bound from below only: pacing
  // never runs faster, whatever the machine).
  auto paced = test::run(std::string(RTML_BINARY) + " run " + config("rate: 2000") + " --json");
  ASSERT_EQ(paced.exit_code, 0) << paced.out;
  json p = json::parse(test::last_line(paced.out));
  EXPECT_EQ(p["events"], 401);
  EXPECT_GE(p["seconds"].get<double>(), 0.199);
  // Paced, each prediction is flushed at once, and timed from its event's due moment.
  ASSERT_TRUE(p.contains("latency_ms")) << p;
  EXPECT_GT(p["latency_ms"]["p50"].get<double>(), 0);
  EXPECT_LE(p["latency_ms"]["p50"].get<double>(), p["latency_ms"]["p99"].get<double>());
  EXPECT_LE(p["latency_ms"]["p99"].get<double>(), p["latency_ms"]["max"].get<double>());
  // The rolling metric of the last 1,000 labels (here the events' own prices).
  EXPECT_GT(p["rolling_mae"].get<double>(), 0);
  // Event time spans 4,000 s; at 10,000x that is at least 0.4 s.
  auto sped = test::run(std::string(RTML_BINARY) + " run " + config("speed: 10000") + " --json");
  ASSERT_EQ(sped.exit_code, 0) << sped.out;
  EXPECT_GE(json::parse(test::last_line(sped.out))["seconds"].get<double>(), 0.399);
  // At 0.001x the second event would wait 10,000 s: SIGTERM ends it.
  auto stopped =
      test::run("timeout 20 sh -c '" + std::string(RTML_BINARY) + " run " + config("speed: 0.001") +
                " --json & pid=$!; sleep 0.5; kill -TERM $pid; wait $pid'");
  EXPECT_EQ(stopped.exit_code, 143) << stopped.out;
  EXPECT_EQ(json::parse(test::last_line(stopped.out))["stopped_by"], "SIGTERM");
}

// Events without an id field are numbered by the run; a second run over other events
// numbers them from 1 again, and the store counts them: they are not duplicates.
TEST(RunCli, NumberedEventsOfTwoRunsAreNotDuplicates) {
  test::TempDir tmp;
  // The second file's events come later in event time (a window drops late events).
  for (int file = 0; file < 2; ++file) {
    std::string events = "t,user,x,class\n";
    for (int i = 1; i <= 50; ++i) {
      events +=
          std::to_string(file * 50 + i) + ",u1," + std::to_string(i) + (i % 2 ? ",a\n" : ",b\n");
    }
    tmp.write(file ? "b.csv" : "a.csv", events);
  }
  auto config = [&](const std::string& data) {
    return tmp.write("c.yaml", "source: {path: " + tmp.file(data) +
                                   ", time: t}\nstore:\n  dir: " + tmp.file("store") +
                                   "\n  aggregates: [\"n = count(x) by user over 1d\"]\n"
                                   "model: {expression: \"logistic_regression\", target: class, "
                                   "drop: [user]}\n");
  };
  for (const char* data : {"a.csv", "b.csv"}) {
    auto r = test::run(std::string(RTML_BINARY) + " run " + config(data) + " --quiet --json");
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  auto decl = tmp.write("aggregates.txt", "n = count(x) by user over 1d\n");
  auto dump = test::run(std::string(RTML_BINARY) + " store dump --dir " + tmp.file("store") +
                        " --aggregates " + decl + " 2>/dev/null");
  EXPECT_NE(dump.out.find("\"n\":100"), std::string::npos) << dump.out;
}

// A source faster than the model never makes memory grow: the run pulls one event at a
// time from its source (no queue to fill), its sinks block it when they are slow, and
// what it keeps is bounded (the store by its entities). Ten times the events, each read
// from and written to the store, leave the peak memory where it was.
TEST(RunCli, MemoryDoesNotGrowWithTheStream) {
  test::TempDir tmp;
  auto peak = [&](int n) {
    auto config = tmp.write(
        "m.yaml", "source: {path: \"synth:agrawal?n=" + std::to_string(n) +
                      "&seed=3\", numeric: [zipcode]}\n"
                      "store:\n  aggregates: [\"m = mean(salary) by zipcode decay 1h\"]\n"
                      "enrich: [{key: zipcode, features: [m]}]\n"
                      "model: {expression: \"standard_scaler | one_hot | logistic_regression\", "
                      "target: class}\npending: {max: 10000}\n"
                      "sinks: {predictions: /dev/null}\n");
    auto r = test::run(std::string(RTML_BINARY) + " run " + config + " --quiet --json");
    EXPECT_EQ(r.exit_code, 0) << r.out;
    auto j = json::parse(test::last_line(r.out));
    EXPECT_EQ(j["events"], n);
    return j["peak_rss_mb"].get<double>();
  };
  double small = peak(100000), large = peak(1000000);
  EXPECT_LT(large, small + 8) << "100,000 events: " << small << " MB; 1,000,000: " << large;
}

// A config error names the file, the line and the key; nothing unknown is ignored.
TEST(RunConfig, ErrorsNameTheFileTheLineAndTheKey) {
  test::TempDir tmp;
  auto expect_error = [&](const std::string& yaml, const std::string& says) {
    auto path = tmp.write("c.yaml", yaml);
    try {
      load_run_config(path);
      ADD_FAILURE() << "accepted:\n" << yaml;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).rfind(path, 0), 0u) << e.what();
    }
  };
  expect_error("source:\n  path: a.csv\nmodel:\n  expression: x\n  lr: 3\n",
               ":5: unknown key 'model.lr'");
  expect_error("source:\n  path: a.csv\n  pace: 5\nmodel:\n  expression: x\n",
               ":3: unknown key 'source.pace'");
  expect_error("model:\n  expression: x\n", "missing key 'source'");
  expect_error("source:\n  id: e\nmodel:\n  expression: x\n",
               "'source' takes one of 'path' (a file, - or synth:), 'stream' (Redis) and 'topic'");
  expect_error("source:\n  path: a\nmodel:\n  expression: x\n  load: y\n",
               "one of 'expression' and 'load'");
  expect_error("source:\n  path: a\nmodel:\n  expression: x\npending:\n  ttl: soon\n",
               ":6: 'pending.ttl' must be a number");
  expect_error(
      "source:\n  path: a\n  time: t\nmodel:\n  expression: x\nlabels:\n  path: l\n  "
      "id: e\n  label: y\n  time: t\n",
      "'source.id' names the field");
  expect_error("source: [1, 2\n", "end of sequence flow not found");
  // A key that is not a name (found by fuzz_run_config: it escaped as yaml-cpp's own
  // exception and ended the process).
  expect_error("source:\n  path: a\n? [x]: 1\nmodel:\n  expression: x\n",
               ":3: a key must be a name");
  expect_error("source:\n  path: a\n  ? {x: 1}\n  : 2\nmodel:\n  expression: x\n",
               "a key of 'source' must be a name");
  expect_error("", "empty");
  expect_error(
      "source:\n  path: a\nmodel:\n  expression: x\nenrich:\n  - key: user\n    "
      "features: [v]\n",
      "add a 'store' section");
  expect_error(
      "source:\n  path: a\nmodel:\n  expression: x\nstore:\n  dir: \"\"\nenrich:\n  "
      "- key: user\n    feature: [v]\n",
      "unknown key 'enrich[0].feature'");
  expect_error("source:\n  path: a\n  time: t\n  rate: 5\n  speed: 2\nmodel:\n  expression: x\n",
               "one of 'rate' and 'speed'");
  expect_error("source:\n  path: a\n  speed: 2\nmodel:\n  expression: x\n",
               "'source.time' names the field");
  expect_error("source:\n  path: a\n  rate: -3\nmodel:\n  expression: x\n",
               ":3: 'source.rate' must be a number from 0");
  expect_error("source:\n  path: a\n  format: xml\nmodel:\n  expression: x\n",
               ":3: 'source.format' must be one of 'csv', 'jsonl', got 'xml'");
  RunConfig ok = load_run_config(
      tmp.write("ok.yaml", "source:\n  path: a.csv\nmodel:\n  load: m.bin\n  drop: [a, b]\n"));
  EXPECT_EQ(ok.model.drop.size(), 2u);
  EXPECT_EQ(ok.model.load, "m.bin");
}

// Labels that arrive 1,000 events late through a labels stream leave the very model
// that `rtml eval --delay 1000` leaves on the same events: the runtime learns each from
// the features logged with its prediction, in the same order.
TEST(RunCli, LateLabelsFromAStreamGiveTheModelOfEvalDelay) {
  RTML_REQUIRE_DATA("elec2.csv.gz");
  test::TempDir tmp;
  gzFile gz = gzopen((test::data_dir() + "/elec2.csv.gz").c_str(), "rb");
  ASSERT_NE(gz, nullptr);
  std::string text;
  char buf[1 << 16];
  for (int n; (n = gzread(gz, buf, sizeof(buf))) > 0;) text.append(buf, n);
  gzclose(gz);
  std::istringstream in(text);
  std::string header, line;
  std::getline(in, header);
  ASSERT_EQ(header.substr(header.rfind(',') + 1), "class");
  std::ofstream events(tmp.file("events.csv")), labels(tmp.file("labels.csv"));
  events << "id,t," << header.substr(0, header.rfind(',')) << "\n";
  labels << "id,t,class\n";
  const int delay = 1000;
  std::vector<std::string> classes;
  int n = 0;
  for (; std::getline(in, line); ++n) {
    size_t comma = line.rfind(',');
    events << "e" << n << "," << n << "," << line.substr(0, comma) << "\n";
    classes.push_back(line.substr(comma + 1));
  }
  // The label of event i arrives just after event i + delay is predicted.
  for (int i = 0; i < n; ++i) {
    labels << "e" << i << "," << (i + delay) << ".5," << classes[i] << "\n";
  }
  events.close();
  labels.close();
  const std::string model = "standard_scaler | logistic_regression";
  auto config = tmp.write("run.yaml",
                          "source:\n  path: " + tmp.file("events.csv") +
                              "\n  id: id\n  time: t\nlabels:\n  path: " + tmp.file("labels.csv") +
                              "\n  id: id\n  label: class\n  time: t\nmodel:\n"
                              "  expression: \"" +
                              model + "\"\n  positive: UP\n  save: " + tmp.file("run.bin") + "\n");
  auto r = test::run(std::string(RTML_BINARY) + " run " + config + " --json --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.out.substr(0, 2000);
  json s = json::parse(test::last_line(r.out));
  EXPECT_EQ(s["events"], n);
  EXPECT_EQ(s["learned"], n);
  EXPECT_EQ(s["dead_letters"], 0);

  auto e = test::run(std::string(RTML_BINARY) + " eval --quiet --data " + test::data_dir() +
                     "/elec2.csv.gz --target class --positive UP --model '" + model + "' --delay " +
                     std::to_string(delay) + " --save " + tmp.file("eval.bin"));
  ASSERT_EQ(e.exit_code, 0) << e.out.substr(0, 2000);
  std::string a = read_all(tmp.file("run.bin")), b = read_all(tmp.file("eval.bin"));
  ASSERT_FALSE(a.empty());
  EXPECT_TRUE(a == b) << "the saved models differ (" << a.size() << " and " << b.size()
                      << " bytes)";
}

}  // namespace
}  // namespace rtml::runtime
