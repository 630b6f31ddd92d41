// The training log keeps the last learned events within its bounds, oldest first; a
// torn line is skipped; a checkpoint's position cuts it back; rtml run writes it, `rtml
// store export` prints it, and a new model warm-started from it beats a cold one.
#include "rtml/runtime/training_log.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "rtml/core/error.h"

namespace rtml::runtime {
namespace {

using json = nlohmann::json;

std::vector<double> times_in(const std::string& dir) {
  std::vector<double> out;
  TrainingLog::read(dir, [&](std::string_view line) { out.push_back(json::parse(line)["_time"]); });
  return out;
}

std::string record(double t) { return "{\"_time\":" + std::to_string(t) + ",\"x\":1,\"y\":\"a\"}"; }

TEST(TrainingLog, KeepsTheLastEventsWithinItsBoundsOldestFirst) {
  test::TempDir tmp;
  {
    TrainingLog log(tmp.file("t"), {.keep = 100});
    for (int i = 1; i <= 1000; ++i) log.append(record(i));
  }
  auto t = times_in(tmp.file("t"));
  ASSERT_GE(t.size(), 100u);
  EXPECT_LE(t.size(), 125u);  // whole segments of a quarter of the bound leave
  EXPECT_EQ(t.back(), 1000);
  EXPECT_TRUE(std::is_sorted(t.begin(), t.end()));
  // Reopened, it goes on within the same bound.
  {
    TrainingLog log(tmp.file("t"), {.keep = 100});
    for (int i = 1001; i <= 1100; ++i) log.append(record(i));
  }
  t = times_in(tmp.file("t"));
  EXPECT_LE(t.size(), 125u);
  EXPECT_EQ(t.back(), 1100);

  // By event time: an hour's window.
  {
    TrainingLog log(tmp.file("w"), {.keep = 0, .window = 3600});
    for (int i = 0; i < 1000; ++i) log.append(record(i * 60.0));
  }
  t = times_in(tmp.file("w"));
  EXPECT_GE(t.front(), 999 * 60.0 - 3600 * 1.25 - 60);
  EXPECT_LE(t.front(), 999 * 60.0 - 3600);
}

TEST(TrainingLog, SkipsATornLineAndCutsBackToAPosition) {
  test::TempDir tmp;
  TrainingLog::Position at;
  {
    TrainingLog log(tmp.file("t"), {.keep = 40});
    for (int i = 1; i <= 25; ++i) log.append(record(i));
    at = log.position();
    for (int i = 26; i <= 38; ++i) log.append(record(i));
  }
  EXPECT_EQ(times_in(tmp.file("t")).back(), 38);
  {
    TrainingLog log(tmp.file("t"), {.keep = 40});
    log.truncate_to(at);
    log.append(record(26.5));
  }
  auto t = times_in(tmp.file("t"));
  EXPECT_EQ(t.back(), 26.5);
  EXPECT_EQ(t[t.size() - 2], 25);
  // A record cut by a crash (no newline at the end) is not read.
  std::string last;
  for (const auto& e : std::filesystem::directory_iterator(tmp.file("t"))) {
    last = std::max(last, e.path().string());
  }
  std::ofstream(last, std::ios::app) << "{\"_time\":99,\"x\":";
  EXPECT_EQ(times_in(tmp.file("t")).back(), 26.5);
  // Reopened, the torn record is cut off, and the next one reads whole.
  {
    TrainingLog log(tmp.file("t"), {.keep = 40});
    log.append(record(27));
  }
  t = times_in(tmp.file("t"));
  EXPECT_EQ(t.back(), 27);
  EXPECT_EQ(t[t.size() - 2], 26.5);
}

// A checkpoint's segment stays until the next checkpoint, however far the bound moves.
TEST(TrainingLog, APinnedSegmentStays) {
  test::TempDir tmp;
  TrainingLog log(tmp.file("t"), {.keep = 8});
  for (int i = 1; i <= 5; ++i) log.append(record(i));
  TrainingLog::Position at = log.position();
  log.pin(at.segment);
  for (int i = 6; i <= 200; ++i) log.append(record(i));
  log.truncate_to(at);
  auto t = times_in(tmp.file("t"));
  ASSERT_FALSE(t.empty());
  EXPECT_EQ(t.back(), 5);
}

// rtml run keeps the learned events (with what the store gave them) in the store's
// folder; rtml store export prints them; a new model warm-started from them starts
// better than a cold one.
TEST(TrainingLogCli, ExportAndWarmStart) {
  test::TempDir tmp;
  test::synthetic_csv(tmp.file("first.csv"), 20000, 2, 1);
  test::synthetic_csv(tmp.file("second.csv"), 1000, 2, 2);
  auto config = [&](const std::string& name, const std::string& data, bool warm) {
    return tmp.write(name + ".yaml",
                     "source: {path: " + tmp.file(data) +
                         "}\nstore: {dir: " + tmp.file(name + "-store") +
                         "}\nmodel:\n  expression: \"standard_scaler | one_hot | "
                         "logistic_regression(optimizer=adam)\"\n  target: class\n" +
                         (warm ? "  warm_start: true\n" : "") + "training_log: {keep: 10000}\n");
  };
  auto first = test::run(std::string(RTML_BINARY) + " run " + config("a", "first.csv", false) +
                         " --quiet --json");
  ASSERT_EQ(first.exit_code, 0) << first.out;
  auto exported = test::run(std::string(RTML_BINARY) + " store export --dir " +
                            tmp.file("a-store") + " 2>/dev/null");
  ASSERT_EQ(exported.exit_code, 0);
  size_t lines = std::count(exported.out.begin(), exported.out.end(), '\n');
  EXPECT_GE(lines, 10000u);
  EXPECT_LE(lines, 12500u);
  auto last = json::parse(test::last_line(exported.out));
  EXPECT_EQ(last["_time"], 20000);
  EXPECT_TRUE(last.contains("colour"));
  EXPECT_TRUE(last.contains("class"));

  // The same store folder, a new model: warm from the log, or cold.
  std::filesystem::copy(tmp.file("a-store"), tmp.file("warm-store"),
                        std::filesystem::copy_options::recursive);
  std::filesystem::remove(tmp.file("warm-store/LOCK"));
  auto warm = test::run(std::string(RTML_BINARY) + " run " + config("warm", "second.csv", true) +
                        " --quiet --json");
  auto cold = test::run(std::string(RTML_BINARY) + " run " + config("cold", "second.csv", false) +
                        " --quiet --json");
  ASSERT_EQ(warm.exit_code, 0) << warm.out;
  ASSERT_EQ(cold.exit_code, 0) << cold.out;
  auto w = json::parse(test::last_line(warm.out)), c = json::parse(test::last_line(cold.out));
  EXPECT_EQ(w["warm_started"].get<uint64_t>(), lines);
  EXPECT_EQ(c["warm_started"], 0);
  EXPECT_EQ(w["dead_letters"], 0);  // a store without aggregates takes no events
  EXPECT_GT(w["rolling_accuracy"].get<double>(), c["rolling_accuracy"].get<double>() + 0.01)
      << "warm " << w << "\ncold " << c;

  // warm_start without a training log, or a training log without a store folder: errors.
  auto bad = test::run(std::string(RTML_BINARY) + " run " +
                       tmp.write("bad.yaml",
                                 "source: {path: x.csv}\nstore: {}\nmodel: "
                                 "{expression: logistic_regression, target: "
                                 "class}\ntraining_log: {keep: 10}\n"));
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.out.find("store.dir"), std::string::npos) << bad.out;
}

}  // namespace
}  // namespace rtml::runtime
