#include "rtml/learn/progressive.h"

#include <algorithm>

namespace rtml {

ProgressiveValidation::ProgressiveValidation(Pipeline& pipeline, bool binary, size_t delay,
                                             size_t window)
    : pipeline_(pipeline),
      regression_(pipeline.task() == Task::kRegression),
      binary_(binary),
      delay_(delay),
      window_(window),
      classification_(binary),
      rolling_classification_(binary) {}

ProgressiveValidation::Scored ProgressiveValidation::score(const Target& y) const {
  const Prediction& p = prediction_;
  Scored s{};
  if (regression_) {
    s.value = y.value;
    s.predicted = p.value;
    return s;
  }
  s.y_true = y.label;
  s.has_pred = p.has_label;
  s.y_pred = p.label;
  s.p_true = y.label < p.proba.size() ? p.proba[y.label] : 0.0;
  s.p_positive = p.proba.size() > 1 ? p.proba[1] : 0.0;
  return s;
}

void ProgressiveValidation::process(const Features& x, const Target& y) {
  if (delay_ == 0) {
    pipeline_.predict_then_learn(x, y, prediction_);
  } else {
    pipeline_.predict(x, prediction_);
    if (pending_count_ == delay_) {
      Pending& old = pending_[pending_head_];
      pipeline_.learn(old.x, old.y);
      pending_head_ = (pending_head_ + 1) % pending_.size();
      --pending_count_;
    }
    if (pending_count_ == pending_.size()) grow_pending();
    Pending& slot = pending_[(pending_head_ + pending_count_) % pending_.size()];
    slot.x.assign(x);
    slot.y = y;
    ++pending_count_;
  }
  ++events_;
  Scored s = score(y);
  if (regression_) {
    regression_metrics_.update(s.value, s.predicted);
  } else {
    classification_.update(s.y_true, s.has_pred, s.y_pred, s.p_true, s.p_positive);
  }
  if (window_ == 0) return;
  if (recent_.size() == window_) {
    const Scored& old = recent_[recent_next_];
    if (regression_) {
      rolling_regression_.update(old.value, old.predicted, -1.0);
    } else {
      rolling_classification_.update(old.y_true, old.has_pred, old.y_pred, old.p_true,
                                     old.p_positive, -1.0);
    }
    recent_[recent_next_] = s;
  } else {
    recent_.push_back(s);
  }
  recent_next_ = (recent_next_ + 1) % window_;
  if (regression_) {
    rolling_regression_.update(s.value, s.predicted);
  } else {
    rolling_classification_.update(s.y_true, s.has_pred, s.y_pred, s.p_true, s.p_positive);
  }
}

void ProgressiveValidation::grow_pending() {
  // Oldest first from slot 0, then room for twice as many, never more than delay_: the
  // ring costs what is pending, not what --delay allows. Moving a Pending moves its
  // vectors, so growing allocates only the ring itself.
  std::rotate(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(pending_head_),
              pending_.end());
  pending_head_ = 0;
  pending_.resize(std::min(delay_, std::max<size_t>(16, 2 * pending_.size())));
}

void ProgressiveValidation::finish() {
  while (pending_count_ > 0) {
    Pending& old = pending_[pending_head_];
    pipeline_.learn(old.x, old.y);
    pending_head_ = (pending_head_ + 1) % pending_.size();
    --pending_count_;
  }
}

std::map<std::string, double> ProgressiveValidation::metrics() const {
  return regression_ ? regression_metrics_.report() : classification_.report();
}

std::map<std::string, double> ProgressiveValidation::rolling_metrics() const {
  if (window_ == 0) return {};
  return regression_ ? rolling_regression_.report() : rolling_classification_.report();
}

std::pair<std::string, double> ProgressiveValidation::headline() const {
  if (regression_) return {"mae", regression_metrics_.mae()};
  return {"accuracy", classification_.accuracy()};
}

}  // namespace rtml
