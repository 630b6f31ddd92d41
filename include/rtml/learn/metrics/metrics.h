// Online metrics for progressive validation, cumulative or over a rolling window.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace rtml {

// ROC AUC from a histogram of predicted probabilities of the positive class (4096
// bins; pairs in one bin count as ties), so memory is constant and an event can be
// reverted for rolling windows. Error against the exact AUC is below 1/4096 of the
// pairs that fall in one bin.
class RocAuc {
 public:
  static constexpr int kBins = 4096;
  RocAuc() : positive_(kBins, 0.0), negative_(kBins, 0.0) {}
  void update(bool positive, double p, double sign = 1.0);
  // The AUC of the events updated as positive; swapped: of those updated as negative,
  // ranked by the same p (higher p, more positive).
  double get(bool swapped = false) const;

 private:
  std::vector<double> positive_, negative_;
};

// Accuracy, F1 (two classes: of the positive one; more: macro over classes seen), log
// loss and ROC AUC (two classes) from a confusion matrix that grows with the classes as
// they come. Every update can be reverted with sign -1, which is how a rolling window
// forgets an old event. Which metrics apply is decided when they are read (report):
// a stream's classes are known only as they come.
class ClassificationMetrics {
 public:
  // y_pred is meaningful only when has_pred; p_true is the probability the model gave
  // to y_true; p_class0 and p_class1 are P(class 0) and P(class 1), for the ROC AUC of a
  // two-class target. Both framings are kept (class 1 positive on P(class 1), class 0 on
  // P(class 0)): which class is positive may be known only after the first events, and
  // the AUC of each framing then equals a run where it was known from the start.
  void update(uint32_t y_true, bool has_pred, uint32_t y_pred, double p_true, double p_class0,
              double p_class1, double sign = 1.0);
  double count() const { return n_; }
  double accuracy() const;
  double f1(uint32_t positive = 1) const;  // two classes: F1 of the positive class
  double macro_f1() const;                 // mean F1 over classes seen as truth or prediction
  double log_loss() const;
  double roc_auc(uint32_t positive = 1) const { return auc_[positive == 0 ? 0 : 1].get(); }
  // The ROC AUC of class `positive` ranked by P(class 1) taken as a score of that class
  // whatever its index: an anomaly detector's score, which labels do not number.
  double score_auc(uint32_t positive) const { return auc_[1].get(positive == 0); }
  // The metrics the eval command reports, by name: with binary (a binary model, or a
  // target that has shown at most two classes) accuracy, f1 of class `positive`,
  // logloss and roc_auc (score_auc with scored, for an anomaly detector); otherwise
  // accuracy and macro_f1.
  std::map<std::string, double> report(bool binary, uint32_t positive, bool scored = false) const;

 private:
  void grow(uint32_t k);
  double class_f1(uint32_t c) const;
  uint32_t k_ = 0;
  std::vector<double> confusion_;  // k_ x k_, [truth][prediction]
  std::vector<double> no_pred_;    // by truth: events with no prediction
  double n_ = 0, correct_ = 0, log_loss_ = 0;
  RocAuc auc_[2];  // class 0 positive on P(class 0); class 1 on P(class 1)
};

// MAE, RMSE and R2 (against the mean of the targets seen), revertible.
class RegressionMetrics {
 public:
  void update(double y_true, double y_pred, double sign = 1.0);
  // A prediction interval [lower, upper] for y_true (sign -1 takes one back, as update).
  void update_interval(double y_true, double lower, double upper, double sign = 1.0);
  double count() const { return n_; }
  double mae() const { return n_ > 0 ? abs_ / n_ : 0.0; }
  double rmse() const;
  double r2() const;
  // The share of intervals that held their value, and their mean width.
  double coverage() const { return intervals_ > 0 ? covered_ / intervals_ : 0.0; }
  double interval_width() const { return intervals_ > 0 ? width_ / intervals_ : 0.0; }
  // mae, rmse, r2; with intervals, coverage and interval_width too.
  std::map<std::string, double> report() const;

 private:
  double intervals_ = 0, covered_ = 0, width_ = 0;
  double n_ = 0, abs_ = 0, sq_ = 0;
  double mean_ = 0, m2_ = 0;  // of y_true, Welford
};

}  // namespace rtml
