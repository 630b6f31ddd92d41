#include "rtml/learn/metrics/metrics.h"

#include <algorithm>
#include <cmath>

namespace rtml {

void RocAuc::update(bool positive, double p, double sign) {
  // A model that overflowed says NaN: no information, ranked in the middle (a NaN cast to
  // a bin index read outside the bins).
  if (std::isnan(p)) p = 0.5;
  int bin = static_cast<int>(std::clamp(p, 0.0, 1.0) * kBins);
  if (bin == kBins) bin = kBins - 1;
  (positive ? positive_ : negative_)[bin] += sign;
}

double RocAuc::get(bool swapped) const {
  // Sum over positives of the negatives ranked below them, ties counted half. Swapped,
  // the two change roles, ranked by the same p.
  const std::vector<double>& positives = swapped ? negative_ : positive_;
  const std::vector<double>& negatives = swapped ? positive_ : negative_;
  double below = 0, pairs = 0, pos = 0, neg = 0;
  for (int b = 0; b < kBins; ++b) {
    pairs += positives[b] * (below + 0.5 * negatives[b]);
    below += negatives[b];
    pos += positives[b];
    neg += negatives[b];
  }
  if (pos <= 0 || neg <= 0) return 0.0;
  return pairs / (pos * neg);
}

void ClassificationMetrics::grow(uint32_t k) {
  if (k <= k_) return;
  std::vector<double> c(static_cast<size_t>(k) * k, 0.0);
  for (uint32_t i = 0; i < k_; ++i) {
    for (uint32_t j = 0; j < k_; ++j) c[i * k + j] = confusion_[i * k_ + j];
  }
  confusion_.swap(c);
  no_pred_.resize(k, 0.0);
  k_ = k;
}

void ClassificationMetrics::update(uint32_t y_true, bool has_pred, uint32_t y_pred, double p_true,
                                   double p_class0, double p_class1, double sign) {
  grow(std::max(y_true, has_pred ? y_pred : 0u) + 1);
  n_ += sign;
  if (has_pred) {
    confusion_[y_true * k_ + y_pred] += sign;
    if (y_pred == y_true) correct_ += sign;
  } else {
    no_pred_[y_true] += sign;
  }
  // A NaN probability for the true class is no better than 0 (it would make the log loss
  // NaN for the rest of the stream).
  double p = std::isnan(p_true) ? 1e-15 : std::clamp(p_true, 1e-15, 1.0 - 1e-15);
  log_loss_ -= sign * std::log(p);
  auc_[0].update(y_true == 0, p_class0, sign);
  auc_[1].update(y_true == 1, p_class1, sign);
}

double ClassificationMetrics::accuracy() const { return n_ > 0 ? correct_ / n_ : 0.0; }

double ClassificationMetrics::class_f1(uint32_t c) const {
  double tp = confusion_[c * k_ + c], fp = 0, fn = no_pred_[c];
  for (uint32_t o = 0; o < k_; ++o) {
    if (o == c) continue;
    fp += confusion_[o * k_ + c];
    fn += confusion_[c * k_ + o];
  }
  double d = 2 * tp + fp + fn;
  return d > 0 ? 2 * tp / d : 0.0;
}

double ClassificationMetrics::f1(uint32_t positive) const {
  return positive < k_ ? class_f1(positive) : 0.0;
}

double ClassificationMetrics::macro_f1() const {
  double sum = 0;
  int classes = 0;
  for (uint32_t c = 0; c < k_; ++c) {
    double seen = no_pred_[c];
    for (uint32_t o = 0; o < k_; ++o) seen += confusion_[c * k_ + o] + confusion_[o * k_ + c];
    if (seen <= 0) continue;
    sum += class_f1(c);
    ++classes;
  }
  return classes ? sum / classes : 0.0;
}

double ClassificationMetrics::log_loss() const { return n_ > 0 ? log_loss_ / n_ : 0.0; }

std::map<std::string, double> ClassificationMetrics::report(bool binary, uint32_t positive,
                                                            bool scored) const {
  if (binary) {
    return {{"accuracy", accuracy()},
            {"f1", f1(positive)},
            {"logloss", log_loss()},
            {"roc_auc", scored ? score_auc(positive) : roc_auc(positive)}};
  }
  return {{"accuracy", accuracy()}, {"macro_f1", macro_f1()}};
}

void RegressionMetrics::update(double y_true, double y_pred, double sign) {
  double e = y_true - y_pred;
  abs_ += sign * std::abs(e);
  sq_ += sign * e * e;
  double old_n = n_;
  n_ += sign;
  if (n_ <= 0) {
    n_ = mean_ = m2_ = abs_ = sq_ = 0;
    return;
  }
  // Welford's update, run backwards when reverting.
  double old_mean = mean_;
  if (sign > 0) {
    mean_ += (y_true - mean_) / n_;
    m2_ += (y_true - old_mean) * (y_true - mean_);
  } else {
    mean_ = (old_n * old_mean - y_true) / n_;
    m2_ -= (y_true - mean_) * (y_true - old_mean);
  }
}

double RegressionMetrics::rmse() const { return n_ > 0 ? std::sqrt(std::max(0.0, sq_) / n_) : 0.0; }

double RegressionMetrics::r2() const {
  if (n_ <= 1 || m2_ <= 0) return 0.0;
  return 1.0 - sq_ / m2_;
}

void RegressionMetrics::update_interval(double y_true, double lower, double upper, double sign) {
  intervals_ += sign;
  covered_ += sign * (y_true >= lower && y_true <= upper ? 1.0 : 0.0);
  width_ += sign * (upper - lower);
  if (intervals_ <= 0) intervals_ = covered_ = width_ = 0;
}

std::map<std::string, double> RegressionMetrics::report() const {
  std::map<std::string, double> r{{"mae", mae()}, {"rmse", rmse()}, {"r2", r2()}};
  if (intervals_ > 0) {
    r["coverage"] = coverage();
    r["interval_width"] = interval_width();
  }
  return r;
}

}  // namespace rtml
