// How the model selectors score their candidates: one running metric per model, on
// predictions made before each event is learned (progressive validation).
#pragma once

#include <cmath>
#include <string>

#include "rtml/core/binary_io.h"
#include "rtml/core/target.h"
#include "rtml/learn/model.h"

namespace rtml::selection {

// accuracy (classifiers), mae or rmse (regressors).
enum class ScoreKind : uint8_t { kAccuracy, kMae, kRmse };

struct RunningScore {
  double sum = 0, n = 0;

  void update(ScoreKind kind, const Prediction& p, const Target& y) {
    n += 1;
    switch (kind) {
      case ScoreKind::kAccuracy:
        sum += p.has_label && p.label == y.label ? 1.0 : 0.0;
        return;
      case ScoreKind::kMae:
        sum += std::abs(y.value - p.value);
        return;
      case ScoreKind::kRmse:
        sum += (y.value - p.value) * (y.value - p.value);
        return;
    }
  }
  // The metric (0 before any event).
  double value(ScoreKind kind) const {
    if (n == 0) return 0;
    return kind == ScoreKind::kRmse ? std::sqrt(sum / n) : sum / n;
  }
  // True if this score is better than other's (accuracy: higher; errors: lower). A model
  // not scored yet is never better.
  bool better_than(const RunningScore& other, ScoreKind kind) const {
    if (n == 0) return false;
    if (other.n == 0) return true;
    return kind == ScoreKind::kAccuracy ? value(kind) > other.value(kind)
                                        : value(kind) < other.value(kind);
  }
  void save(BinaryWriter& out) const {
    out.put(sum);
    out.put(n);
  }
  void load(BinaryReader& in) {
    sum = in.get<double>();
    n = in.get<double>();
    if (!(n >= 0) || !std::isfinite(sum)) in.fail("model selection: a score");
  }
};

// The metric parameter: auto is accuracy for classifiers and mae for regressors.
inline ScoreKind score_kind(const std::string& name, Task task) {
  if (name == "accuracy") return ScoreKind::kAccuracy;
  if (name == "mae") return ScoreKind::kMae;
  if (name == "rmse") return ScoreKind::kRmse;
  return task == Task::kRegression ? ScoreKind::kMae : ScoreKind::kAccuracy;
}

inline bool fits(ScoreKind kind, Task task) {
  return (kind == ScoreKind::kAccuracy) == (task != Task::kRegression);
}

}  // namespace rtml::selection
