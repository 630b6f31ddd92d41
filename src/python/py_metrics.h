// PyMetric: River's metric objects (Accuracy, F1, ROCAUC, MAE...) over rtml's metrics.
#pragma once

#include <pybind11/pybind11.h>

#include <optional>
#include <string>
#include <vector>

#include "python/py_convert.h"
#include "rtml/core/labels.h"
#include "rtml/core/target.h"
#include "rtml/learn/metrics/metrics.h"
#include "rtml/learn/model.h"

namespace rtml::python {

// One metric, updated one event at a time with update(y_true, y_pred) as River's are: a
// classification metric takes a class (str, bool, int, float) or a dict of class to
// probability as y_pred, a regression metric numbers. Classes are learned as they come.
// Not thread-safe: one Python thread updates it (under the GIL).
class PyMetric {
 public:
  enum class Kind { kAccuracy, kF1, kMacroF1, kLogLoss, kRocAuc, kMAE, kRMSE, kR2 };
  // pos_val: the positive class of F1 and ROCAUC; by default the greater of the first
  // two classes seen (True over False, 1 over 0, "UP" over "DOWN"), as rtml eval has it.
  PyMetric(Kind kind, py::object pos_val);

  void update(py::handle y_true, py::handle y_pred);
  // A model's prediction p for an event of label y, its classes named by labels (a
  // classifier's), without Python objects: progressive_val_score's path.
  void update_prediction(const Labels& labels, const Prediction& p, const Target& y,
                         bool regression);
  // An anomaly detector's score (P(anomalous)) for an event of class y, named by
  // labels: for ROCAUC and LogLoss.
  void update_score(const Labels& labels, double score, const Target& y);
  double get() const;
  std::string name() const;
  // River's flags: whether y_pred is a class (or a dict of probabilities), and which way
  // is better.
  bool requires_labels() const { return kind_ != Kind::kLogLoss && kind_ != Kind::kRocAuc; }
  bool bigger_is_better() const;
  bool for_regression() const { return kind_ >= Kind::kMAE; }
  // "Accuracy: 82.21%", "MAE: 0.123456".
  std::string repr() const;

 private:
  uint32_t class_index(std::string_view text) { return *labels_.intern(text, false); }
  // The class index of a Python value; the values met first are recognised by identity
  // (a model hands back the same object for a class every time, iter_csv too).
  uint32_t class_index(py::handle value);
  uint32_t positive() const;
  // Scores event of class t (our index) with p, the probability of the positive class.
  void update_with_score(uint32_t t, double p);
  // Our index of a model's class c (named by labels); UINT32_MAX if not named.
  uint32_t own_index(const Labels& labels, uint32_t c);

  Kind kind_;
  std::optional<std::string> pos_text_;
  Labels labels_;  // the metric's own numbering of the classes
  ClassificationMetrics classification_;
  RegressionMetrics regression_;
  LabelReader reader_;
  std::vector<uint32_t> model_to_own_;  // update_prediction: a model's class index to ours
  std::vector<std::pair<py::object, uint32_t>> known_objects_;  // at most 64
  // Set during update(): reading a value may run Python code that lets another thread
  // update the same metric, which is refused rather than let race.
  bool updating_ = false;
};

}  // namespace rtml::python
