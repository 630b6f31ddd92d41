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
#include "rtml/store/wal.h"
#include "stop_signals.h"

namespace rtml::cli {
namespace {

struct ServeOptions {
  std::string listen = "127.0.0.1:8080";
  int threads = 1;
  std::vector<std::string> models;  // NAME=EXPRESSION
  std::string token_file;
  size_t max_body = 16u << 20;
  size_t max_batch = 10000;
  size_t max_models = 1000;
  size_t max_connections = 10000;
  uint32_t publish_ms = 5;
  size_t pending = 1u << 20;
  double ttl = 0;  // seconds; 0: none
  std::string dir;
  std::string fsync = "every=10ms";
  double checkpoint_every_s = 60;
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

int serve_command(const ServeOptions& o) {
  serve::Api::Options api_options;
  api_options.log.max_entries = o.pending;
  if (o.ttl > 0) api_options.log.ttl = o.ttl;
  api_options.publish_ms = o.publish_ms;
  api_options.max_batch = o.max_batch;
  api_options.max_models = o.max_models;
  if (!o.token_file.empty()) api_options.token = read_token(o.token_file);
  api_options.dir = o.dir;
  api_options.fsync = store::FsyncSetting::parse(o.fsync);
  if (!(o.checkpoint_every_s > 0) || o.checkpoint_every_s > 86400 * 365) {
    throw Error("--checkpoint-every: expected seconds in (0, a year]");
  }
  api_options.checkpoint_every_ms =
      std::max<uint32_t>(1, static_cast<uint32_t>(o.checkpoint_every_s * 1000));
  serve::Api api(api_options);
  for (const auto& spec : o.models) {
    const auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw Error("--model '" + spec + "': expected NAME=EXPRESSION");
    }
    // A model the folder holds already keeps its state (the same expression is no error).
    if (Status s = api.create_model(spec.substr(0, eq), spec.substr(eq + 1)); !s) {
      throw Error("--model '" + spec.substr(0, eq) + "': " + s.why());
    }
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
  auto* cmd = app.add_subcommand(
      "serve",
      "Serve named models over HTTP: predict, learn from labels, features (docs/serving.md)");
  cmd->add_option("--listen", o->listen, "HOST:PORT to listen on (port 0: any free port)")
      ->capture_default_str();
  cmd->add_option("--threads", o->threads, "Threads answering HTTP requests")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--model", o->models,
                  "A model to serve from the start, NAME=EXPRESSION (repeatable), e.g. "
                  "clicks='standard_scaler | logistic_regression'");
  cmd->add_option("--token-file", o->token_file,
                  "A file whose first line is the bearer token every request must carry "
                  "(Authorization: Bearer TOKEN); /healthz needs none");
  cmd->add_option("--max-body", o->max_body, "Largest request body, bytes")->capture_default_str();
  cmd->add_option("--max-batch", o->max_batch, "Most events in one batch request")
      ->capture_default_str();
  cmd->add_option("--max-models", o->max_models, "Most models served at once")
      ->capture_default_str();
  cmd->add_option("--max-connections", o->max_connections, "Most connections open at once")
      ->capture_default_str();
  cmd->add_option("--publish-ms", o->publish_ms,
                  "Most milliseconds between a label learned and predictions that see it")
      ->capture_default_str();
  cmd->add_option("--pending", o->pending,
                  "Most predictions kept waiting for their label, per model")
      ->capture_default_str();
  cmd->add_option("--ttl", o->ttl, "Seconds a prediction waits for its label (0: no limit)");
  cmd->add_option("--dir", o->dir,
                  "Folder that keeps the models (write-ahead log, checkpoints, versions): "
                  "served again after a restart or a kill -9. Without it, models live in "
                  "memory only");
  cmd->add_option("--fsync", o->fsync,
                  "With --dir, when a learn request's log record reaches the disk before it is "
                  "answered: always, every=10ms or never (a kill -9 loses nothing under any)")
      ->capture_default_str();
  cmd->add_option(
         "--checkpoint-every", o->checkpoint_every_s,
         "With --dir, seconds between checkpoints of a model that changed (0.5: half a second)")
      ->capture_default_str();
  return [o] { return serve_command(*o); };
}

}  // namespace rtml::cli
