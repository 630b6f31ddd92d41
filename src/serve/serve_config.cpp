#include "rtml/serve/serve_config.h"

#include "rtml/core/error.h"
#include "rtml/core/file_io.h"
#include "rtml/runtime/yaml_section.h"

namespace rtml::serve {
namespace {

using runtime::YamlSection;

size_t count(YamlSection& s, const std::string& key, size_t fallback, double max) {
  return static_cast<size_t>(s.number(key, static_cast<double>(fallback), 1, max));
}

void read_models(YamlSection& top, ServeConfig& c) {
  YAML::Node models = top.raw("models");
  if (!models) return;
  if (!models.IsMap()) {
    top.fail(models,
             "'models' must be a mapping of names to expressions, e.g. "
             "clicks: \"standard_scaler | logistic_regression\"");
  }
  for (const auto& kv : models) {
    ServeConfig::Model m;
    m.name = kv.first.as<std::string>();
    if (kv.second.IsScalar()) {
      m.expression = kv.second.as<std::string>();
    } else {
      YamlSection model(c.file, kv.second, "models." + m.name);
      m.expression = model.text("model");
      m.file = model.text("file");
      model.check_all_read();
      if (m.expression.empty() == m.file.empty()) {
        top.fail(kv.second,
                 "'models." + m.name +
                     "' takes one of 'model' (an expression) and 'file' (a saved model)");
      }
    }
    if (m.expression.empty() && m.file.empty()) {
      top.fail(kv.second, "'models." + m.name + "' is empty: expected an expression");
    }
    c.models.push_back(std::move(m));
  }
}

}  // namespace

void load_serve_config(const std::string& path, ServeConfig& c) {
  std::string text;
  try {
    text = read_file(path);
  } catch (const std::exception&) {
    throw Error(path + ": cannot read the config file");
  }
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw Error(path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (!root || root.IsNull()) throw Error(path + ": the config file is empty");
  c.file = path;
  YamlSection top(path, root, "");
  if (auto t = top.text("listen"); !t.empty()) c.listen = t;
  c.threads = static_cast<int>(top.number("threads", c.threads, 1, 256));
  c.token_file = top.text("token_file");
  if (auto t = top.text("dir"); !t.empty()) c.dir = t;
  if (auto t = top.text("fsync"); !t.empty()) c.fsync = t;
  c.checkpoint_every_s = top.number("checkpoint_every", c.checkpoint_every_s, 1e-3, 86400 * 365);
  c.publish_ms = static_cast<uint32_t>(top.number("publish_ms", c.publish_ms, 0, 60000));
  if (auto limits = top.section("limits")) {
    c.max_body = count(*limits, "body", c.max_body, 1u << 30);
    c.max_batch = count(*limits, "batch", c.max_batch, 1e7);
    c.max_models = count(*limits, "models", c.max_models, 1e5);
    c.max_connections = count(*limits, "connections", c.max_connections, 1e6);
    c.max_versions = count(*limits, "versions", c.max_versions, 1e6);
    c.max_queued = count(*limits, "queued", c.max_queued, 1e9);
    limits->check_all_read();
  }
  if (auto pending = top.section("pending")) {
    c.pending = count(*pending, "max", c.pending, 1e9);
    c.ttl = pending->number("ttl", c.ttl, 0, 1e12);
    pending->check_all_read();
  }
  read_models(top, c);
  if (auto store = top.section("store")) {
    c.aggregates = store->list("aggregates");
    store->check_all_read();
  }
  top.check_all_read();
}

ServeConfig::Model parse_model_spec(const std::string& spec) {
  const auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
    throw Error("--model '" + spec + "': expected NAME=EXPRESSION or NAME=FILE.rtml");
  }
  ServeConfig::Model m;
  m.name = spec.substr(0, eq);
  const std::string value = spec.substr(eq + 1);
  // A saved model is a file that exists; an expression never ends in ".rtml".
  if (value.size() > 5 && value.ends_with(".rtml")) {
    m.file = value;
  } else {
    m.expression = value;
  }
  return m;
}

}  // namespace rtml::serve
