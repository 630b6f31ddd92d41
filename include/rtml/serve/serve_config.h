// ServeConfig: what `rtml serve` serves and how, from its command line or a YAML file
// (`rtml serve --config FILE`; the command line overrides the file key by key).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace rtml::serve {

// Every setting of rtml serve. The defaults are the command's; docs/serving.md and
// examples/serve.yaml list the keys.
struct ServeConfig {
  std::string file;  // the YAML file it was read from ("" for none), for messages

  std::string listen = "127.0.0.1:8080";
  int threads = 1;
  std::string token_file;
  size_t max_body = 16u << 20;
  size_t max_batch = 10000;
  size_t max_models = 1000;
  size_t max_connections = 10000;
  size_t max_versions = 100;
  size_t max_queued = 1u << 18;
  uint32_t publish_ms = 5;
  size_t pending = 1u << 20;
  double ttl = 0;  // seconds; 0: none
  std::string dir;
  std::string fsync = "every=10ms";
  double checkpoint_every_s = 60;

  // A model served from the start: a pipeline expression, or a model file saved by
  // `rtml eval --save` (learned state and all) that it goes on learning from.
  struct Model {
    std::string name;
    std::string expression;  // or file
    std::string file;
  };
  std::vector<Model> models;
  // The feature store's streaming aggregates, as `rtml store --aggregates` declares
  // them; POST /v1/events keeps them up to date.
  std::vector<std::string> aggregates;
};

// Reads the YAML file path over the values config holds. Throws Error naming the file,
// the line and the key for a syntax error, an unknown key, or a value of the wrong type.
void load_serve_config(const std::string& path, ServeConfig& config);

// Reads `NAME=EXPRESSION` or `NAME=FILE.rtml` (a model file) as a model to serve. Throws
// Error naming the flag for a spec without a name.
ServeConfig::Model parse_model_spec(const std::string& spec);

}  // namespace rtml::serve
