// rtml eval: progressive validation of a pipeline on a stream.
#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "commands.h"
#include "eval_runner.h"
#include "process_stats.h"
#include "rtml/core/error.h"
#include "rtml/core/excerpt.h"
#include "rtml/core/file_io.h"
#include "rtml/learn/pipeline.h"
#include "stop_signals.h"

namespace rtml::cli {
namespace {

std::set<std::string> split_list(const std::string& s) {
  std::set<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.insert(item);
  }
  return out;
}

// --delay and --window count events. Memory follows what is held, not the value, but
// a value past this is a typo or an overflow (a negative number read as unsigned).
constexpr uint64_t kMaxEventCount = 1000000000;

// Reads an event count given to `option`; throws Error stating the range otherwise.
size_t parse_event_count(const std::string& option, const std::string& text) {
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || n > kMaxEventCount) {
    throw Error(option + ": expected a whole number of events from 0 to " +
                std::to_string(kMaxEventCount) + ", got '" + excerpt(text, 40) + "'");
  }
  return static_cast<size_t>(n);
}

struct EvalOptions {
  EvalConfig config;
  std::string delay = "0", window = "0", horizon = "0";
  std::string model;
  std::string drop, categorical, numeric, positive;
  std::string save, load;
  std::string seeds;
  bool json = false;
  bool quiet = false;
};

// --horizon's figures as {"mae": [at 1, at 2, ...], "rmse": [...], "mean_mae": m}.
nlohmann::ordered_json horizon_json(const std::map<std::string, double>& r, size_t horizon) {
  nlohmann::ordered_json j;
  std::vector<double> mae, rmse;
  for (size_t h = 1; h <= horizon; ++h) {
    mae.push_back(r.at("mae@" + std::to_string(h)));
    rmse.push_back(r.at("rmse@" + std::to_string(h)));
  }
  j["steps"] = horizon;
  j["mae"] = mae;
  j["rmse"] = rmse;
  j["mean_mae"] = r.at("mae");
  return j;
}

// "FIRST-LAST" (or one seed) as the list of seeds, in order.
std::vector<uint64_t> parse_seed_range(const std::string& text) {
  auto number = [&](std::string_view part, uint64_t& out) {
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), out);
    return ec == std::errc() && end == part.data() + part.size() && !part.empty();
  };
  std::string_view t = text;
  size_t dash = t.find('-');
  uint64_t first = 0, last = 0;
  bool ok = dash == std::string_view::npos
                ? number(t, first) && (last = first, true)
                : number(t.substr(0, dash), first) && number(t.substr(dash + 1), last);
  if (!ok || last < first || last - first >= 1000) {
    throw Error(
        "--seeds: expected FIRST-LAST with FIRST <= LAST and at most 1000 seeds, e.g. "
        "1-5; got '" +
        text + "'");
  }
  std::vector<uint64_t> seeds;
  for (uint64_t s = first; s <= last; ++s) seeds.push_back(s);
  return seeds;
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// --seeds: the same evaluation once per seed of the model (its last step), then the
// median, min and max of each metric. A randomised model's figure from one seed says
// little on a small data set; this is the spread to compare against.
int run_seeds(EvalOptions& o) {
  if (o.model.empty() || !o.load.empty() || !o.save.empty() || !o.config.output.empty() ||
      o.config.window != 0 || !o.config.drift.empty()) {
    throw Error(
        "--seeds needs --model and reports whole-stream metrics only: it cannot go with "
        "--load, --save, --output, --window or --drift");
  }
  if (o.config.data == "-") throw Error("--seeds reads the data once per seed: not from stdin");
  std::vector<uint64_t> seeds = parse_seed_range(o.seeds);
  std::vector<StepSpec> steps = parse_expression(o.model);
  if (steps.back().params.count("seed")) {
    throw Error("--seeds sets the seed of '" + steps.back().name + "': drop seed= from --model");
  }
  std::map<std::string, std::vector<double>> values;
  nlohmann::ordered_json runs = nlohmann::ordered_json::array();
  EvalResult last;
  double seconds = 0;
  std::string description;
  // SIGINT or SIGTERM: the run under way stops and is left out (its figures cover part
  // of the data); the summary covers the runs that finished.
  StopSignals stop;
  o.config.stop = &stop;
  int stopped_by = 0;
  for (uint64_t seed : seeds) {
    steps.back().params["seed"] = std::to_string(seed);
    Pipeline pipeline(steps);
    if (o.config.target.empty() && pipeline.model().needs_target()) {
      throw Error("--target is required: " + std::string(pipeline.model().kind()) +
                  " learns from a label column");
    }
    if (description.empty()) description = pipeline.description();
    EvalResult result = run_eval(o.config, pipeline);
    if (result.signal != 0) {
      stopped_by = result.signal;
      std::fprintf(stderr, "rtml: stopped by %s during the run of seed %llu, left out\n",
                   StopSignals::name(stopped_by), static_cast<unsigned long long>(seed));
      break;
    }
    last = std::move(result);
    seconds += last.seconds;
    for (const auto& [name, value] : last.metrics) values[name].push_back(value);
    nlohmann::ordered_json run;
    run["seed"] = seed;
    run["metrics"] = last.metrics;
    runs.push_back(run);
  }
  nlohmann::ordered_json summary;
  for (const auto& [name, v] : values) {
    summary[name] = {{"median", median_of(v)},
                     {"min", *std::min_element(v.begin(), v.end())},
                     {"max", *std::max_element(v.begin(), v.end())}};
  }
  double rss = peak_rss_mb();
  if (o.json) {
    nlohmann::ordered_json j;
    j["model"] = o.model;
    j["data"] = o.config.data;
    j["seeds"] = seeds;
    if (stopped_by != 0) j["stopped_by"] = StopSignals::name(stopped_by);
    j["events"] = last.events;
    j["skipped"] = last.skipped;
    j["summary"] = summary;
    j["runs"] = runs;
    j["seconds"] = seconds;
    j["peak_rss_mb"] = rss;
    fmt::print("{}\n", j.dump());
    return stopped_by ? StopSignals::exit_code(stopped_by) : 0;
  }
  fmt::print("data      {}\n", o.config.data);
  fmt::print("model     {}\n", description);
  fmt::print("seeds     {}-{} ({} runs; the model line shows the first)\n", seeds.front(),
             seeds.back(), runs.size());
  fmt::print("events    {}  (skipped {})\n", last.events, last.skipped);
  fmt::print("\n{:<10} {:>10} {:>10} {:>10}\n", "metric", "median", "min", "max");
  for (const auto& [name, s] : summary.items()) {
    fmt::print("{:<10} {:>10.4f} {:>10.4f} {:>10.4f}\n", name, s["median"].get<double>(),
               s["min"].get<double>(), s["max"].get<double>());
  }
  fmt::print("\ntime      {:.3f} s for all runs, peak memory {:.1f} MiB\n", seconds, rss);
  return stopped_by ? StopSignals::exit_code(stopped_by) : 0;
}

int run(EvalOptions& o) {
  EvalConfig& c = o.config;
  c.drop = split_list(o.drop);
  c.categorical = split_list(o.categorical);
  c.numeric = split_list(o.numeric);
  c.delay = parse_event_count("--delay", o.delay);
  c.window = parse_event_count("--window", o.window);
  c.horizon = parse_event_count("--horizon", o.horizon);
  if (c.horizon > 1000) throw Error("--horizon: at most 1000 steps ahead, got " + o.horizon);
  if (!o.positive.empty()) c.positive = o.positive;
  c.progress = !o.quiet && stderr_is_terminal();
  if (!o.seeds.empty()) return run_seeds(o);
  if (o.model.empty() == o.load.empty()) {
    throw Error("give exactly one of --model EXPR and --load PATH");
  }
  if (!o.save.empty()) check_writable(o.save);  // before the run, not after it
  Pipeline pipeline = o.load.empty() ? Pipeline(o.model) : Pipeline::load(o.load);
  if (o.config.target.empty() && pipeline.model().needs_target()) {
    throw Error("--target is required: " + std::string(pipeline.model().kind()) +
                " learns from a label column");
  }
  // SIGINT or SIGTERM: reading stops, the events read are evaluated, and the summary
  // (and --save) covers them; the exit status then says which signal it was (130, 143).
  StopSignals stop;
  c.stop = &stop;
  EvalResult r = run_eval(c, pipeline);
  if (r.signal != 0) {
    std::fprintf(stderr, "rtml: stopped by %s after %llu events\n", StopSignals::name(r.signal),
                 static_cast<unsigned long long>(r.events));
  }
  if (!o.save.empty()) pipeline.save(o.save);
  const int status = r.signal ? StopSignals::exit_code(r.signal) : 0;
  double eps = r.seconds > 0 ? r.events / r.seconds : 0.0;
  double rss = peak_rss_mb();
  if (o.json) {
    nlohmann::ordered_json j;
    j["model"] = pipeline.description();
    j["data"] = c.data;
    if (r.signal != 0) j["stopped_by"] = StopSignals::name(r.signal);
    j["events"] = r.events;
    j["skipped"] = r.skipped;
    j["dropped_categories"] = r.dropped_categories;
    j["metrics"] = r.metrics;
    if (!r.rolling.empty()) j["rolling_metrics"] = r.rolling;
    if (!c.drift.empty()) j["drifts"] = r.drifts;
    if (!r.horizon.empty()) j["horizon"] = horizon_json(r.horizon, c.horizon);
    j["seconds"] = r.seconds;
    j["events_per_second"] = eps;
    j["peak_rss_mb"] = rss;
    fmt::print("{}\n", j.dump());
    return status;
  }
  fmt::print("data      {}\n", c.data);
  fmt::print("model     {}\n", pipeline.description());
  fmt::print("events    {}  (skipped {}, non-finite values read as missing {})\n", r.events,
             r.skipped, r.non_finite);
  if (r.dropped_categories > 0) {
    fmt::print("categories {} new ones left out: their column had {} already\n",
               r.dropped_categories, r.category_limit);
  }
  fmt::print("\n{:<10} {:>10}{}\n", "metric", "value",
             r.rolling.empty() ? "" : fmt::format("  {:>10}", "last " + std::to_string(c.window)));
  for (const auto& [name, value] : r.metrics) {
    std::string rolling;
    if (auto it = r.rolling.find(name); it != r.rolling.end())
      rolling = fmt::format("  {:>10.4f}", it->second);
    fmt::print("{:<10} {:>10.4f}{}\n", name, value, rolling);
  }
  if (!r.horizon.empty()) {
    fmt::print("\n{:<10} {:>10} {:>10}\n", "ahead", "mae", "rmse");
    for (size_t h = 1; h <= c.horizon; ++h) {
      fmt::print("{:<10} {:>10.4f} {:>10.4f}\n", h, r.horizon["mae@" + std::to_string(h)],
                 r.horizon["rmse@" + std::to_string(h)]);
    }
    fmt::print("{:<10} {:>10.4f}\n", "mean", r.horizon["mae"]);
  }
  if (!c.drift.empty()) {
    std::string at;
    for (size_t i = 0; i < r.drifts.size() && i < 20; ++i)
      at += (i ? ", " : "") + std::to_string(r.drifts[i]);
    if (r.drifts.size() > 20) at += ", ...";
    fmt::print("\ndrifts    {} detected by {}{}\n", r.drifts.size(), c.drift,
               at.empty() ? "" : " at events " + at);
  }
  fmt::print("\ntime      {:.3f} s  ({:.0f} events/s), peak memory {:.1f} MiB\n", r.seconds, eps,
             rss);
  if (!o.save.empty()) fmt::print("saved     {}\n", o.save);
  if (r.signal != 0) fmt::print("stopped   by {}\n", StopSignals::name(r.signal));
  return status;
}

}  // namespace

std::function<int()> add_eval_command(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  auto* cmd = app.add_subcommand(
      "eval", "Progressive validation (predict, then learn) of a model on a stream");
  cmd->add_option("--data", o->config.data,
                  "CSV, CSV.gz, JSON Lines file, '-' for stdin, or "
                  "synth:sea|hyperplane|agrawal?n=..&seed=..")
      ->required();
  cmd->add_option("--target", o->config.target,
                  "The column to predict; an anomaly detector may go without one and only "
                  "score");
  cmd->add_option("--model", o->model,
                  "Pipeline expression, e.g. \"standard_scaler | logistic_regression(lr=0.005)\"");
  cmd->add_option("--drop", o->drop, "Columns to ignore, comma-separated");
  cmd->add_option("--categorical", o->categorical,
                  "Columns to read as categories, comma-separated");
  cmd->add_option("--numeric", o->numeric, "Columns to read as numbers, comma-separated");
  cmd->add_option("--delay", o->delay,
                  "Labels arrive N events after their event (0 to 1000000000)");
  cmd->add_option("--positive", o->positive,
                  "The positive class of a binary target (default: the greater value)");
  cmd->add_option("--window", o->window,
                  "Also report metrics over the last N events (0 to 1000000000)");
  cmd->add_option("--output", o->config.output,
                  "Write each event's prediction to this file, one line per event");
  cmd->add_option("--drift", o->config.drift,
                  "Watch the model's errors with a drift detector: adwin, page_hinkley or ddm, "
                  "with parameters");
  cmd->add_option("--horizon", o->horizon,
                  "A forecaster also forecasts N values ahead before each value: MAE and RMSE "
                  "at each step ahead (1 to 1000)");
  cmd->add_option("--save", o->save, "Write the final pipeline to this file");
  cmd->add_option("--load", o->load,
                  "Start from a pipeline saved with --save (instead of --model)");
  cmd->add_option("--seeds", o->seeds,
                  "FIRST-LAST: run once per seed of the model and report each metric's median, "
                  "min and max");
  cmd->add_option("--threads", o->config.threads,
                  "1: decode and learn on one thread; 2: decode on a second thread")
      ->check(CLI::Range(1, 2));
  cmd->add_flag("--strict", o->config.strict, "Stop at the first bad line instead of skipping it");
  cmd->add_flag("--json", o->json, "Print the result as one JSON object on the last line");
  cmd->add_flag("--quiet", o->quiet, "No progress line");
  return [o] { return run(*o); };
}

}  // namespace rtml::cli
