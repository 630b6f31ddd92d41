// rtml bench: every model on every data set present, as a table of quality, speed and
// memory. Each run is a child `rtml eval --json`, so peak memory is per run.
#include <fmt/core.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "bench_run.h"
#include "bench_scale.h"
#include "bench_serve.h"
#include "bench_store.h"
#include "commands.h"
#include "process_stats.h"
#include "rtml/core/error.h"

namespace rtml::cli {
namespace {

enum class Kind { kBinary, kMulticlass, kRegression };

struct DataSet {
  std::string file;
  std::string target;
  Kind kind;
  std::string extra;  // more eval arguments
};

const std::vector<DataSet>& data_sets() {
  static const std::vector<DataSet> sets = {
      {"elec2.csv.gz", "class", Kind::kBinary, ""},
      {"phishing.csv.gz", "is_phishing", Kind::kBinary, ""},
      {"bananas.csv.gz", "label", Kind::kBinary, ""},
      {"weather.csv.gz", "rain", Kind::kBinary, ""},
      {"ctr_kdd2012_small.csv.gz", "click", Kind::kBinary,
       "--categorical impression,url_hash,ad_id,advertiser_id,depth,position,query_id,keyword_id,"
       "title_id,description_id,user_id"},
      {"image_segments.csv.gz", "category", Kind::kMulticlass, ""},
      {"chick_weights.csv.gz", "weight", Kind::kRegression, ""},
      {"trump_approval.csv.gz", "five_thirty_eight", Kind::kRegression, ""},
      {"synth:ratings?n=200000", "rating", Kind::kRegression, ""},
  };
  return sets;
}

std::vector<std::string> models_for(const DataSet& d) {
  if (d.file.rfind("synth:ratings", 0) == 0) {
    return {"running_mean", "funk_mf(user=user, item=item)", "biased_mf(user=user, item=item)",
            "biased_mf(user=user, item=item, lr=0.05)", "fm(user=user, item=item)"};
  }
  if (d.file.rfind("ctr_", 0) == 0) {
    return {"feature_hasher(bits=20) | logistic_regression(optimizer=ftrl)",
            "one_hot | logistic_regression(optimizer=adagrad, lr=0.05)", "one_hot | multinomial_nb",
            // The trees read the ids as categories themselves.
            "hoeffding_tree", "hoeffding_adaptive_tree(seed=42)",
            "adaptive_random_forest(seed=42)"};
  }
  switch (d.kind) {
    case Kind::kBinary:
      return {"standard_scaler | logistic_regression(optimizer=sgd, lr=0.005)",
              "standard_scaler | logistic_regression(optimizer=adagrad)",
              "standard_scaler | logistic_regression(optimizer=adam, lr=0.01)",
              "standard_scaler | logistic_regression(optimizer=ftrl)",
              "standard_scaler | perceptron",
              "standard_scaler | pa_classifier",
              "standard_scaler | softmax_regression",
              "gaussian_nb",
              "hoeffding_tree",
              "hoeffding_adaptive_tree(seed=42)",
              "adaptive_random_forest(seed=42)",
              "leveraging_bagging(seed=42)",
              "streaming_random_patches(seed=42)",
              "oza_bagging(seed=42)",
              "adwin_bagging(seed=42)",
              "oza_boosting(seed=42)",
              "standard_scaler | alma",
              "successive_halving(models=[gaussian_nb, hoeffding_tree, "
              "leveraging_bagging(n_models=5)], budget=20000)",
              "standard_scaler | knn(window_size=100)",
              "standard_scaler | knn",
              "min_max_scaler | half_space_trees"};
    case Kind::kMulticlass:
      return {"gaussian_nb",
              "standard_scaler | softmax_regression",
              "min_max_scaler | multinomial_nb",
              "hoeffding_tree",
              "hoeffding_adaptive_tree(seed=42)",
              "adaptive_random_forest(seed=42)",
              "leveraging_bagging(seed=42)",
              "streaming_random_patches(seed=42)",
              "oza_boosting(seed=42)",
              "standard_scaler | knn(window_size=100)",
              "standard_scaler | knn"};
    case Kind::kRegression:
      return {"standard_scaler | linear_regression",
              "standard_scaler | linear_regression(l1=1)",
              "standard_scaler | linear_regression(l2=1)",
              "standard_scaler | pa_regressor(mode=1)",
              "standard_scaler | pa_regressor(mode=2)",
              "standard_scaler | knn_regressor(window_size=100)",
              "standard_scaler | knn_regressor",
              "standard_scaler | hoeffding_tree_regressor",
              "standard_scaler | hoeffding_adaptive_tree_regressor(seed=42)",
              "standard_scaler | adaptive_random_forest_regressor(seed=42)",
              "standard_scaler | conformal(confidence=0.9)",
              "standard_scaler | conformal(model=knn_regressor, confidence=0.9)",
              "running_mean"};
  }
  return {};
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q += c;
    }
  }
  return q + "'";
}

struct BenchOptions {
  bool markdown = false;
  std::string only;  // run only data sets whose file name contains this
};

int run(const BenchOptions& o) {
  std::string dir = find_data_dir();
  if (dir.empty()) throw Error("no data sets found: set RTML_DATA to the datasets folder");
  std::string exe = std::filesystem::read_symlink("/proc/self/exe").string();
  struct Line {
    std::string data, model, metric;
    double value, eps, rss;
  };
  std::vector<Line> lines;
  for (const auto& d : data_sets()) {
    bool synthetic = d.file.rfind("synth:", 0) == 0;
    std::string path = synthetic ? d.file : dir + "/" + d.file;
    if (!synthetic && !std::filesystem::exists(path)) continue;
    if (!o.only.empty() && d.file.find(o.only) == std::string::npos) continue;
    for (const auto& m : models_for(d)) {
      std::string cmd = shell_quote(exe) + " eval --json --quiet --data " + shell_quote(path) +
                        " --target " + shell_quote(d.target) + " --model " + shell_quote(m) + " " +
                        d.extra + " 2>/dev/null";
      FILE* p = popen(cmd.c_str(), "r");
      if (!p) throw Error("cannot run " + exe);
      std::string out;
      char buf[4096];
      while (size_t n = fread(buf, 1, sizeof(buf), p)) out.append(buf, n);
      int rc = pclose(p);
      std::string name = d.file.substr(0, d.file.find(synthetic ? '?' : '.'));
      if (rc != 0) {
        std::fprintf(stderr, "rtml bench: %s with %s failed\n", name.c_str(), m.c_str());
        continue;
      }
      auto last = out.find_last_of('\n', out.size() - 2);
      auto j = nlohmann::json::parse(out.substr(last == std::string::npos ? 0 : last + 1));
      // An anomaly detector is judged by how it ranks, not by a 0.5 threshold.
      std::string metric = d.kind == Kind::kRegression                       ? "mae"
                           : m.find("half_space_trees") != std::string::npos ? "roc_auc"
                                                                             : "accuracy";
      lines.push_back(Line{name, m, metric, j["metrics"][metric].get<double>(),
                           j["events_per_second"].get<double>(), j["peak_rss_mb"].get<double>()});
      if (!o.markdown) {
        const auto& l = lines.back();
        fmt::print("{:<18} {:<64} {:<8} {:>8.4f} {:>12.0f} {:>8.1f}\n", l.data, l.model, l.metric,
                   l.value, l.eps, l.rss);
        std::fflush(stdout);
      }
    }
  }
  if (o.markdown) {
    fmt::print("| data set | model | metric | value | events/s | peak MiB |\n");
    fmt::print("|---|---|---|---:|---:|---:|\n");
    for (const auto& l : lines) {
      std::string model;  // a pipe inside a Markdown table cell must be escaped
      for (char ch : l.model) model += ch == '|' ? std::string("\\|") : std::string(1, ch);
      fmt::print("| {} | `{}` | {} | {:.4f} | {:.0f} | {:.1f} |\n", l.data, model, l.metric,
                 l.value, l.eps, l.rss);
    }
  }
  return 0;
}

}  // namespace

std::function<int()> add_bench_command(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  auto* cmd = app.add_subcommand(
      "bench", "Every model on every data set present: metric, events/s, peak memory");
  cmd->add_flag("--markdown", o->markdown, "Print the table as Markdown");
  cmd->add_option("--only", o->only, "Only data sets whose file name contains this");
  auto so = std::make_shared<BenchStoreOptions>();
  auto* store = cmd->add_subcommand(
      "store",
      "Feature store latency and throughput: embedded (WAL off, every=10ms, always) and Redis");
  store->add_flag("--json", so->json, "Print one JSON object with the rows");
  store->add_option("--entities", so->entities, "Entities of 8 numeric features (default 1000000)");
  store->add_option("--ops", so->ops,
                    "Puts per thread and row, and Redis gets (default 200000; at most 3000 "
                    "for fsync=always and 20000 for Redis)");
  store->add_option("--get-ops", so->get_ops, "Embedded gets per thread and row (default 2000000)");
  store->add_flag("--no-redis", so->no_redis, "Skip the Redis rows");
  store->add_flag("--redis-only", so->redis_only,
                  "Only the Redis rows, beside redis-benchmark's pipelined HGETALL");
  store->add_flag("--memory-only", so->memory_only,
                  "Only load --entities into memory and print the peak RSS per entity");
  auto ro = std::make_shared<BenchRunOptions>();
  auto* runc = cmd->add_subcommand(
      "run", "The runtime end to end (rtml run's path) on Elec2 x20: events/s, and latency paced");
  runc->add_flag("--json", ro->json, "Print one JSON line");
  runc->add_option("--copies", ro->copies, "Elec2 copies replayed (default 20)");
  runc->add_option("--paced-events", ro->paced_events, "Events replayed paced (default 300000)");
  runc->add_option("--rate", ro->paced_rate, "Paced rate, events/s (default 100000)");
  auto vo = std::make_shared<BenchServeOptions>();
  auto* servec = cmd->add_subcommand(
      "serve",
      "rtml serve over loopback beside an echo server: pipelined, request-reply, paced lookups, "
      "batches, wrk");
  servec->add_flag("--json", vo->json, "Only the JSON line");
  servec->add_option("--pipelined", vo->pipelined, "Pipelined predictions (default 400000)");
  servec->add_option("--requests", vo->request_reply, "Request-reply requests (default 20000)");
  servec->add_option("--paced", vo->paced, "Paced predictions at 10,000/s (default 20000)");
  servec->add_option("--batches", vo->batches, "Batch requests of 1,000 events (default 300)");
  servec->add_option("--threads", vo->threads, "The servers' HTTP threads (default 1)");
  servec->add_flag("--no-wrk", vo->no_wrk, "Skip the wrk rows");
  auto co = std::make_shared<BenchScaleOptions>();
  auto* scalec = cmd->add_subcommand(
      "scale", "rtml run workers of one consumer group on a Redis stream: 1 and 2 workers");
  scalec->add_flag("--json", co->json, "Print one JSON line");
  scalec->add_option("--events", co->events, "Events in the stream (default 200000)");
  scalec->add_option("--workers", co->workers, "Worker counts, a row each (default 1 2)");
  scalec->add_flag("--checkpoint", co->checkpoint,
                   "Workers checkpoint every second (default: acknowledged every 100 ms)");
  return [o, so, store, ro, runc, vo, servec, co, scalec] {
    if (scalec->parsed()) return run_bench_scale(*co);
    if (servec->parsed()) return run_bench_serve(*vo);
    if (store->parsed()) return run_bench_store(*so);
    if (runc->parsed()) return run_bench_run(*ro);
    return run(*o);
  };
}

}  // namespace rtml::cli
