#include "bench_run.h"

#include <fmt/core.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "process_stats.h"
#include "rtml/core/error.h"
#include "rtml/runtime/run.h"

namespace rtml::cli {
namespace {

namespace fs = std::filesystem;

// The gzipped CSV at path, its header once and its rows `copies` times, into out.
void write_copies(const std::string& path, int copies, const std::string& out) {
  gzFile in = gzopen(path.c_str(), "rb");
  if (!in) throw Error(path + ": cannot open");
  std::string text;
  char buf[1 << 16];
  for (int n; (n = gzread(in, buf, sizeof(buf))) > 0;) text.append(buf, static_cast<size_t>(n));
  gzclose(in);
  size_t header = text.find('\n') + 1;
  if (header == 0) throw Error(path + ": no header line");
  if (text.back() != '\n') text += '\n';
  std::ofstream f(out, std::ios::binary);
  f.write(text.data(), static_cast<std::streamsize>(header));
  for (int i = 0; i < copies; ++i) {
    f.write(text.data() + header, static_cast<std::streamsize>(text.size() - header));
  }
  if (!f) throw Error(out + ": cannot write");
}

runtime::RunConfig config(const std::string& data, const std::string& sink, double rate) {
  runtime::RunConfig c;
  c.file = "rtml bench run";
  c.events.path = data;
  c.events.rate = rate;
  c.model.expression = "standard_scaler | logistic_regression";
  c.model.target = "class";
  c.store = runtime::RunConfig::Store{};
  c.store->aggregates = {"period_price = mean(nswprice) by period decay 1h"};
  c.enrich = {{"period", {"period_price"}}};
  c.sinks.predictions = sink;
  return c;
}

}  // namespace

int run_bench_run(const BenchRunOptions& o) {
  const std::string dir = find_data_dir();
  const std::string elec2 = dir + "/elec2.csv.gz";
  if (dir.empty() || !fs::exists(elec2)) {
    throw Error("rtml bench run replays Elec2: " + elec2 +
                " not found (set RTML_DATA to the datasets folder)");
  }
  fs::path tmp = fs::temp_directory_path() / fmt::format("rtml-bench-run-{}", ::getpid());
  fs::create_directories(tmp);
  struct Cleanup {
    fs::path p;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(p, ec);
    }
  } cleanup{tmp};
  const std::string data = (tmp / "elec2x.csv").string();
  write_copies(elec2, o.copies, data);

  // As fast as it goes.
  runtime::RunSummary fast = runtime::run(config(data, (tmp / "p.jsonl").string(), 0));
  const double eps = fast.seconds > 0 ? fast.events / fast.seconds : 0;
  // Paced: the first paced_events at paced_rate (the file cut to them).
  const std::string paced_data = (tmp / "paced.csv").string();
  {
    std::ifstream in(data, std::ios::binary);
    std::ofstream out(paced_data, std::ios::binary);
    std::string line;
    for (uint64_t n = 0; n <= o.paced_events && std::getline(in, line); ++n) out << line << '\n';
  }
  runtime::RunSummary paced =
      runtime::run(config(paced_data, (tmp / "paced.jsonl").string(), o.paced_rate));

  if (o.json) {
    nlohmann::ordered_json j = {{"events", fast.events},
                                {"seconds", fast.seconds},
                                {"events_per_second", eps},
                                {"paced_events", paced.events},
                                {"p50_ms_at_100k", paced.latency_p50_ms},
                                {"p99_ms_at_100k", paced.latency_p99_ms},
                                {"max_ms_at_100k", paced.latency_max_ms}};
    fmt::print("{}\n", j.dump());
  } else {
    fmt::print(
        "rtml bench run: Elec2 x{} through rtml run's path (standard_scaler | "
        "logistic_regression, one store read and one aggregate update per event, by "
        "period; JSON Lines predictions)\n",
        o.copies);
    fmt::print("| replay | events | seconds | events/s | p50 ms | p99 ms | max ms |\n");
    fmt::print("|---|---:|---:|---:|---:|---:|---:|\n");
    fmt::print("| as fast as it goes | {} | {:.3f} | {:.0f} | | | |\n", fast.events, fast.seconds,
               eps);
    fmt::print("| paced at {:.0f}/s | {} | {:.3f} | {:.0f} | {:.3f} | {:.3f} | {:.3f} |\n",
               o.paced_rate, paced.events, paced.seconds,
               paced.seconds > 0 ? paced.events / paced.seconds : 0, paced.latency_p50_ms,
               paced.latency_p99_ms, paced.latency_max_ms);
  }
  return 0;
}

}  // namespace rtml::cli
