// ProgressiveValidation: test-then-train evaluation of a pipeline over a stream, with
// optionally delayed labels and rolling-window metrics.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "rtml/learn/metrics/metrics.h"
#include "rtml/learn/pipeline.h"
#include "rtml/learn/prediction_log.h"

namespace rtml {

// Each event is predicted first, scored against its label, and learned from after.
// With delay N the label of an event becomes known only N events later: the pipeline
// learns then, from the features the event was predicted with (kept in a PredictionLog
// by event number, so nothing is recomputed later). With window W, metrics over the
// last W events are kept beside the cumulative ones. Memory follows what is held, not N
// or W: the log grows up to N events as they wait, the window's record up to W events
// as they come, so a delay longer than the stream costs the stream. Allocates nothing
// per event in steady state (once both are full). Not thread-safe.
class ProgressiveValidation {
 public:
  // The metrics follow the classes as they come (see metrics()).
  explicit ProgressiveValidation(Pipeline& pipeline, size_t delay = 0, size_t window = 0);

  // Predicts on x, scores the prediction against y, and learns (now, or delay events
  // later).
  void process(const Features& x, const Target& y);
  // Scores a prediction made elsewhere against its label, without touching the pipeline:
  // for a caller that predicts and learns itself (the runtime), built with delay 0.
  void score(const Prediction& p, const Target& y);
  // Learns from every event still waiting for its label (the stream has ended).
  void finish();

  uint64_t events() const { return events_; }
  // The last prediction process() made (score() keeps none).
  const Prediction& last_prediction() const { return prediction_; }
  // Cumulative metrics by name (see ClassificationMetrics/RegressionMetrics::report): a
  // binary model's, or those of two classes while the target has shown at most two (F1
  // of pipeline.labels().positive()), else the multiclass ones.
  std::map<std::string, double> metrics() const;
  // Metrics over the last `window` events; empty without a window.
  std::map<std::string, double> rolling_metrics() const;
  // The name of the main metric for this task (accuracy or mae) and its current value.
  std::pair<std::string, double> headline() const;

 private:
  struct Scored {
    uint32_t y_true;
    bool has_pred;
    uint32_t y_pred;
    double p_true, p_class0, p_class1;
    double value, predicted;  // regression
    bool has_interval;
    double lower, upper;
  };
  Scored scored(const Prediction& p, const Target& y) const;
  std::map<std::string, double> report(const ClassificationMetrics& m) const;

  Pipeline& pipeline_;
  bool regression_;
  bool detector_;  // an anomaly detector: learns without labels, its class 1 is "anomalous"
  size_t delay_;
  size_t window_;
  uint64_t events_ = 0;
  Prediction prediction_;
  ClassificationMetrics classification_, rolling_classification_;
  RegressionMetrics regression_metrics_, rolling_regression_;
  std::vector<Scored> recent_;  // ring of the last window_ scored events
  size_t recent_next_ = 0;
  // Learns event `event` from the features it was predicted with and its target.
  void learn_logged(uint64_t event);
  PredictionLog log_;            // the events waiting for their label, by event number
  std::vector<Target> targets_;  // their targets, by event number modulo delay_
};

}  // namespace rtml
