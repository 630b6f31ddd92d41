#include "rtml/runtime/run_config.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fstream>
#include <set>

#include "rtml/core/error.h"
#include "rtml/runtime/checkpoint.h"
#include "rtml/runtime/yaml_section.h"
#include "rtml/store/redis_store.h"

namespace rtml::runtime {
namespace {

RunConfig parse_run_config(const std::string& path) {
  YAML::Node root;
  std::string text;
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot read the config file");
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  // What the environment fills in is part of the config: a checkpoint resumes only
  // the same worker on the same Redis.
  text = expand_environment(text, path);
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw Error(path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  RunConfig c;
  c.file = path;
  c.text_hash = config_text_hash(text);
  if (!root || root.IsNull()) throw Error(path + ": the config file is empty");
  YamlSection top(path, root, "");

  auto source = top.section("source");
  if (!source) top.fail(root, "missing key 'source' (where the events come from)");
  c.redis = top.text("redis");
  if (!c.redis.empty()) {
    try {
      (void)store::redis_options_from_url(c.redis);
    } catch (const Error& e) {
      top.fail(root["redis"], e.what());
    }
  }
  if (auto kafka = top.section("kafka")) {
    RunConfig::Kafka kc;
    kc.brokers = kafka->text("brokers", true);
    kafka->text_map("settings", kc.settings);
    kafka->check_all_read();
    c.kafka = kc;
  }
  c.events.path = source->text("path");
  c.events.stream = source->text("stream");
  c.events.topic = source->text("topic");
  if (std::string g = source->text("group"); !g.empty()) c.events.group = g;
  c.events.consumer = source->text("consumer");
  if (std::string f = source->text("field"); !f.empty()) c.events.field = f;
  c.events.claim_idle = source->number("claim_idle", 30, 0.01, 1e9);
  if (!c.events.path.empty() + !c.events.stream.empty() + !c.events.topic.empty() != 1) {
    top.fail(root["source"],
             "'source' takes one of 'path' (a file, - or synth:), 'stream' (Redis) and 'topic' "
             "(Kafka)");
  }
  if (!c.events.topic.empty() && !c.kafka) {
    top.fail(root["source"], "'source.topic' is a Kafka topic: add 'kafka: {brokers: host:port}'");
  }
  if (!c.events.stream.empty() && c.redis.empty()) {
    top.fail(root["source"], "'source.stream' is a Redis stream: add 'redis: redis://host:port'");
  }
  c.events.format = source->choice("format", {"csv", "jsonl"});
  c.events.id = source->text("id");
  c.events.time = source->text("time");
  c.events.categorical = source->list("categorical");
  c.events.numeric = source->list("numeric");
  c.events.rate = source->number("rate", 0, 0, 1e9);
  c.events.speed = source->number("speed", 0, 0, 1e9);
  source->check_all_read();
  if (c.events.rate > 0 && c.events.speed > 0) {
    top.fail(root["source"], "'source' takes one of 'rate' and 'speed'");
  }
  if (c.events.speed > 0 && c.events.time.empty()) {
    top.fail(root["source"], "'source.speed' replays event time: 'source.time' names the field");
  }

  if (auto labels = top.section("labels")) {
    RunConfig::Labels l;
    l.stream = labels->text("stream");
    l.path = labels->text("path", l.stream.empty());
    l.format = labels->choice("format", {"csv", "jsonl"});
    l.id = labels->text("id", true);
    l.label = labels->text("label", true);
    l.time = labels->text("time", l.stream.empty());
    l.log_seconds = labels->number("log_seconds", l.log_seconds, 1, 1e9);
    labels->check_all_read();
    c.labels = l;
    if (c.events.id.empty()) {
      top.fail(root, "'labels' are joined to the events by id: 'source.id' names the field");
    }
    if (!l.stream.empty()) {
      if (!l.path.empty()) top.fail(root["labels"], "'labels' takes one of 'path' and 'stream'");
      if (c.events.stream.empty()) {
        top.fail(root["labels"],
                 "a labels 'stream' is read with the events' Redis stream: set 'source.stream'");
      }
    } else if (c.events.time.empty()) {
      top.fail(root, "'labels' are merged with the events by time: 'source.time' names the field");
    }
  }

  auto model = top.section("model");
  if (!model) top.fail(root, "missing key 'model'");
  c.model.expression = model->text("expression");
  c.model.load = model->text("load");
  c.model.save = model->text("save");
  c.model.target = model->text("target");
  c.model.drop = model->list("drop");
  c.model.positive = model->text("positive");
  c.model.warm_start = model->choice("warm_start", {"true", "false"}) == "true";
  model->check_all_read();
  if (c.model.expression.empty() == c.model.load.empty()) {
    top.fail(root["model"], "'model' takes one of 'expression' and 'load'");
  }

  if (auto replicas = top.section("replicas")) {
    RunConfig::Replicas r;
    if (std::string m = replicas->choice("mode", {"average", "publish", "follow"}); !m.empty()) {
      r.mode = m;
    }
    r.every = static_cast<uint64_t>(replicas->number("every", 10000, 1, 1e12));
    if (std::string k = replicas->text("key"); !k.empty()) r.key = k;
    r.name = replicas->text("name");
    replicas->check_all_read();
    if (c.redis.empty()) {
      top.fail(root["replicas"], "'replicas' meet in Redis: add 'redis: redis://host:port'");
    }
    c.replicas = r;
  }
  if (c.replicas && c.replicas->mode == "follow" && top.section("labels")) {
    top.fail(root["replicas"], "a follower learns nothing: it takes no 'labels' stream");
  }
  if (auto pending = top.section("pending")) {
    c.pending.max_entries = static_cast<size_t>(pending->number("max", 1 << 20, 1, 1e9));
    c.pending.ttl = pending->number("ttl", INFINITY, 1e-6, INFINITY);
    pending->check_all_read();
  }

  if (auto store = top.section("store")) {
    RunConfig::Store st;
    st.url = store->text("url");
    std::string prefix = store->text("prefix");
    st.dir = store->text("dir");
    std::string fsync = store->text("fsync");
    if (!fsync.empty()) st.fsync = fsync;
    st.aggregates = store->list("aggregates");
    const bool has_dedup = static_cast<bool>(root["store"]["dedup_seconds"]);
    st.dedup_seconds = store->number("dedup_seconds", st.dedup_seconds, 1, 1e9);
    store->check_all_read();
    if (!st.url.empty()) {
      if (!st.dir.empty() || !fsync.empty()) {
        top.fail(root["store"],
                 "'store.url' (Redis) takes no 'dir' or 'fsync': Redis keeps the features, "
                 "and its own persistence settings say how durable they are");
      }
      try {
        (void)store::redis_options_from_url(st.url);
      } catch (const Error& e) {
        top.fail(root["store"]["url"], e.what());
      }
      if (!prefix.empty()) st.prefix = prefix;
    } else if (!prefix.empty()) {
      top.fail(root["store"]["prefix"], "'store.prefix' is for a Redis store ('store.url')");
    } else if (has_dedup) {
      top.fail(root["store"]["dedup_seconds"],
               "'store.dedup_seconds' is for aggregates kept in Redis ('store.url')");
    }
    c.store = st;
  }
  for (auto& e : top.sections("enrich")) {
    RunConfig::Enrich en;
    en.key = e.text("key", true);
    en.features = e.list("features");
    e.check_all_read();
    if (en.features.empty()) e.fail(root["enrich"], "'enrich' entries list their 'features'");
    c.enrich.push_back(en);
  }
  if (!c.enrich.empty() && !c.store) {
    top.fail(root["enrich"], "'enrich' reads from a feature store: add a 'store' section");
  }

  if (auto log = top.section("training_log")) {
    RunConfig::TrainingLogConfig t;
    t.keep = static_cast<uint64_t>(log->number("keep", 100000, 0, 1e12));
    t.window = log->number("window", INFINITY, 1e-3, INFINITY);
    log->check_all_read();
    c.training_log = t;
  }
  if (c.model.warm_start && !c.training_log) {
    top.fail(root["model"], "'model.warm_start' learns from the training log: add 'training_log'");
  }

  if (auto checkpoint = top.section("checkpoint")) {
    RunConfig::Checkpoints ck;
    ck.dir = checkpoint->text("dir", true);
    ck.events = static_cast<uint64_t>(checkpoint->number("events", 100000, 1, 1e15));
    ck.seconds = checkpoint->number("seconds", 10, 0.001, 1e9);
    checkpoint->check_all_read();
    c.checkpoint = ck;
  }

  if (c.training_log && c.store && !c.store->url.empty()) {
    top.fail(root["training_log"],
             "'training_log' is kept in the embedded store's folder, not in Redis: set "
             "'store.dir' instead of 'store.url'");
  }
  if (c.training_log && (!c.store || (c.store->dir.empty() && !c.checkpoint))) {
    top.fail(root["training_log"],
             "'training_log' is kept in the store's folder: set 'store.dir' (or 'checkpoint')");
  }

  if (auto sinks = top.section("sinks")) {
    c.sinks.predictions = sinks->text("predictions");
    c.sinks.dead_letters = sinks->text("dead_letters");
    c.sinks.predictions_stream = sinks->text("predictions_stream");
    c.sinks.dead_letters_stream = sinks->text("dead_letters_stream");
    c.sinks.predictions_topic = sinks->text("predictions_topic");
    c.sinks.dead_letters_topic = sinks->text("dead_letters_topic");
    c.sinks.stream_max_length =
        static_cast<uint64_t>(sinks->number("stream_max_length", 1000000, 1, 1e15));
    sinks->check_all_read();
    if ((!c.sinks.predictions_stream.empty() || !c.sinks.dead_letters_stream.empty()) &&
        c.redis.empty()) {
      top.fail(root["sinks"], "stream sinks are Redis streams: add 'redis: redis://host:port'");
    }
    if ((!c.sinks.predictions_topic.empty() || !c.sinks.dead_letters_topic.empty()) && !c.kafka) {
      top.fail(root["sinks"], "topic sinks are Kafka topics: add 'kafka: {brokers: host:port}'");
    }
  }
  if (!c.events.stream.empty() || !c.events.topic.empty()) {
    if (c.labels && c.labels->stream.empty()) {
      top.fail(root["labels"],
               "a Redis stream or Kafka topic source takes its labels with its events, or from "
               "a labels 'stream' (Redis)");
    }
    if (c.labels && !c.events.topic.empty()) {
      top.fail(root["labels"], "a Kafka topic source takes its labels with its events (for now)");
    }
    if (c.events.rate > 0 || c.events.speed > 0) {
      top.fail(root["source"],
               "a Redis stream or Kafka topic is read as it comes: no 'rate' or 'speed'");
    }
    // An entry is acknowledged after the checkpoint that holds its effects: held longer
    // than claim_idle, another worker would take it while this one still has it.
    if (!c.events.stream.empty() && c.checkpoint &&
        c.checkpoint->seconds * 2 >= c.events.claim_idle) {
      top.fail(root["source"], "'source.claim_idle' (" + std::to_string(c.events.claim_idle) +
                                   " s) must be more than twice 'checkpoint.seconds' (" +
                                   std::to_string(c.checkpoint->seconds) +
                                   " s): a live worker holds entries until its checkpoint");
    }
  }
  top.check_all_read();
  return c;
}

}  // namespace

RunConfig load_run_config(const std::string& path) {
  // Whatever yaml-cpp throws for a shape the reading above did not foresee (a key that
  // is a list, say) is a config error too, with its line.
  try {
    return parse_run_config(path);
  } catch (const YAML::Exception& e) {
    throw Error(path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

}  // namespace rtml::runtime
