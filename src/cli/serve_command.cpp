// rtml serve: named models that predict and learn over HTTP.
#include <poll.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "commands.h"
#include "rtml/core/error.h"
#include "rtml/serve/api.h"
#include "rtml/serve/http_server.h"
#include "rtml/serve/serve_config.h"
#include "rtml/store/wal.h"
#include "stop_signals.h"

namespace rtml::cli {
namespace {

// The command line: a ServeConfig, and the --config file it overrides.
struct ServeOptions {
  std::string config;
  serve::ServeConfig c;
  std::vector<std::string> models;  // NAME=EXPRESSION or NAME=FILE.rtml
};

// The token of a --token-file: its first line, without surrounding blanks.
std::string read_token(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error("--token-file: cannot read '" + path + "'");
  std::string line;
  std::getline(in, line);
  const auto first = line.find_first_not_of(" \t\r");
  const auto last = line.find_last_not_of(" \t\r");
  if (first == std::string::npos) throw Error("--token-file: '" + path + "' holds no token");
  return line.substr(first, last - first + 1);
}

int serve_command(const serve::ServeConfig& o) {
  serve::Api::Options api_options;
  api_options.log.max_entries = o.pending;
  if (o.ttl > 0) api_options.log.ttl = o.ttl;
  api_options.publish_ms = o.publish_ms;
  api_options.max_batch = o.max_batch;
  api_options.max_models = o.max_models;
  api_options.max_versions = o.max_versions;
  api_options.max_queued = o.max_queued;
  api_options.aggregates = o.aggregates;
  if (!o.token_file.empty()) api_options.token = read_token(o.token_file);
  api_options.dir = o.dir;
  api_options.fsync = store::FsyncSetting::parse(o.fsync);
  if (!(o.checkpoint_every_s > 0) || o.checkpoint_every_s > 86400 * 365) {
    throw Error("--checkpoint-every: expected seconds in (0, a year]");
  }
  api_options.checkpoint_every_ms =
      std::max<uint32_t>(1, static_cast<uint32_t>(o.checkpoint_every_s * 1000));
  serve::Api api(api_options);
  for (const auto& m : o.models) {
    // A model the folder holds already keeps its state (the same expression is no error).
    Status s = m.file.empty() ? api.create_model(m.name, m.expression)
                              : api.create_model_from_file(m.name, m.file);
    if (!s)
      throw Error((o.file.empty() ? "--model '" : o.file + ": model '") + m.name + "': " + s.why());
  }

  serve::HttpServer::Options http;
  const auto colon = o.listen.rfind(':');
  if (colon == std::string::npos) throw Error("--listen '" + o.listen + "': expected HOST:PORT");
  http.address = o.listen.substr(0, colon);
  if (http.address.size() > 2 && http.address.front() == '[') {
    http.address = http.address.substr(1, http.address.size() - 2);
  }
  try {
    const int port = std::stoi(o.listen.substr(colon + 1));
    if (port < 0 || port > 65535) throw std::out_of_range("port");
    http.port = static_cast<uint16_t>(port);
  } catch (const std::exception&) {
    throw Error("--listen '" + o.listen + "': the port must be a number in [0, 65535]");
  }
  http.threads = o.threads;
  http.max_body = o.max_body;
  http.max_connections = o.max_connections;

  StopSignals signals;
  serve::HttpServer server(api, http);
  std::fprintf(stderr, "rtml serve: listening on http://%s:%u\n", o.listen.substr(0, colon).c_str(),
               server.port());
  std::fflush(stderr);
  std::thread watcher([&] {
    pollfd p{signals.fd(), POLLIN, 0};
    while (poll(&p, 1, -1) < 0 && errno == EINTR) {
    }
    server.stop();
  });
  server.run();
  watcher.join();
  // The models stop (their queues applied) before the server's connections go.
  api.shutdown();
  const int sig = signals.received();
  std::fprintf(stderr, "rtml serve: stopped by %s after %llu requests\n", StopSignals::name(sig),
               static_cast<unsigned long long>(api.metrics().requests()));
  return 0;
}

}  // namespace

std::function<int()> add_serve_command(CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  serve::ServeConfig& c = o->c;
  auto* cmd = app.add_subcommand(
      "serve",
      "Serve named models over HTTP: predict, learn from labels, features (docs/serving.md)");
  cmd->add_option("--config", o->config,
                  "A YAML file of these settings, models and the store's aggregates "
                  "(examples/serve.yaml); a flag given overrides its key");
  cmd->add_option("--listen", c.listen, "HOST:PORT to listen on (port 0: any free port)")
      ->capture_default_str();
  cmd->add_option("--threads", c.threads, "Threads answering HTTP requests")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--model", o->models,
                  "A model to serve from the start (repeatable): NAME=EXPRESSION, e.g. "
                  "clicks='standard_scaler | logistic_regression', or NAME=FILE.rtml, a model "
                  "saved by rtml eval --save that goes on learning");
  cmd->add_option("--token-file", c.token_file,
                  "A file whose first line is the bearer token every request must carry "
                  "(Authorization: Bearer TOKEN); /healthz needs none");
  cmd->add_option("--max-body", c.max_body, "Largest request body, bytes")->capture_default_str();
  cmd->add_option("--max-batch", c.max_batch, "Most events in one batch request")
      ->capture_default_str();
  cmd->add_option("--max-models", c.max_models, "Most models served at once")
      ->capture_default_str();
  cmd->add_option("--max-connections", c.max_connections, "Most connections open at once")
      ->capture_default_str();
  cmd->add_option("--max-versions", c.max_versions,
                  "Most versions (snapshots) kept per model; the oldest go first")
      ->check(CLI::Range(size_t{1}, size_t{1000000}))
      ->capture_default_str();
  cmd->add_option("--max-queued", c.max_queued,
                  "Most events queued for a model's learning thread; past it, predict and learn "
                  "answer 503 (retry) until it catches up")
      ->check(CLI::Range(size_t{1}, size_t{1000000000}))
      ->capture_default_str();
  cmd->add_option("--publish-ms", c.publish_ms,
                  "Most milliseconds between a label learned and predictions that see it")
      ->capture_default_str();
  cmd->add_option("--pending", c.pending,
                  "Most predictions kept waiting for their label, per model")
      ->capture_default_str();
  cmd->add_option("--ttl", c.ttl, "Seconds a prediction waits for its label (0: no limit)");
  cmd->add_option("--dir", c.dir,
                  "Folder that keeps the models (write-ahead log, checkpoints, versions) and the "
                  "feature store: served again after a restart or a kill -9. Without it, all "
                  "lives in memory only");
  cmd->add_option("--fsync", c.fsync,
                  "With --dir, when a learn request's log record reaches the disk before it is "
                  "answered: always, every=10ms or never (a kill -9 loses nothing under any)")
      ->capture_default_str();
  cmd->add_option(
         "--checkpoint-every", c.checkpoint_every_s,
         "With --dir, seconds between checkpoints of a model that changed (0.5: half a second)")
      ->capture_default_str();
  return [o, cmd] {
    serve::ServeConfig config = o->c;
    if (!o->config.empty()) {
      // The file over the defaults, then each flag given over the file.
      config = serve::ServeConfig{};
      serve::load_serve_config(o->config, config);
      auto given = [&](const char* flag) { return cmd->count(flag) > 0; };
      const serve::ServeConfig& f = o->c;
      if (given("--listen")) config.listen = f.listen;
      if (given("--threads")) config.threads = f.threads;
      if (given("--token-file")) config.token_file = f.token_file;
      if (given("--max-body")) config.max_body = f.max_body;
      if (given("--max-batch")) config.max_batch = f.max_batch;
      if (given("--max-models")) config.max_models = f.max_models;
      if (given("--max-connections")) config.max_connections = f.max_connections;
      if (given("--max-versions")) config.max_versions = f.max_versions;
      if (given("--max-queued")) config.max_queued = f.max_queued;
      if (given("--publish-ms")) config.publish_ms = f.publish_ms;
      if (given("--pending")) config.pending = f.pending;
      if (given("--ttl")) config.ttl = f.ttl;
      if (given("--dir")) config.dir = f.dir;
      if (given("--fsync")) config.fsync = f.fsync;
      if (given("--checkpoint-every")) config.checkpoint_every_s = f.checkpoint_every_s;
    }
    for (const auto& spec : o->models) config.models.push_back(serve::parse_model_spec(spec));
    return serve_command(config);
  };
}

}  // namespace rtml::cli
