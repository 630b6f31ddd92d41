// Concept drift detectors: ADWIN, Page-Hinkley and DDM, on a stream of numbers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rtml/core/binary_io.h"

namespace rtml {

class ParamSet;

// Watches a stream of numbers (an error indicator, a loss, a feature) and says when its
// distribution has changed. After update(), drift_detected() is true for exactly the
// update that detected a change; the detector then forgets the old concept by itself.
// Not thread-safe.
class DriftDetector {
 public:
  virtual ~DriftDetector() = default;
  virtual std::string_view kind() const = 0;
  virtual void update(double x) = 0;
  bool drift_detected() const { return drift_; }
  // DDM only: the error rate is rising but has not yet crossed the drift threshold.
  bool warning_detected() const { return warning_; }

  // Builds a detector by name ("adwin", "page_hinkley", "ddm") with its parameters.
  static std::unique_ptr<DriftDetector> make(const std::string& name, ParamSet& params);

 protected:
  bool drift_ = false;
  bool warning_ = false;
};

// ADWIN (Bifet & Gavalda, 2007): a window of recent values kept as an exponential
// histogram of buckets; whenever two sub-windows have means that differ by more than
// a Hoeffding-style bound for confidence delta, the older part is dropped.
// Memory is O(max_buckets * log(window)). Defaults as River: delta 0.002, clock 32,
// max_buckets 5, min_window_length 5, grace_period 10.
class Adwin final : public DriftDetector {
 public:
  Adwin(double delta = 0.002, int clock = 32, int max_buckets = 5, int min_window_length = 5,
        int grace_period = 10);
  std::string_view kind() const override { return "adwin"; }
  void update(double x) override;
  double width() const { return width_; }
  double estimation() const { return width_ > 0 ? total_ / width_ : 0.0; }
  // Memory held, in bytes.
  size_t bytes() const {
    size_t b = sizeof(*this) + rows_.capacity() * sizeof(rows_[0]);
    for (const auto& r : rows_) b += r.capacity() * sizeof(Bucket);
    return b;
  }
  // The window and its buckets (not the parameters, which the owner rebuilds).
  void save(BinaryWriter& out) const;
  void load(BinaryReader& in);

 private:
  struct Bucket {
    double total, variance;
  };
  void insert(double x);
  void compress();
  double delete_oldest();
  bool detect();
  bool cut(double n0, double n1, double delta_mean) const;

  double delta_;
  int clock_, max_buckets_, min_window_length_, grace_period_;
  // rows_[i] holds buckets of 2^i values, oldest first.
  std::vector<std::vector<Bucket>> rows_;
  double width_ = 0, total_ = 0, variance_ = 0;
  uint64_t tick_ = 0;
};

// Page-Hinkley test (Page, 1954): cumulative deviation from the running mean, with a
// forgetting factor alpha; drift when it exceeds threshold after min_instances values.
// mode up, down or both. Defaults as River: min_instances 30, delta 0.005, threshold 50,
// alpha 0.9999, mode both.
class PageHinkley final : public DriftDetector {
 public:
  PageHinkley(int min_instances = 30, double delta = 0.005, double threshold = 50.0,
              double alpha = 1 - 0.0001, std::string mode = "both");
  std::string_view kind() const override { return "page_hinkley"; }
  void update(double x) override;

 private:
  void reset();
  int min_instances_;
  double delta_, threshold_, alpha_;
  bool up_, down_;
  double n_ = 0, mean_ = 0;
  double sum_up_ = 0, min_up_ = 0, sum_down_ = 0, max_down_ = 0;
};

// DDM (Gama et al., 2004) on a stream of 0/1 errors: the error rate p and its standard
// deviation s; warning when p + s exceeds the best p_min + warning_threshold * s_min,
// drift at p_min + drift_threshold * s_min. Defaults as River: warm_start 30, warning 2,
// drift 3.
class Ddm final : public DriftDetector {
 public:
  Ddm(int warm_start = 30, double warning_threshold = 2.0, double drift_threshold = 3.0);
  std::string_view kind() const override { return "ddm"; }
  void update(double x) override;

 private:
  void reset();
  int warm_start_;
  double warning_threshold_, drift_threshold_;
  double n_ = 0, p_ = 0, p_min_ = 0, s_min_ = 0, ps_min_ = 0;
};

}  // namespace rtml
