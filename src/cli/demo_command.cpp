// rtml demo: the shop whose tastes change. A recommender that keeps learning, the same
// model frozen at the shift, and a most-popular baseline, on the same sessions.
#include <fmt/core.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "process_stats.h"
#include "rtml/core/error.h"
#include "rtml/runtime/frozen_comparison.h"
#include "rtml/runtime/shop_demo.h"
#include "stop_signals.h"
#include "svg_plot.h"

namespace rtml::cli {
namespace {

struct DemoOptions {
  runtime::ShopDemoOptions demo;
  std::string data;       // "elec2": the online/frozen comparison on the real Elec2 stream
  uint64_t shift_at = 0;  // 0: half the sessions
  std::string plot = "shop-demo.svg";
  bool json = false;
  bool quiet = false;
};

// One policy's figures; its rate is sessions over its own time.
nlohmann::ordered_json policy_json(const runtime::ShopPolicyResult& p, uint64_t sessions) {
  return {{"metric", "ctr"},
          {"before_shift", p.before_shift},
          {"after_shift", p.after_shift},
          {"ips_after_shift", p.ips_after},
          {"dr_after_shift", p.dr_after},
          {"events_per_second", p.seconds > 0 ? sessions / p.seconds : 0}};
}

// rtml demo --data elec2: the same comparison, online against frozen, on a real stream.
int elec2_demo(DemoOptions& o) {
  if (o.data != "elec2") throw Error("--data takes elec2, not '" + o.data + "'");
  const std::string dir = find_data_dir();
  const std::string path = dir + "/elec2.csv.gz";
  if (dir.empty() || !std::filesystem::exists(path)) {
    throw Error(path + " not found: rtml demo --data elec2 needs the data sets (RTML_DATA)");
  }
  runtime::FrozenComparisonOptions c;
  c.source = path;
  c.model = "standard_scaler | logistic_regression(optimizer=sgd, lr=0.005)";
  c.window = 1000;
  StopSignals stop;
  auto r = runtime::compare_with_frozen(c, [&] { return stop.received() != 0; });
  LinePlot plot;
  plot.title = "Elec2: accuracy, rolling over 1000 events";
  plot.x_label = "event";
  plot.y_label = "accuracy";
  plot.x = r.curve_x;
  plot.series = {{"online", "#1f77b4", r.online_rolling},
                 {"frozen at half", "#d62728", r.frozen_rolling}};
  plot.marker_x = static_cast<double>(r.freeze_at);
  plot.marker_label = "frozen";
  write_svg(plot, o.plot);
  const std::string plot_path = std::filesystem::absolute(o.plot).string();
  if (!o.quiet) {
    fmt::print("Elec2 ({} events): {}, frozen after event {}\n\n", r.events, c.model, r.freeze_at);
    fmt::print("{:<10} {:>16} {:>16}\n", "policy", "accuracy before", "accuracy after");
    fmt::print("{:<10} {:>16.4f} {:>16.4f}\n", "online", r.online_before, r.online_after);
    fmt::print("{:<10} {:>16.4f} {:>16.4f}\n", "frozen", r.online_before, r.frozen_after);
    fmt::print("\nPlot: {}\n", plot_path);
  }
  if (o.json) {
    nlohmann::ordered_json j = {{"events", r.events},
                                {"shift_at", r.freeze_at},
                                {"online",
                                 {{"metric", "accuracy"},
                                  {"before_shift", r.online_before},
                                  {"after_shift", r.online_after}}},
                                {"frozen",
                                 {{"metric", "accuracy"},
                                  {"before_shift", r.online_before},
                                  {"after_shift", r.frozen_after}}},
                                {"plot", plot_path}};
    fmt::print("{}\n", j.dump());
  }
  return r.stopped ? StopSignals::exit_code(stop.received()) : 0;
}

int demo_command(DemoOptions& o) {
  if (!o.data.empty()) return elec2_demo(o);
  auto& w = o.demo.world;
  w.shift_at = o.shift_at ? o.shift_at : w.sessions / 2;
  StopSignals stop;
  const bool live = !o.quiet && ::isatty(STDERR_FILENO);
  auto progress = [&](const runtime::ShopDemoProgress& p) {
    if (!live) return;
    fmt::print(stderr,
               "\r{:>9} sessions  {:>8.0f}/s  rolling CTR online {:.3f} frozen {:.3f}  {} labels "
               "pending   ",
               p.events, p.seconds > 0 ? p.events / p.seconds : 0.0, p.online_rolling,
               p.frozen_rolling, p.pending);
  };
  runtime::ShopDemoResult r =
      runtime::run_shop_demo(o.demo, progress, [&] { return stop.received() != 0; });
  if (live) fmt::print(stderr, "\n");

  LinePlot plot;
  plot.title = fmt::format("Click-through rate, rolling over {} sessions", o.demo.window);
  plot.x_label = "event time (hours)";
  plot.y_label = "click-through rate";
  for (double t : r.curve_time) plot.x.push_back(t / 3600);
  plot.series = {{"online", "#1f77b4", r.online.rolling},
                 {"frozen at shift", "#d62728", r.frozen.rolling},
                 {"most popular", "#7f7f7f", r.popularity.rolling}};
  plot.marker_x = r.shift_time / 3600;
  plot.marker_label = "tastes change";
  write_svg(plot, o.plot);
  const std::string plot_path = std::filesystem::absolute(o.plot).string();

  if (!o.quiet) {
    fmt::print(
        "The shop whose tastes change: {} sessions, {} candidates each; at session {} "
        "({:.0f}% of users move to other tastes)\n\n",
        r.events, r.candidates, r.shift_at, 100 * w.shift_share);
    fmt::print("{:<16} {:>12} {:>12} {:>14} {:>14}\n", "policy", "CTR before", "CTR after",
               "IPS estimate", "DR estimate");
    auto row = [](const char* name, const runtime::ShopPolicyResult& p) {
      fmt::print("{:<16} {:>12.4f} {:>12.4f} {:>14.4f} {:>14.4f}\n", name, p.before_shift,
                 p.after_shift, p.ips_after, p.dr_after);
    };
    row("online", r.online);
    row("frozen", r.frozen);
    row("most popular", r.popularity);
    fmt::print(
        "\nAfter the shift, online beats frozen by {:+.4f} CTR ({:+.0f}%). ",
        r.online.after_shift - r.frozen.after_shift,
        r.frozen.after_shift > 0 ? 100 * (r.online.after_shift / r.frozen.after_shift - 1) : 0.0);
    if (r.recovery_events >= 0) {
      fmt::print("Online is back to 95% of its rate before the shift {} sessions after it.\n",
                 r.recovery_events);
    } else {
      fmt::print("Online did not get back to 95% of its rate before the shift in this run.\n");
    }
    fmt::print(
        "Estimates: what each policy would have scored after the shift, from the online "
        "policy's logged propensities alone.\n{:.0f} sessions/s through the three policies "
        "({:.1f} s); the online recommender alone, on its own time: {:.0f} sessions/s. Plot: {}\n",
        r.seconds > 0 ? r.events / r.seconds : 0.0, r.seconds,
        r.online.seconds > 0 ? r.events / r.online.seconds : 0.0, plot_path);
  }
  if (o.json) {
    nlohmann::ordered_json j = {{"events", r.events},
                                {"shift_at", r.shift_at},
                                {"online", policy_json(r.online, r.events)},
                                {"frozen", policy_json(r.frozen, r.events)},
                                {"popularity", policy_json(r.popularity, r.events)},
                                {"recovery_events", r.recovery_events},
                                {"events_per_second", r.seconds > 0 ? r.events / r.seconds : 0},
                                {"plot", plot_path}};
    fmt::print("{}\n", j.dump());
  }
  if (r.stopped) return StopSignals::exit_code(stop.received());
  return 0;
}

}  // namespace

std::function<int()> add_demo_command(CLI::App& app) {
  auto o = std::make_shared<DemoOptions>();
  auto* cmd = app.add_subcommand(
      "demo", "The shop whose tastes change: online learning against a frozen model");
  auto& w = o->demo.world;
  cmd->add_option("--sessions", w.sessions, "Recommendation events")->capture_default_str();
  cmd->add_option("--seed", w.seed, "Seed of the shop and the policies")->capture_default_str();
  cmd->add_option("--users", w.users)->capture_default_str();
  cmd->add_option("--items", w.items)->capture_default_str();
  cmd->add_option("--categories", w.categories)->capture_default_str();
  cmd->add_option("--candidates", w.candidates, "Items to choose from per session")
      ->capture_default_str();
  cmd->add_option("--shift-at", o->shift_at, "Session at which tastes change (default: half)");
  cmd->add_option("--shift-share", w.shift_share, "Share of users whose tastes change")
      ->capture_default_str();
  cmd->add_option("--epsilon", o->demo.epsilon, "Exploration of the epsilon-greedy policies")
      ->capture_default_str();
  cmd->add_option("--model", o->demo.model, "The scoring model")->capture_default_str();
  cmd->add_option("--window", o->demo.window, "Sessions in the rolling rate")
      ->capture_default_str();
  cmd->add_option("--plot", o->plot, "Where to write the SVG plot")->capture_default_str();
  cmd->add_option("--data", o->data,
                  "elec2: online against frozen at half way on the real Elec2 stream");
  cmd->add_flag("--json", o->json, "End with one JSON line of the figures");
  cmd->add_flag("--quiet", o->quiet, "Only the JSON line, if asked for");
  return [o] { return demo_command(*o); };
}

}  // namespace rtml::cli
