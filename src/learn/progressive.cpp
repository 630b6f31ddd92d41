#include "rtml/learn/progressive.h"

#include <algorithm>
#include <string>

#include "rtml/core/error.h"

namespace rtml {

ProgressiveValidation::ProgressiveValidation(Pipeline& pipeline, size_t delay, size_t window)
    : pipeline_(pipeline),
      regression_(pipeline.task() == Task::kRegression),
      detector_(!pipeline.model().needs_target()),
      delay_(delay),
      window_(window),
      log_({.max_entries = std::max<size_t>(delay, 1)}) {}

ProgressiveValidation::Scored ProgressiveValidation::scored(const Prediction& p,
                                                            const Target& y) const {
  Scored s{};
  if (regression_) {
    s.value = y.value;
    s.predicted = p.value;
    s.has_interval = p.has_interval;
    s.lower = p.lower;
    s.upper = p.upper;
    return s;
  }
  s.y_true = y.label;
  s.has_pred = p.has_label;
  s.y_pred = p.label;
  s.p_true = y.label < p.proba.size() ? p.proba[y.label] : 0.0;
  s.p_class0 = p.proba.size() > 0 ? p.proba[0] : 0.0;
  s.p_class1 = p.proba.size() > 1 ? p.proba[1] : 0.0;
  // An anomaly detector's class 1 is "anomalous", whatever index the labels gave the
  // positive class: its prediction is read in the labels' numbering. (Its ROC AUC is
  // kept on the raw score: see report.)
  if (detector_ && p.proba.size() == 2 && pipeline_.labels().positive() == 0) {
    s.y_pred = 1 - p.label;
    s.p_true = y.label < 2 ? p.proba[1 - y.label] : 0.0;
  }
  return s;
}

void ProgressiveValidation::process(const Features& x, const Target& y) {
  if (delay_ == 0) {
    pipeline_.predict_then_learn(x, y, prediction_);
  } else {
    pipeline_.predict(x, prediction_);
    // The label of event i comes delay_ events later: the pipeline learns it then, from
    // the features event i was predicted with.
    if (events_ >= delay_) learn_logged(events_ - delay_);
    const size_t at = static_cast<size_t>(events_ % delay_);
    if (at == targets_.size()) {
      targets_.push_back(y);
    } else {
      targets_[at] = y;
    }
    if (!log_.log(EventId::of_number(events_), 0.0, x, prediction_)) {
      throw Error("progressive validation: event " + std::to_string(events_) + " logged twice");
    }
  }
  score(prediction_, y);
}

void ProgressiveValidation::score(const Prediction& p, const Target& y) {
  ++events_;
  Scored s = scored(p, y);
  if (regression_) {
    regression_metrics_.update(s.value, s.predicted);
    if (s.has_interval) regression_metrics_.update_interval(s.value, s.lower, s.upper);
  } else {
    classification_.update(s.y_true, s.has_pred, s.y_pred, s.p_true, s.p_class0, s.p_class1);
  }
  if (window_ == 0) return;
  if (recent_.size() == window_) {
    const Scored& old = recent_[recent_next_];
    if (regression_) {
      rolling_regression_.update(old.value, old.predicted, -1.0);
      if (old.has_interval)
        rolling_regression_.update_interval(old.value, old.lower, old.upper, -1.0);
    } else {
      rolling_classification_.update(old.y_true, old.has_pred, old.y_pred, old.p_true, old.p_class0,
                                     old.p_class1, -1.0);
    }
    recent_[recent_next_] = s;
  } else {
    recent_.push_back(s);
  }
  recent_next_ = (recent_next_ + 1) % window_;
  if (regression_) {
    rolling_regression_.update(s.value, s.predicted);
    if (s.has_interval) rolling_regression_.update_interval(s.value, s.lower, s.upper);
  } else {
    rolling_classification_.update(s.y_true, s.has_pred, s.y_pred, s.p_true, s.p_class0,
                                   s.p_class1);
  }
}

void ProgressiveValidation::learn_logged(uint64_t event) {
  LabelRefusal why;
  const PredictionLog::Entry* e = log_.take(EventId::of_number(event), 0.0, &why);
  if (!e) {
    throw Error("progressive validation: event " + std::to_string(event) + ": " +
                std::string(label_refusal_text(why)));
  }
  pipeline_.learn(e->x, targets_[static_cast<size_t>(event % delay_)]);
}

void ProgressiveValidation::finish() {
  if (delay_ == 0) return;
  for (uint64_t event = events_ > delay_ ? events_ - delay_ : 0; event < events_; ++event) {
    learn_logged(event);
  }
}

std::map<std::string, double> ProgressiveValidation::report(const ClassificationMetrics& m) const {
  const Labels& labels = pipeline_.labels();
  return m.report(pipeline_.task() == Task::kBinary || labels.size() <= 2, labels.positive(),
                  detector_);
}

std::map<std::string, double> ProgressiveValidation::metrics() const {
  return regression_ ? regression_metrics_.report() : report(classification_);
}

std::map<std::string, double> ProgressiveValidation::rolling_metrics() const {
  if (window_ == 0) return {};
  return regression_ ? rolling_regression_.report() : report(rolling_classification_);
}

std::pair<std::string, double> ProgressiveValidation::headline() const {
  if (regression_) return {"mae", regression_metrics_.mae()};
  return {"accuracy", classification_.accuracy()};
}

}  // namespace rtml
