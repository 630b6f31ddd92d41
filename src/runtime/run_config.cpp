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
namespace {}  // namespace

namespace {

RunConfig parse_run_config(const std::string& path) {
  YAML::Node root;
  std::string text;
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot read the config file");
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
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
  c.events.path = source->text("path", true);
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
    l.path = labels->text("path", true);
    l.format = labels->choice("format", {"csv", "jsonl"});
    l.id = labels->text("id", true);
    l.label = labels->text("label", true);
    l.time = labels->text("time", true);
    labels->check_all_read();
    c.labels = l;
    if (c.events.id.empty()) {
      top.fail(root, "'labels' are joined to the events by id: 'source.id' names the field");
    }
    if (c.events.time.empty()) {
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
    store->check_all_read();
    if (!st.url.empty()) {
      if (!st.dir.empty() || !fsync.empty() || !st.aggregates.empty()) {
        top.fail(root["store"],
                 "'store.url' (Redis) takes no 'dir', 'fsync' or 'aggregates': a run keeps "
                 "aggregates in the embedded store; Redis serves features others write");
      }
      try {
        (void)store::redis_options_from_url(st.url);
      } catch (const Error& e) {
        top.fail(root["store"]["url"], e.what());
      }
      if (!prefix.empty()) st.prefix = prefix;
    } else if (!prefix.empty()) {
      top.fail(root["store"]["prefix"], "'store.prefix' is for a Redis store ('store.url')");
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
    sinks->check_all_read();
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
