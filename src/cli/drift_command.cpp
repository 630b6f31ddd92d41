// rtml drift: run a drift detector over a stream of numbers.
#include <fmt/core.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "commands.h"
#include "rtml/core/error.h"
#include "rtml/core/excerpt.h"
#include "rtml/core/params.h"
#include "rtml/learn/drift/drift_detector.h"
#include "rtml/learn/registry.h"
#include "rtml/stream/row_source.h"

namespace rtml::cli {
namespace {

struct DriftOptions {
  std::string detector = "adwin";
  std::string data;
  std::string column;
  bool json = false;
};

int run(const DriftOptions& o) {
  // The detector is written like a pipeline step: adwin(delta=0.01).
  auto steps = parse_expression(o.detector);
  if (steps.size() != 1) throw Error("--detector takes one detector, e.g. adwin(delta=0.002)");
  ParamSet params(steps[0].name, steps[0].params);
  auto detector = DriftDetector::make(steps[0].name, params);

  std::vector<uint64_t> drifts, warnings;
  uint64_t n = 0;
  auto feed = [&](double x) {
    ++n;
    detector->update(x);
    if (detector->drift_detected()) {
      drifts.push_back(n);
      if (!o.json) fmt::print("drift at {}\n", n);
    } else if (detector->warning_detected()) {
      warnings.push_back(n);
    }
  };
  if (o.data.empty() || o.data == "-") {
    if (!o.column.empty()) throw Error("--column needs --data");
    std::string line;
    uint64_t line_no = 0;
    while (std::getline(std::cin, line)) {
      ++line_no;
      if (line.empty()) continue;
      double x;
      if (!parse_number(line, x)) {
        std::fprintf(stderr, "rtml: <stdin>:%llu: skipped: expected a number, got '%s'\n",
                     static_cast<unsigned long long>(line_no), excerpt(line, 40).c_str());
        continue;
      }
      feed(x);
    }
  } else {
    if (o.column.empty()) throw Error("--column names the column of --data to watch");
    DecodeOptions opts;
    opts.types[o.column] = ColumnType::kNumeric;
    opts.on_bad_line = [](const BadLine& b) {
      std::fprintf(stderr, "rtml: line %llu: skipped: %s\n",
                   static_cast<unsigned long long>(b.line), b.reason.c_str());
    };
    auto source = open_source(o.data, opts);
    Row row;
    int col = -1;
    while (source->next(row)) {
      if (col < 0) {
        const auto& cols = source->columns();
        for (size_t i = 0; i < cols.size(); ++i) {
          if (cols[i].name == o.column) col = static_cast<int>(i);
        }
        if (col < 0) throw Error(o.data + ": no column named '" + o.column + "'");
      }
      if (static_cast<size_t>(col) < row.values.size() &&
          row.values[col].kind == ValueKind::kNumber) {
        feed(row.values[col].number);
      }
    }
  }
  if (o.json) {
    nlohmann::ordered_json j;
    j["detector"] = params.canonical();
    j["values"] = n;
    j["drifts"] = drifts;
    j["warnings"] = warnings.size();
    fmt::print("{}\n", j.dump());
  } else {
    fmt::print("{} values, {} drifts detected by {}\n", n, drifts.size(), params.canonical());
  }
  return 0;
}

}  // namespace

std::function<int()> add_drift_command(CLI::App& app) {
  auto o = std::make_shared<DriftOptions>();
  auto* cmd = app.add_subcommand(
      "drift", "Detect concept drift in a stream of numbers (stdin, one per line, or a column)");
  cmd->add_option("--detector", o->detector,
                  "adwin, page_hinkley or ddm, with parameters: adwin(delta=0.002)");
  cmd->add_option("--data", o->data,
                  "A CSV/JSON Lines file or synth: spec (default: numbers on stdin)");
  cmd->add_option("--column", o->column, "The column of --data to watch");
  cmd->add_flag("--json", o->json, "Print one JSON object");
  return [o] { return run(*o); };
}

std::function<int()> add_models_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("models", "List the models and transforms a pipeline can use");
  (void)cmd;
  return [] {
    size_t width = 0;
    for (const auto& c : components()) width = std::max(width, c.name.size());
    for (const auto& c : components()) {
      fmt::print("{:<{}} {:<10} {}\n", c.name, width, c.make_model ? "model" : "transform",
                 c.summary);
    }
    return 0;
  };
}

}  // namespace rtml::cli
