#include <cmath>

#include "rtml/core/error.h"
#include "rtml/core/params.h"
#include "rtml/learn/drift/drift_detector.h"

namespace rtml {

std::unique_ptr<DriftDetector> DriftDetector::make(const std::string& name, ParamSet& p) {
  std::unique_ptr<DriftDetector> d;
  if (name == "adwin") {
    double delta = p.number("delta", 0.002);
    if (!(delta > 0 && delta < 1)) throw Error("adwin: delta must be in (0, 1)");
    auto clock = p.integer("clock", 32);
    auto buckets = p.integer("max_buckets", 5);
    auto min_len = p.integer("min_window_length", 5);
    auto grace = p.integer("grace_period", 10);
    if (clock < 1 || buckets < 1 || min_len < 1 || grace < 0) {
      throw Error("adwin: clock, max_buckets and min_window_length must be >= 1");
    }
    d = std::make_unique<Adwin>(delta, clock, buckets, min_len, grace);
  } else if (name == "page_hinkley") {
    auto min_instances = p.integer("min_instances", 30);
    double delta = p.number("delta", 0.005);
    double threshold = p.number("threshold", 50.0);
    double alpha = p.number("alpha", 1 - 0.0001);
    auto mode = p.choice("mode", "both", {"up", "down", "both"});
    d = std::make_unique<PageHinkley>(static_cast<int>(min_instances), delta, threshold, alpha,
                                      mode);
  } else if (name == "ddm") {
    auto warm = p.integer("warm_start", 30);
    double warn = p.number("warning_threshold", 2.0);
    double drift = p.number("drift_threshold", 3.0);
    d = std::make_unique<Ddm>(static_cast<int>(warm), warn, drift);
  } else {
    throw Error("unknown drift detector '" + name + "' (valid: adwin, ddm, page_hinkley)");
  }
  p.finish();
  return d;
}

Adwin::Adwin(double delta, int clock, int max_buckets, int min_window_length, int grace_period)
    : delta_(delta),
      clock_(clock),
      max_buckets_(max_buckets),
      min_window_length_(min_window_length),
      grace_period_(grace_period) {}

void Adwin::update(double x) {
  insert(x);
  drift_ = detect();
}

void Adwin::save(BinaryWriter& out) const {
  out.put<uint64_t>(rows_.size());
  for (const auto& row : rows_) {
    out.put<uint64_t>(row.size());
    for (const auto& b : row) {
      out.put(b.total);
      out.put(b.variance);
    }
  }
  out.put(width_);
  out.put(total_);
  out.put(variance_);
  out.put(tick_);
  out.put<uint8_t>(drift_);
}

void Adwin::load(BinaryReader& in) {
  auto rows = in.get<uint64_t>();
  if (rows > 64) in.fail("adwin bucket rows");
  rows_.assign(rows, {});
  for (auto& row : rows_) {
    auto n = in.get<uint64_t>();
    if (n > static_cast<uint64_t>(max_buckets_) + 1) in.fail("adwin buckets per row");
    row.resize(n);
    for (auto& b : row) {
      b.total = in.get<double>();
      b.variance = in.get<double>();
    }
  }
  width_ = in.get<double>();
  total_ = in.get<double>();
  variance_ = in.get<double>();
  tick_ = in.get<uint64_t>();
  drift_ = in.get<uint8_t>();
}

void Adwin::insert(double x) {
  if (rows_.empty()) rows_.emplace_back();
  rows_[0].push_back(Bucket{x, 0.0});
  width_ += 1;
  if (width_ > 1) {
    double mean_before = total_ / (width_ - 1);
    variance_ += (width_ - 1) * (x - mean_before) * (x - mean_before) / width_;
  }
  total_ += x;
  compress();
}

void Adwin::compress() {
  for (size_t i = 0; i < rows_.size(); ++i) {
    if (rows_[i].size() <= static_cast<size_t>(max_buckets_)) break;
    // Merge the two oldest buckets of row i into one of row i + 1.
    double n = std::ldexp(1.0, static_cast<int>(i));
    const Bucket& a = rows_[i][0];
    const Bucket& b = rows_[i][1];
    double mean_diff = a.total / n - b.total / n;
    Bucket merged{a.total + b.total,
                  a.variance + b.variance + n * n * mean_diff * mean_diff / (2 * n)};
    rows_[i].erase(rows_[i].begin(), rows_[i].begin() + 2);
    if (i + 1 == rows_.size()) rows_.emplace_back();
    rows_[i + 1].push_back(merged);
  }
}

double Adwin::delete_oldest() {
  size_t i = rows_.size() - 1;
  while (rows_[i].empty()) --i;
  double n = std::ldexp(1.0, static_cast<int>(i));
  Bucket b = rows_[i].front();
  rows_[i].erase(rows_[i].begin());
  width_ -= n;
  total_ -= b.total;
  double mean_bucket = b.total / n;
  double mean_rest = width_ > 0 ? total_ / width_ : 0.0;
  variance_ -= b.variance +
               n * width_ * (mean_bucket - mean_rest) * (mean_bucket - mean_rest) / (n + width_);
  if (variance_ < 0) variance_ = 0;
  while (!rows_.empty() && rows_.back().empty()) rows_.pop_back();
  return n;
}

bool Adwin::cut(double n0, double n1, double delta_mean) const {
  double delta_prime = std::log(2 * std::log(width_) / delta_);
  double m = 1.0 / (n0 - min_window_length_ + 1) + 1.0 / (n1 - min_window_length_ + 1);
  double v = variance_ / width_;
  double epsilon = std::sqrt(2 * m * v * delta_prime) + 2.0 / 3.0 * delta_prime * m;
  return std::abs(delta_mean) > epsilon;
}

bool Adwin::detect() {
  ++tick_;
  if (tick_ % static_cast<uint64_t>(clock_) != 0 || width_ <= grace_period_) return false;
  bool change = false;
  for (bool again = true; again;) {
    again = false;
    double n0 = 0, n1 = width_, u0 = 0, u1 = total_;
    // Walk the cut point from the oldest bucket to the newest.
    for (size_t r = rows_.size(); r-- > 0 && !again;) {
      double n = std::ldexp(1.0, static_cast<int>(r));
      for (size_t k = 0; k < rows_[r].size(); ++k) {
        if (r == 0 && k + 1 == rows_[r].size()) break;  // the newest bucket stays
        n0 += n;
        n1 -= n;
        u0 += rows_[r][k].total;
        u1 -= rows_[r][k].total;
        if (n0 >= min_window_length_ && n1 >= min_window_length_ &&
            cut(n0, n1, u0 / n0 - u1 / n1)) {
          change = true;
          if (width_ > 0) {
            delete_oldest();
            again = true;
          }
          break;
        }
      }
    }
  }
  return change;
}

PageHinkley::PageHinkley(int min_instances, double delta, double threshold, double alpha,
                         std::string mode)
    : min_instances_(min_instances),
      delta_(delta),
      threshold_(threshold),
      alpha_(alpha),
      up_(mode != "down"),
      down_(mode != "up") {}

void PageHinkley::reset() { n_ = mean_ = sum_up_ = min_up_ = sum_down_ = max_down_ = 0; }

void PageHinkley::update(double x) {
  if (drift_) reset();
  n_ += 1;
  mean_ += (x - mean_) / n_;
  sum_up_ = alpha_ * sum_up_ + (x - mean_ - delta_);
  min_up_ = std::min(min_up_, sum_up_);
  sum_down_ = alpha_ * sum_down_ + (x - mean_ + delta_);
  max_down_ = std::max(max_down_, sum_down_);
  drift_ = false;
  if (n_ >= min_instances_) {
    if (up_ && sum_up_ - min_up_ > threshold_) drift_ = true;
    if (down_ && max_down_ - sum_down_ > threshold_) drift_ = true;
  }
}

Ddm::Ddm(int warm_start, double warning_threshold, double drift_threshold)
    : warm_start_(warm_start),
      warning_threshold_(warning_threshold),
      drift_threshold_(drift_threshold) {
  reset();
}

void Ddm::reset() {
  n_ = p_ = 0;
  p_min_ = s_min_ = ps_min_ = INFINITY;
}

void Ddm::update(double x) {
  if (drift_) reset();
  drift_ = warning_ = false;
  n_ += 1;
  p_ += (x - p_) / n_;
  double s = std::sqrt(p_ * (1 - p_) / n_);
  if (n_ < warm_start_) return;
  if (p_ + s <= ps_min_) {
    p_min_ = p_;
    s_min_ = s;
    ps_min_ = p_ + s;
  }
  if (p_ + s > p_min_ + drift_threshold_ * s_min_) {
    drift_ = true;
  } else if (p_ + s > p_min_ + warning_threshold_ * s_min_) {
    warning_ = true;
  }
}

}  // namespace rtml
