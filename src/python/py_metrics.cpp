#include "python/py_metrics.h"

#include <cmath>
#include <cstdio>

namespace rtml::python {
namespace {

double number_of(py::handle v, const char* what) {
  double d = PyFloat_AsDouble(v.ptr());
  if (d == -1.0 && PyErr_Occurred()) {
    PyErr_Clear();
    throw py::value_error(std::string(what) + " is a " + type_name(v) + ", not a number");
  }
  return d;
}

}  // namespace

PyMetric::PyMetric(Kind kind, py::object pos_val) : kind_(kind) {
  if (!pos_val.is_none()) {
    ClassType type;
    pos_text_ = std::string(reader_.read(pos_val, false, type).text);
  }
}

uint32_t PyMetric::positive() const {
  if (pos_text_) {
    if (auto c = labels_.find(*pos_text_)) return *c;
    return UINT32_MAX;  // not seen yet: every event is a negative one
  }
  return labels_.positive();
}

uint32_t PyMetric::class_index(py::handle value) {
  for (const auto& [object, index] : known_objects_) {
    if (object.ptr() == value.ptr()) return index;
  }
  ClassType type;
  const uint32_t index = class_index(reader_.read(value, false, type).text);
  if (known_objects_.size() < 64) {
    known_objects_.emplace_back(py::reinterpret_borrow<py::object>(value), index);
  }
  return index;
}

void PyMetric::update(py::handle y_true, py::handle y_pred) {
  if (updating_) throw py::value_error("the metric is being updated by another call");
  struct Updating {
    bool& flag;
    explicit Updating(bool& f) : flag(f) { flag = true; }
    ~Updating() { flag = false; }
  } updating(updating_);
  if (for_regression()) {
    regression_.update(number_of(y_true, "y_true"), number_of(y_pred, "y_pred"));
    return;
  }
  const uint32_t t = class_index(y_true);
  bool has_pred = false;
  uint32_t pred = 0;
  double p_true = 0, p0 = 0, p1 = 0;
  if (PyDict_Check(y_pred.ptr())) {
    PyObject *k = nullptr, *v = nullptr;
    Py_ssize_t pos = 0;
    double best = -1;
    while (PyDict_Next(y_pred.ptr(), &pos, &k, &v)) {
      const uint32_t c = class_index(py::handle(k));
      const double p = number_of(v, "a probability");
      if (p > best) {
        best = p;
        pred = c;
        has_pred = true;
      }
      if (c == t) p_true = p;
      if (c == 0) p0 = p;
      if (c == 1) p1 = p;
    }
  } else if (!requires_labels() && PyFloat_Check(y_pred.ptr())) {
    // ROCAUC and LogLoss, as River's: a number is the probability of the positive class
    // (an anomaly detector's score).
    update_with_score(t, PyFloat_AS_DOUBLE(y_pred.ptr()));
    return;
  } else if (!y_pred.is_none()) {
    pred = class_index(y_pred);
    has_pred = true;
    p_true = pred == t ? 1.0 : 0.0;
    p0 = pred == 0 ? 1.0 : 0.0;
    p1 = pred == 1 ? 1.0 : 0.0;
  }
  classification_.update(t, has_pred, pred, p_true, p0, p1);
}

void PyMetric::update_with_score(uint32_t t, double p) {
  // Both framings get p (see ClassificationMetrics::update): whichever class turns out
  // to be the positive one is ranked by it.
  const uint32_t pos = positive();
  const bool positive_known = pos != UINT32_MAX && pos < labels_.size();
  const uint32_t other = pos == 0 ? 1 : 0;
  const uint32_t pred = p > 0.5 ? pos : other;
  const double p_true = t == pos ? p : 1 - p;
  classification_.update(t, positive_known && pred < labels_.size(), pred, p_true, p, p);
}

uint32_t PyMetric::own_index(const Labels& labels, uint32_t c) {
  for (uint32_t k = static_cast<uint32_t>(model_to_own_.size()); k < labels.size(); ++k) {
    if (labels.name(k).empty()) break;  // a named positive not seen yet
    model_to_own_.push_back(class_index(labels.name(k)));
  }
  return c < model_to_own_.size() ? model_to_own_[c] : UINT32_MAX;
}

void PyMetric::update_score(const Labels& labels, double score, const Target& y) {
  const uint32_t t = own_index(labels, y.label);
  if (t != UINT32_MAX) update_with_score(t, score);
}

void PyMetric::update_prediction(const Labels& labels, const Prediction& p, const Target& y,
                                 bool regression) {
  if (regression || for_regression()) {
    regression_.update(y.value, p.value);
    return;
  }
  const uint32_t t = own_index(labels, y.label);
  if (t == UINT32_MAX) return;  // a class not named: not scored
  double p_true = 0, p0 = 0, p1 = 0;
  for (uint32_t c = 0; c < p.proba.size() && c < model_to_own_.size(); ++c) {
    const uint32_t own = model_to_own_[c];
    if (own == t) p_true = p.proba[c];
    if (own == 0) p0 = p.proba[c];
    if (own == 1) p1 = p.proba[c];
  }
  const bool has_pred = p.has_label && p.label < model_to_own_.size();
  classification_.update(t, has_pred, has_pred ? model_to_own_[p.label] : 0, p_true, p0, p1);
}

double PyMetric::get() const {
  switch (kind_) {
    case Kind::kAccuracy:
      return classification_.accuracy();
    case Kind::kF1:
      return positive() == UINT32_MAX ? 0.0 : classification_.f1(positive());
    case Kind::kMacroF1:
      return classification_.macro_f1();
    case Kind::kLogLoss:
      return classification_.log_loss();
    case Kind::kRocAuc:
      return positive() == UINT32_MAX ? 0.0 : classification_.roc_auc(positive());
    case Kind::kMAE:
      return regression_.mae();
    case Kind::kRMSE:
      return regression_.rmse();
    case Kind::kR2:
      return regression_.r2();
  }
  return 0;
}

std::string PyMetric::name() const {
  static const char* const names[] = {"Accuracy", "F1",  "MacroF1", "LogLoss",
                                      "ROCAUC",   "MAE", "RMSE",    "R2"};
  return names[static_cast<int>(kind_)];
}

bool PyMetric::bigger_is_better() const {
  return kind_ != Kind::kLogLoss && kind_ != Kind::kMAE && kind_ != Kind::kRMSE;
}

std::string PyMetric::repr() const {
  char buf[64];
  const bool percent = kind_ == Kind::kAccuracy || kind_ == Kind::kF1 || kind_ == Kind::kMacroF1 ||
                       kind_ == Kind::kRocAuc;
  if (percent) {
    std::snprintf(buf, sizeof buf, "%.2f%%", 100 * get());
  } else {
    std::snprintf(buf, sizeof buf, "%.6f", get());
  }
  return name() + ": " + buf;
}

}  // namespace rtml::python
