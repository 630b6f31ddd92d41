// How every front end reports a classifier's prediction.
#pragma once

#include "rtml/learn/pipeline.h"

namespace rtml::runtime {

// True for a classifier whose class indices are its labels' (not an anomaly detector).
inline bool names_classes(const Pipeline& pipeline) {
  return pipeline.task() != Task::kRegression && pipeline.model().needs_target();
}

// Settles a prediction of such a classifier: a class the target has not shown is no
// opinion (an untrained binary model's tie names class 0 before any class has that
// index, or the named positive before it is seen), and a tie between two classes goes to
// the negative one, whichever came first.
[[gnu::always_inline]] inline void settle_prediction(const Pipeline& pipeline, Prediction& out) {
  if (!out.has_label) return;
  const Labels& l = pipeline.labels();
  if (out.proba.size() == 2 && out.proba[0] == out.proba[1] && l.size() == 2) {
    out.label = 1 - l.positive();
  }
  if (out.label >= l.size() || l.name(out.label).empty()) out.has_label = false;
}

}  // namespace rtml::runtime
