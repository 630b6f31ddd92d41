#include "rtml/learn/neighbors/knn.h"

#include <algorithm>
#include <cmath>

#include "rtml/core/error.h"
#include "rtml/core/params.h"

namespace rtml {
namespace {

std::unique_ptr<Model> make(ParamSet& p, bool regression) {
  auto k = p.integer("n_neighbors", 5);
  auto window = p.integer("window_size", 1000);
  bool weighted = regression ? p.choice("aggregation_method", "mean", {"mean", "weighted_mean"}) ==
                                   "weighted_mean"
                             : p.boolean("weighted", true);
  if (k < 1 || window < 1 || window > (1 << 24)) {
    throw Error(p.component() + ": n_neighbors >= 1 and window_size in [1, 16777216]");
  }
  return std::make_unique<KNearestNeighbors>(regression, static_cast<int>(k),
                                             static_cast<size_t>(window), weighted);
}

}  // namespace

std::unique_ptr<Model> KNearestNeighbors::classifier(ParamSet& p) { return make(p, false); }
std::unique_ptr<Model> KNearestNeighbors::regressor(ParamSet& p) { return make(p, true); }

KNearestNeighbors::KNearestNeighbors(bool regression, int n_neighbors, size_t window_size,
                                     bool weighted)
    : regression_(regression), k_(n_neighbors), window_(window_size), weighted_(weighted) {
  targets_.resize(window_);
}

void KNearestNeighbors::densify(const Features& x, std::vector<double>& out) const {
  out.assign(dims_, 0.0);
  for (const auto& f : x.numbers()) {
    if (f.index < dims_) out[f.index] = f.value;
  }
}

void KNearestNeighbors::predict(const Features& x, Prediction& out) {
  if (count_ == 0) {
    out.proba.clear();
    out.has_label = false;
    out.value = 0;
    return;
  }
  densify(x, query_);
  nearest_.clear();
  for (size_t r = 0; r < count_; ++r) {
    const double* row = &rows_[r * dims_];
    double d = 0;
    for (size_t j = 0; j < dims_; ++j) d += (row[j] - query_[j]) * (row[j] - query_[j]);
    nearest_.emplace_back(d, r);
  }
  size_t k = std::min<size_t>(static_cast<size_t>(k_), nearest_.size());
  std::partial_sort(nearest_.begin(), nearest_.begin() + static_cast<std::ptrdiff_t>(k),
                    nearest_.end());
  if (regression_) {
    double sum = 0, weights = 0;
    for (size_t i = 0; i < k; ++i) {
      double w = weighted_ ? 1.0 / std::max(std::sqrt(nearest_[i].first), 1e-12) : 1.0;
      sum += w * targets_[nearest_[i].second];
      weights += w;
    }
    out.value = sum / weights;
    out.has_label = false;
    return;
  }
  size_t classes = 0;
  for (size_t i = 0; i < k; ++i) {
    classes = std::max(classes, static_cast<size_t>(targets_[nearest_[i].second]) + 1);
  }
  out.proba.assign(classes, 0.0);
  if (nearest_[0].first == 0) {
    out.proba[static_cast<size_t>(targets_[nearest_[0].second])] = 1.0;  // an exact match
  } else {
    double total = 0;
    for (size_t i = 0; i < k; ++i) {
      // River weighs by the inverse of the squared distance (its Minkowski distance
      // takes no root); that is what its published figures used.
      double w = weighted_ ? 1.0 / nearest_[i].first : 1.0;
      out.proba[static_cast<size_t>(targets_[nearest_[i].second])] += w;
      total += w;
    }
    for (auto& p : out.proba) p /= total;
  }
  set_argmax_label(out);
  out.value = out.proba.size() == 2 ? out.proba[1] : out.proba[out.label];
}

void KNearestNeighbors::learn(const Features& x, const Target& y, double) {
  size_t need = 0;
  for (const auto& f : x.numbers()) need = std::max<size_t>(need, f.index + 1);
  if (need > dims_) {
    // Widen every stored row: a new feature was 0 in the past.
    std::vector<double> wider(window_ * need, 0.0);
    for (size_t r = 0; r < count_; ++r) {
      std::copy_n(&rows_[r * dims_], dims_, &wider[r * need]);
    }
    rows_.swap(wider);
    dims_ = need;
  }
  if (rows_.size() < window_ * dims_) rows_.resize(window_ * dims_, 0.0);
  double* row = &rows_[next_ * dims_];
  std::fill(row, row + dims_, 0.0);
  for (const auto& f : x.numbers()) row[f.index] = f.value;
  targets_[next_] = regression_ ? y.value : static_cast<double>(y.label);
  next_ = (next_ + 1) % window_;
  count_ = std::min(count_ + 1, window_);
}

void KNearestNeighbors::save(BinaryWriter& out) const {
  out.put<uint64_t>(dims_);
  out.put<uint64_t>(count_);
  out.put<uint64_t>(next_);
  out.put_vector(rows_);
  out.put_vector(targets_);
}

void KNearestNeighbors::load(BinaryReader& in) {
  dims_ = in.get<uint64_t>();
  count_ = in.get<uint64_t>();
  next_ = in.get<uint64_t>();
  rows_ = in.get_vector<double>();
  targets_ = in.get_vector<double>();
  if (count_ > window_ || next_ >= window_ || targets_.size() != window_ ||
      (dims_ && rows_.size() != window_ * dims_)) {
    in.fail("knn window");
  }
}

}  // namespace rtml
