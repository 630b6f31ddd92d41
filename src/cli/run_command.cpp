// rtml run CONFIG: a running pipeline described by one YAML file.
#include <fmt/core.h>
#include <unistd.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "process_stats.h"
#include "rtml/runtime/run.h"
#include "rtml/runtime/run_config.h"
#include "stop_signals.h"

namespace rtml::cli {
namespace {

struct RunOptions {
  std::string config;
  bool json = false;
  bool quiet = false;
};

int run_command(const RunOptions& o) {
  runtime::RunConfig config = runtime::load_run_config(o.config);
  StopSignals stop;
  runtime::RunControls controls;
  controls.stop_fd = stop.fd();
  controls.stop_requested = [&] { return stop.received(); };
  const bool live = !o.quiet && ::isatty(STDERR_FILENO);
  if (live) {
    controls.progress = [](const runtime::RunSummary& s) {
      fmt::print(stderr,
                 "\r{} events, {:.0f}/s, {} {:.4f} (last 1000), {} learned, {} dead letters, {} "
                 "pending   ",
                 s.events, s.seconds > 0 ? static_cast<double>(s.events) / s.seconds : 0.0,
                 s.regression ? "MAE" : "accuracy", s.rolling_metric, s.learned, s.dead_letters,
                 s.pending);
    };
  }
  runtime::RunSummary s = runtime::run(config, controls);
  if (live) fmt::print(stderr, "\n");
  if (o.json) {
    nlohmann::ordered_json j = {{"events", s.events},
                                {"learned", s.learned},
                                {"dead_letters", s.dead_letters},
                                {"labels_refused", s.labels_refused},
                                {"pending", s.pending},
                                {"expired", s.expired},
                                {"checkpoints", s.checkpoints},
                                {"warm_started", s.warm_started},
                                {"resumed_at", s.resumed_at},
                                {"seconds", s.seconds},
                                {"events_per_second", s.seconds > 0 ? s.events / s.seconds : 0},
                                {"peak_rss_mb", peak_rss_mb()}};
    if (std::isfinite(s.rolling_metric)) {
      j[s.regression ? "rolling_mae" : "rolling_accuracy"] = s.rolling_metric;
    }
    if (s.latency_max_ms > 0) {
      j["latency_ms"] = {
          {"p50", s.latency_p50_ms}, {"p99", s.latency_p99_ms}, {"max", s.latency_max_ms}};
    }
    if (!config.events.stream.empty() || !config.events.topic.empty()) {
      j["stream"] = {{"entries", s.stream_entries},
                     {"claimed", s.stream_claimed},
                     {"acknowledged", s.stream_acked},
                     {"restarts", s.restarts},
                     {"labels_from_log", s.labels_from_log}};
    }
    if (config.replicas && config.replicas->mode == "follow") {
      j["model_versions"] = s.model_versions;
    }
    if (s.signal) j["stopped_by"] = StopSignals::name(s.signal);
    fmt::print("{}\n", j.dump());
  } else if (!o.quiet) {
    if (s.resumed_at) {
      fmt::print(stderr, "rtml run: resumed from a checkpoint at event {}\n", s.resumed_at);
    }
    fmt::print(stderr,
               "rtml run: {} events predicted, {} labels learned, {} dead letters ({} labels "
               "refused), {} predictions waiting, {} expired, {} {:.4f} over the last 1000, "
               "{:.2f} s\n",
               s.events, s.learned, s.dead_letters, s.labels_refused, s.pending, s.expired,
               s.regression ? "MAE" : "accuracy", s.rolling_metric, s.seconds);
  }
  // A stop with checkpoints on is a clean end: the run resumes from its last checkpoint.
  return s.signal && !config.checkpoint ? StopSignals::exit_code(s.signal) : 0;
}

}  // namespace

std::function<int()> add_run_command(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  auto* cmd = app.add_subcommand("run", "Run a pipeline described by a YAML file (examples/)");
  cmd->add_option("config", o->config, "The YAML file: source, labels, model, pending, sinks")
      ->required();
  cmd->add_flag("--json", o->json, "End with one JSON line summarising the run");
  cmd->add_flag("--quiet", o->quiet, "No progress line or summary on stderr");
  return [o] { return run_command(*o); };
}

}  // namespace rtml::cli
