// The engine behind `rtml eval`: decode a source, featurize each row, and run
// progressive validation of a pipeline over it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "rtml/learn/pipeline.h"

namespace rtml::cli {

class StopSignals;

struct EvalConfig {
  std::string data;    // path or synth: spec
  std::string target;  // target column name
  std::set<std::string> drop;
  std::set<std::string> categorical;  // columns forced categorical
  std::set<std::string> numeric;      // columns forced numeric
  std::optional<std::string> positive;
  size_t delay = 0;
  size_t window = 0;
  bool strict = false;
  bool progress = false;  // live progress line on stderr
  int threads = 2;        // 2: decode on a second thread
  size_t max_bad_line_reports = 10;
  // If set, one line per event is written there: the predicted class and P(class 1)
  // (or the top probability), or the predicted value.
  std::string output;
  // If set, a drift detector ("adwin(delta=0.002)") watches the model's error stream
  // (0/1 mistakes, or absolute errors for regression).
  std::string drift;
  // If > 0, a forecaster (holt_winters, snarimax) also forecasts this many values ahead
  // before each value, and each value is scored against the forecasts that covered it
  // (EvalResult::horizon). Needs delay 0.
  size_t horizon = 0;
  // If set, a signal it catches stops the run: nothing more is read from the input (a
  // read waiting for input returns at once), the rows already read are evaluated, and
  // run_eval returns what it saw, with EvalResult::signal set.
  const StopSignals* stop = nullptr;
};

struct EvalResult {
  uint64_t events = 0;
  uint64_t skipped = 0;  // bad lines plus rows without a usable target
  uint64_t non_finite = 0;
  uint64_t dropped_categories = 0;  // new categories past their column's limit, left out
  size_t category_limit = 0;        // that limit (Pipeline::category_limit())
  std::map<std::string, double> metrics;
  std::map<std::string, double> rolling;
  std::map<std::string, double> horizon;  // HorizonMetrics::report() under --horizon
  double seconds = 0;
  bool binary = false;
  std::vector<uint64_t> drifts;  // event numbers where the detector fired
  int signal = 0;                // the signal that stopped the run early, or 0
};

// Runs progressive validation of pipeline over config.data. Throws Error for a
// missing file, an unknown target column, a categorical column the pipeline cannot
// encode, (with strict) a bad line, or a run that evaluated no event (unless stopped by
// a signal: see EvalConfig::stop).
EvalResult run_eval(const EvalConfig& config, Pipeline& pipeline);

}  // namespace rtml::cli
