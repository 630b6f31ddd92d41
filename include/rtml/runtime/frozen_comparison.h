// A model that keeps learning against the same model frozen part way, on a labelled
// stream (rtml demo --data elec2).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace rtml::runtime {

struct FrozenComparisonOptions {
  std::string source;  // a labelled stream, as rtml eval --data reads it
  std::string target = "class";
  std::string model = "standard_scaler | logistic_regression";
  uint64_t freeze_at = 0;  // events; 0: half the stream (which is then read twice: a file)
  uint64_t window = 1000;  // events in the rolling accuracy
};

struct FrozenComparisonResult {
  uint64_t events = 0, freeze_at = 0;
  // Accuracy (progressive: each event predicted before it is learned from, if it is).
  double online_before = 0, online_after = 0, frozen_after = 0;
  std::vector<double> curve_x;  // event index of each curve point
  std::vector<double> online_rolling, frozen_rolling;
  bool stopped = false;
};

// Runs two runtimes over the same rows of a classification stream: online predicts then
// learns every event; frozen does the same until freeze_at, then only predicts. Throws
// Error for a source that cannot be read or a model that is not a classifier.
FrozenComparisonResult compare_with_frozen(const FrozenComparisonOptions& options,
                                           const std::function<bool()>& stop = {});

}  // namespace rtml::runtime
