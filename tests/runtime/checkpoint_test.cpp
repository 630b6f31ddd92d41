// Checkpoints of rtml run: the pending predictions, the store and the model saved
// together; a run killed with SIGKILL at random points and started again ends exactly as
// an uninterrupted run does.
#include "rtml/runtime/checkpoint.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "../test_util.h"
#include "rtml/core/error.h"
#include "rtml/core/random.h"

extern char** environ;

namespace rtml::runtime {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

using test::read_all;

Features features_of(double v) {
  Features x;
  x.add(0, v);
  x.add_category(2, static_cast<uint32_t>(v));
  x.add_hashed_category(static_cast<uint64_t>(v * 1000));
  return x;
}

Prediction prediction_of(double v) {
  Prediction p;
  p.value = v;
  p.proba = {1 - v, v};
  p.label = v > 0.5;
  p.has_label = true;
  return p;
}

// A log saved and loaded behaves as the original: what waits, what was labelled,
// what expired, and which ids it remembers, after it has wrapped around.
TEST(PredictionLogSave, ALoadedLogBehavesAsTheOriginal) {
  PredictionLog::Limits limits{.max_entries = 8, .ttl = 100};
  PredictionLog a(limits);
  for (int i = 1; i <= 12; ++i) {
    ASSERT_TRUE(
        a.log(EventId::of_number(i), i * 10.0, features_of(i / 16.0), prediction_of(i / 16.0)));
  }
  LabelRefusal why;
  ASSERT_NE(a.take(EventId::of_number(6), 70, &why), nullptr);
  a.expire(175);  // 5 and 7 are older than the TTL (6 was labelled)
  ASSERT_TRUE(a.log(EventId::of_text("t-1"), 180, features_of(0.5), prediction_of(0.5)));

  BinaryWriter w;
  a.save(w);
  PredictionLog b(limits);
  BinaryReader r(w.bytes());
  b.load(r);
  EXPECT_TRUE(r.at_end());
  EXPECT_EQ(b.waiting(), a.waiting());
  EXPECT_EQ(b.expired(), a.expired());
  for (uint64_t i = 1; i <= 12; ++i)
    EXPECT_EQ(b.knows(EventId::of_number(i)), a.knows(EventId::of_number(i))) << i;
  EXPECT_TRUE(b.knows(EventId::of_text("t-1")));
  for (PredictionLog* log : {&a, &b}) {
    EXPECT_EQ(log->take(EventId::of_number(6), 190, &why), nullptr);
    EXPECT_EQ(why, LabelRefusal::kAlreadyLabelled);
    EXPECT_EQ(log->take(EventId::of_number(7), 190, &why), nullptr);
    EXPECT_EQ(why, LabelRefusal::kExpired);
    EXPECT_EQ(log->take(EventId::of_number(2), 190, &why), nullptr);
    EXPECT_EQ(why, LabelRefusal::kUnknown);  // pushed out by the wrap-around
    const auto* e = log->take(EventId::of_number(12), 190, &why);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->time, 120);
    EXPECT_EQ(e->x.numbers()[0].value, 12 / 16.0);
    EXPECT_EQ(e->x.categories()[0].id, 0u);
    EXPECT_EQ(e->x.hashed_categories()[0], 750u);
    EXPECT_EQ(e->prediction.proba[1], 12 / 16.0);
    EXPECT_FALSE(log->log(EventId::of_text("t-1"), 200, features_of(0.1), prediction_of(0.1)));
    EXPECT_TRUE(log->log(EventId::of_number(13), 200, features_of(0.1), prediction_of(0.1)));
  }
  EXPECT_EQ(b.waiting(), a.waiting());

  PredictionLog other({.max_entries = 9, .ttl = 100});
  BinaryReader again(w.bytes());
  EXPECT_THROW(other.load(again), Error);
  BinaryReader cut(w.bytes().substr(0, w.bytes().size() - 3));
  PredictionLog short_of_bytes(limits);
  EXPECT_THROW(short_of_bytes.load(cut), Error);
}

store::Update set_age(const std::string& key, double age) {
  store::Update u;
  u.key = store::EntityKey(key);
  u.set = {{"age", store::FeatureValue::of_number(age)}};
  return u;
}

double age_of(store::EmbeddedStore& s, const std::string& key) {
  std::string name = "age";
  store::FeatureValue v;
  s.get(store::EntityKey(key), std::span<const std::string>(&name, 1), std::span(&v, 1));
  return v.present ? v.number : -1;
}

// A store opened with restore_from is the snapshot's state, whatever its log held after.
TEST(StoreRestore, RollsTheFolderBackToTheSnapshot) {
  test::TempDir tmp;
  store::StoreOptions o;
  o.dir = tmp.file("store");
  std::string kept = tmp.file(store::EmbeddedStore::snapshot_file_name(2));
  {
    auto s = store::EmbeddedStore::open(o);
    ASSERT_EQ(s->apply(set_age("a", 1)).why(), "");
    ASSERT_EQ(s->apply(set_age("b", 2)).why(), "");
    std::string snap = s->snapshot();
    ASSERT_EQ(fs::path(snap).filename(), fs::path(kept).filename());
    fs::copy_file(snap, kept);
    ASSERT_EQ(s->apply(set_age("a", 10)).why(), "");
    ASSERT_EQ(s->apply(set_age("c", 3)).why(), "");
    s->snapshot();
    ASSERT_EQ(s->apply(set_age("d", 4)).why(), "");
  }
  o.restore_from = kept;
  {
    auto s = store::EmbeddedStore::open(o);
    EXPECT_EQ(age_of(*s, "a"), 1);
    EXPECT_EQ(age_of(*s, "b"), 2);
    EXPECT_EQ(age_of(*s, "c"), -1);
    EXPECT_EQ(age_of(*s, "d"), -1);
    EXPECT_EQ(s->entity_count(), 2u);
    ASSERT_EQ(s->apply(set_age("e", 5)).why(), "");  // the log goes on after the snapshot
  }
  o.restore_from.clear();
  auto s = store::EmbeddedStore::open(o);
  EXPECT_EQ(age_of(*s, "e"), 5);
  EXPECT_EQ(age_of(*s, "c"), -1);

  store::StoreOptions bad;
  bad.restore_from = kept;  // no folder to restore into
  EXPECT_THROW(store::EmbeddedStore::open(bad), Error);
}

// The manifest ties the files: a damaged file is named, an older checkpoint is
// removed once a newer one is in place, a half-written one is never read.
TEST(Checkpointer, FindsTheLastWholeCheckpointAndNamesADamagedFile) {
  test::TempDir tmp;
  Checkpointer ck(tmp.file("ck"));
  EXPECT_FALSE(ck.last());
  Pipeline model("standard_scaler | logistic_regression");
  PredictionLog log({});
  ASSERT_TRUE(log.log(EventId::of_text("x"), 1, features_of(0.3), prediction_of(0.3)));
  CheckpointPosition pos;
  pos.events_read = 41;
  pos.labels_read = 7;
  ck.write("h1", pos, model, log, nullptr);
  pos.events_read = 42;
  Checkpoint c = ck.write("h1", pos, model, log, nullptr);
  EXPECT_EQ(c.sequence, 2u);
  // A checkpoint being written when the process died: a folder no manifest names.
  fs::create_directories(tmp.file("ck/ckpt-00000000000000000003"));

  Checkpointer& again = ck;
  auto last = again.last();
  ASSERT_TRUE(last);
  EXPECT_EQ(last->sequence, 2u);
  EXPECT_EQ(last->config_hash, "h1");
  EXPECT_EQ(last->position.events_read, 42u);
  EXPECT_EQ(last->position.labels_read, 7u);
  EXPECT_FALSE(fs::exists(tmp.file("ck/ckpt-00000000000000000001")));
  PredictionLog loaded({});
  load_pending(*last, loaded);
  EXPECT_TRUE(loaded.knows(EventId::of_text("x")));
  EXPECT_THROW(Checkpointer{tmp.file("ck")}, Error);  // held by `again`
  Checkpoint next = again.write("h1", pos, model, log, nullptr);
  EXPECT_EQ(next.sequence, 3u);

  // One byte flipped in the saved model.
  std::string bytes = read_all(next.model);
  bytes[bytes.size() / 2] ^= 0x20;
  std::ofstream(next.model, std::ios::binary) << bytes;
  try {
    again.last();
    FAIL() << "a damaged checkpoint was read";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.rtml"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("checksum"), std::string::npos) << e.what();
  }
}

// A held checkpoint (a source that may refuse its acknowledgement) is not the last one
// until promoted: a process killed meanwhile finds the older one last and the held one
// beside it, to promote or drop.
TEST(Checkpointer, AHeldCheckpointIsLastOnlyOncePromoted) {
  test::TempDir tmp;
  Pipeline model("logistic_regression");
  PredictionLog log({});
  CheckpointPosition pos;
  {
    Checkpointer ck(tmp.file("ck"));
    pos.events_read = 10;
    ck.write("h", pos, model, log, nullptr, {"0:10"}, true);
    EXPECT_FALSE(ck.last());
    ck.promote();
    ASSERT_TRUE(ck.last());
    EXPECT_EQ(ck.last()->position.events_read, 10u);
    EXPECT_FALSE(ck.held());
    pos.events_read = 20;
    ck.write("h", pos, model, log, nullptr, {"0:20"}, true);
    pos.events_read = 30;  // a newer held one replaces it
    ck.write("h", pos, model, log, nullptr, {"0:30"}, true);
    EXPECT_EQ(ck.last()->position.events_read, 10u);
    ASSERT_TRUE(ck.held());
    EXPECT_EQ(ck.held()->position.events_read, 30u);
    EXPECT_EQ(load_stream_acks(*ck.held()), std::vector<std::string>{"0:30"});
    size_t folders = 0;
    for (const auto& e : fs::directory_iterator(tmp.file("ck"))) {
      folders += e.path().filename().string().rfind("ckpt-", 0) == 0;
    }
    EXPECT_EQ(folders, 2u);  // the last and the held, not the replaced one
  }
  Checkpointer again(tmp.file("ck"));  // as a restarted process finds them
  ASSERT_TRUE(again.held());
  // A byte flipped in the held checkpoint: named, and dropping it leaves the last whole.
  const std::string model_file = again.held()->model;
  std::string bytes = read_all(model_file);
  bytes[bytes.size() / 2] ^= 0x20;
  std::ofstream(model_file, std::ios::binary) << bytes;
  EXPECT_THROW(again.held(), Error);
  again.drop_held();
  EXPECT_FALSE(again.held());
  EXPECT_EQ(again.last()->position.events_read, 10u);
  pos.events_read = 40;  // not held: last at once, the older one removed
  again.write("h", pos, model, log, nullptr);
  EXPECT_EQ(again.last()->position.events_read, 40u);
  size_t folders = 0;
  for (const auto& e : fs::directory_iterator(tmp.file("ck"))) {
    folders += e.path().filename().string().rfind("ckpt-", 0) == 0;
  }
  EXPECT_EQ(folders, 1u);
}

// 200,000 impressions with one user key each, and their clicks 1,000 events later.
void write_clicks(const std::string& events, const std::string& labels, int n) {
  std::ofstream e(events), l(labels);
  Random rng(11);
  const char* cats[] = {"games", "music", "garden", "books", "toys"};
  char line[200];
  for (int i = 1; i <= n; ++i) {
    int user = static_cast<int>(rng.uniform() * 300);
    int cat = static_cast<int>(rng.uniform() * 5);
    double price = 5 + 75 * rng.uniform();
    std::snprintf(line, sizeof(line),
                  "{\"imp\":\"i%d\",\"ts\":%d,\"user\":\"u%d\",\"cat\":\"%s\",\"price\":%.2f}\n", i,
                  i, user, cats[cat], price);
    e << line;
    bool click = rng.uniform() < 0.15 + 0.4 * (cat == 0) + 0.2 * (user % 3 == 0) - price / 500;
    if (i % 5000 == 17) e << "{\"imp\": broken\n";  // dead letters, from a replay too
    if (i > 1000) {
      std::snprintf(line, sizeof(line), "{\"imp\":\"i%d\",\"ts\":%d.5,\"clicked\":\"%s\"}\n",
                    i - 1000, i, click ? "yes" : "no");
      l << line;
      if (i % 7000 == 3) l << "{\"imp\": broken label\n";
    }
  }
  // A refused line after the last row: reported once, however often the run resumes.
  e << "{\"imp\": trailing\n";
  for (int i = n - 999; i <= n; ++i) {
    std::snprintf(line, sizeof(line), "{\"imp\":\"i%d\",\"ts\":%d.5,\"clicked\":\"no\"}\n", i,
                  n + i);
    l << line;
  }
}

std::string clicks_config(const test::TempDir& tmp, const std::string& name, bool checkpoints,
                          const std::string& rate) {
  std::string c = "source: {path: " + tmp.file("events.jsonl") + ", id: imp, time: ts" + rate +
                  "}\n"
                  "labels: {path: " +
                  tmp.file("labels.jsonl") +
                  ", id: imp, label: clicked, time: ts}\n"
                  "store:\n"
                  "  dir: " +
                  tmp.file(name + "-store") +
                  "\n"
                  "  fsync: every=10ms\n"
                  "  aggregates:\n"
                  "    - \"user_views = count(cat) by user over 10m every 1m\"\n"
                  "    - \"user_price = mean(price) by user decay 10m\"\n"
                  "enrich:\n  - {key: user, features: [user_views, user_price]}\n"
                  "model:\n"
                  "  expression: \"standard_scaler | one_hot | logistic_regression\"\n"
                  "  drop: [user]\n  positive: \"yes\"\n"
                  "  save: " +
                  tmp.file(name + ".rtml") +
                  "\n"
                  "pending: {max: 5000}\n"
                  "training_log: {keep: 2000}\n"
                  "sinks: {predictions: " +
                  tmp.file(name + "-predictions.jsonl") +
                  ", dead_letters: " + tmp.file(name + "-dead.jsonl") + "}\n";
  // By event count only, so that an uninterrupted run checkpoints (and so pins the
  // training log's segments) at the same events as a killed one.
  if (checkpoints) {
    c += "checkpoint: {dir: " + tmp.file(name + "-ck") + ", events: 4000, seconds: 1000000}\n";
  }
  return tmp.write(name + ".yaml", c);
}

// The events the last checkpoint in dir had read (0 when there is none yet).
uint64_t checkpointed_events(const std::string& dir) {
  try {
    return json::parse(read_all(dir + "/manifest.json"))["position"]["events_read"].get<uint64_t>();
  } catch (const std::exception&) {
    return 0;
  }
}

// Ten SIGKILLs at random moments of a 200,000-event replay with fsync on, each followed
// by the same command: the saved model is byte-identical to an uninterrupted run's, the
// predictions and dead letters hold each record once, and every label was learned once.
TEST(RunCheckpoints, TenKillsAndRestartsEndAsOneUninterruptedRun) {
  test::TempDir tmp;
  const int n = 200000;
  write_clicks(tmp.file("events.jsonl"), tmp.file("labels.jsonl"), n);
  auto whole = test::run(std::string(RTML_BINARY) + " run " +
                         clicks_config(tmp, "whole", true, "") + " --quiet --json");
  ASSERT_EQ(whole.exit_code, 0) << whole.out;
  json w = json::parse(test::last_line(whole.out));
  ASSERT_EQ(w["events"], n);
  ASSERT_EQ(w["learned"], n);

  // Paced, so that the kills land all over the replay (about 6 s of it).
  const std::string config = clicks_config(tmp, "killed", true, ", rate: 35000");
  Random rng(static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  int kills = 0;
  int status = 0;
  for (;;) {
    pid_t pid = test::spawn_rtml_run(config, tmp.file("out.json"));
    ASSERT_GT(pid, 0);
    if (kills < 10) {
      // The first kill waits for a first periodic checkpoint (the one written before the
      // first event holds position 0), so that the last run resumes past the start however
      // slow the host: under ASan on a loaded machine a run can take longer to reach its
      // first 4,000 events than the random delay below.
      for (int w = 0; kills == 0 && w < 600 && checkpointed_events(tmp.file("killed-ck")) == 0;
           ++w) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      std::this_thread::sleep_for(
          std::chrono::milliseconds(20 + static_cast<int>(rng.uniform() * 430)));
      if (::kill(pid, SIGKILL) == 0) {
        ::waitpid(pid, &status, 0);
        if (WIFSIGNALED(status)) {
          ++kills;
          continue;
        }
      }
    }
    ::waitpid(pid, &status, 0);
    break;
  }
  EXPECT_EQ(kills, 10) << "the run ended before ten kills: make the replay longer";
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << read_all(tmp.file("out.json"));
  json k = json::parse(test::last_line(read_all(tmp.file("out.json"))));
  EXPECT_GT(k["resumed_at"].get<uint64_t>(), 0u);
  EXPECT_EQ(k["events"], n);
  EXPECT_EQ(k["learned"], n);  // a label learned twice would count twice
  EXPECT_EQ(k["dead_letters"], w["dead_letters"]);
  EXPECT_EQ(read_all(tmp.file("killed.rtml")), read_all(tmp.file("whole.rtml")));
  EXPECT_EQ(read_all(tmp.file("killed-predictions.jsonl")),
            read_all(tmp.file("whole-predictions.jsonl")));
  EXPECT_EQ(read_all(tmp.file("killed-dead.jsonl")), read_all(tmp.file("whole-dead.jsonl")));
  // The training log too: each learned event once, in the same order.
  auto exported = [&](const std::string& name) {
    return test::run(std::string(RTML_BINARY) + " store export --dir " + tmp.file(name + "-store") +
                     " 2>/dev/null")
        .out;
  };
  std::string whole_log = exported("whole");
  EXPECT_GT(whole_log.size(), 2000u * 60);
  EXPECT_EQ(exported("killed"), whole_log);

  // Run again after the end: nothing new to read, the same model.
  auto again = test::run(std::string(RTML_BINARY) + " run " + config + " --quiet --json");
  ASSERT_EQ(again.exit_code, 0) << again.out;
  EXPECT_EQ(json::parse(test::last_line(again.out))["resumed_at"], n);
  EXPECT_EQ(read_all(tmp.file("killed.rtml")), read_all(tmp.file("whole.rtml")));
  // The refused lines after the last row and before the read-ahead label are not
  // reported again.
  EXPECT_EQ(read_all(tmp.file("killed-dead.jsonl")), read_all(tmp.file("whole-dead.jsonl")));
  EXPECT_EQ(json::parse(test::last_line(again.out))["dead_letters"], w["dead_letters"]);

  // A changed config does not resume another config's checkpoint.
  std::ofstream(config, std::ios::app) << "# changed\n";
  auto changed = test::run(std::string(RTML_BINARY) + " run " + config + " --quiet");
  EXPECT_NE(changed.exit_code, 0);
  EXPECT_NE(changed.out.find("config changed since the checkpoint"), std::string::npos)
      << changed.out;
}

// SIGTERM with checkpoints on: a checkpoint on the way out and exit status 0; the same
// command goes on from there.
TEST(RunCheckpoints, SigtermCheckpointsAndExitsZero) {
  test::TempDir tmp;
  write_clicks(tmp.file("events.jsonl"), tmp.file("labels.jsonl"), 20000);
  const std::string config = clicks_config(tmp, "t", true, ", rate: 10000");
  auto stopped = test::run(std::string(RTML_BINARY) + " run " + config +
                           " --quiet --json & pid=$!; sleep 0.5; kill -TERM $pid; wait $pid");
  ASSERT_EQ(stopped.exit_code, 0) << stopped.out;
  json s = json::parse(test::last_line(stopped.out));
  EXPECT_EQ(s["stopped_by"], "SIGTERM");
  EXPECT_GE(s["checkpoints"].get<int>(), 1);
  uint64_t done = s["events"];
  EXPECT_GT(done, 0u);
  EXPECT_LT(done, 20000u);
  auto rest = test::run(std::string(RTML_BINARY) + " run " + config + " --quiet --json");
  ASSERT_EQ(rest.exit_code, 0) << rest.out;
  json r = json::parse(test::last_line(rest.out));
  EXPECT_EQ(r["resumed_at"].get<uint64_t>(), done);
  EXPECT_EQ(r["events"], 20000);
  EXPECT_EQ(r["learned"], 20000);

  // A source shorter than what the checkpoint read is not the stream it was made on.
  std::string events = read_all(tmp.file("events.jsonl"));
  std::ofstream(tmp.file("events.jsonl"), std::ios::trunc) << events.substr(0, events.size() / 2);
  auto shorter = test::run(std::string(RTML_BINARY) + " run " + config + " --quiet");
  EXPECT_NE(shorter.exit_code, 0);
  EXPECT_NE(shorter.out.find("fewer records than the checkpoint"), std::string::npos)
      << shorter.out;
}

}  // namespace
}  // namespace rtml::runtime
