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
  double get() const;

 private:
  std::vector<double> positive_, negative_;
};

// Accuracy, F1 (binary: of class 1; multiclass: macro over classes seen), log loss and
// ROC AUC (binary) from a confusion matrix that grows with the classes. Every update can
// be reverted with sign -1, which is how RollingMetrics forgets an old event.
class ClassificationMetrics {
 public:
  explicit ClassificationMetrics(bool binary) : binary_(binary) {}
  // y_pred is meaningful only when has_pred; p_true is the probability the model gave
  // to y_true; p_positive is P(class 1) (binary only).
  void update(uint32_t y_true, bool has_pred, uint32_t y_pred, double p_true, double p_positive,
              double sign = 1.0);
  double count() const { return n_; }
  double accuracy() const;
  double f1() const;        // binary: F1 of class 1
  double macro_f1() const;  // mean F1 over classes seen as truth or prediction
  double log_loss() const;
  double roc_auc() const { return auc_.get(); }
  // The metrics the eval command reports for this task, by name.
  std::map<std::string, double> report() const;

 private:
  void grow(uint32_t k);
  double class_f1(uint32_t c) const;
  bool binary_;
  uint32_t k_ = 0;
  std::vector<double> confusion_;  // k_ x k_, [truth][prediction]
  std::vector<double> no_pred_;    // by truth: events with no prediction
  double n_ = 0, correct_ = 0, log_loss_ = 0;
  RocAuc auc_;
};

// MAE, RMSE and R2 (against the mean of the targets seen), revertible.
class RegressionMetrics {
 public:
  void update(double y_true, double y_pred, double sign = 1.0);
  double count() const { return n_; }
  double mae() const { return n_ > 0 ? abs_ / n_ : 0.0; }
  double rmse() const;
  double r2() const;
  std::map<std::string, double> report() const;

 private:
  double n_ = 0, abs_ = 0, sq_ = 0;
  double mean_ = 0, m2_ = 0;  // of y_true, Welford
};

}  // namespace rtml
