#include "rtml/learn/neighbors/knn.h"

#include <algorithm>
#include <cmath>
#include <cstring>

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
  rows_.resize(window_);
  in_columns_.assign(window_, 0);
}

void KNearestNeighbors::sorted_copy(const Features& x, std::vector<Feature>& out) {
  out.assign(x.numbers().begin(), x.numbers().end());
  // By index, stably, with an insertion sort: events usually arrive sorted, and
  // std::stable_sort would allocate a buffer per call.
  for (size_t i = 1; i < out.size(); ++i) {
    Feature f = out[i];
    size_t j = i;
    for (; j > 0 && out[j - 1].index > f.index; --j) out[j] = out[j - 1];
    out[j] = f;
  }
  // A repeated index keeps its last value, as writing a dense row would.
  size_t w = 0;
  for (size_t r = 0; r < out.size(); ++r) {
    if (w > 0 && out[w - 1].index == out[r].index) {
      out[w - 1] = out[r];
    } else {
      out[w++] = out[r];
    }
  }
  out.resize(w);
}

// Squared Euclidean distance between two sorted sparse rows (absent features are 0). The
// terms are added in increasing index order, skipping only exact zeros, so the sum is
// the one a dense loop over every index would give.
static double squared_distance(const std::vector<Feature>& a, const std::vector<Feature>& b) {
  double d = 0;
  if (a.size() == b.size()) {
    // The usual case, tabular data: the same features in both rows, a straight loop.
    size_t i = 0;
    for (; i < a.size() && a[i].index == b[i].index; ++i) {
      double diff = a[i].value - b[i].value;
      d += diff * diff;
    }
    if (i == a.size()) return d;
    d = 0;
  }
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    double diff;
    if (j == b.size() || (i < a.size() && a[i].index < b[j].index)) {
      diff = a[i++].value;
    } else if (i == a.size() || b[j].index < a[i].index) {
      diff = b[j++].value;
    } else {
      diff = a[i++].value - b[j++].value;
    }
    d += diff * diff;
  }
  return d;
}

bool KNearestNeighbors::fits_columns(const std::vector<Feature>& row) const {
  if (row.size() != shape_.size() || shape_.empty()) return false;
  for (size_t i = 0; i < row.size(); ++i) {
    if (row[i].index != shape_[i]) return false;
  }
  return true;
}

void KNearestNeighbors::place_in_columns(size_t r) {
  if (in_columns_[r]) {
    in_columns_[r] = 0;
    --columnar_rows_;
  }
  const std::vector<Feature>& row = rows_[r];
  if (!fits_columns(row)) {
    // Adopt this row's indices when no row uses the current ones (the first row, or the
    // data's columns changed); a row of no numbers has nothing to lay out.
    if (columnar_rows_ > 0 || row.empty()) return;
    shape_.clear();
    for (const auto& f : row) shape_.push_back(f.index);
    cols_.assign(shape_.size() * window_, 0.0);
  }
  for (size_t f = 0; f < row.size(); ++f) cols_[f * window_ + r] = row[f].value;
  in_columns_[r] = 1;
  ++columnar_rows_;
}

void KNearestNeighbors::measure_all(const std::vector<Feature>& query,
                                    std::vector<double>& dist) const {
  if (columnar_rows_ == 0 || !fits_columns(query)) {
    for (size_t r = 0; r < count_; ++r) dist[r] = squared_distance(rows_[r], query);
    return;
  }
  // Eight slots at a time, column by column: each row's terms still add up in increasing
  // index order, as squared_distance adds them, while the eight sums sit in registers
  // and the loop over them vectorises.
  constexpr size_t kBlock = 8;
  const size_t width = shape_.size();
  // GCC and Clang vectors of two doubles: four accumulators stay in registers.
  typedef double Pair __attribute__((vector_size(16)));
  size_t r = 0;
  for (; r + kBlock <= count_; r += kBlock) {
    Pair a0 = {0, 0}, a1 = {0, 0}, a2 = {0, 0}, a3 = {0, 0};
    for (size_t f = 0; f < width; ++f) {
      const double* col = cols_.data() + f * window_ + r;
      double q = query[f].value;
      Pair qq = {q, q}, c0, c1, c2, c3;
      std::memcpy(&c0, col, sizeof(Pair));
      std::memcpy(&c1, col + 2, sizeof(Pair));
      std::memcpy(&c2, col + 4, sizeof(Pair));
      std::memcpy(&c3, col + 6, sizeof(Pair));
      c0 -= qq;
      c1 -= qq;
      c2 -= qq;
      c3 -= qq;
      a0 += c0 * c0;
      a1 += c1 * c1;
      a2 += c2 * c2;
      a3 += c3 * c3;
    }
    std::memcpy(dist.data() + r, &a0, sizeof(Pair));
    std::memcpy(dist.data() + r + 2, &a1, sizeof(Pair));
    std::memcpy(dist.data() + r + 4, &a2, sizeof(Pair));
    std::memcpy(dist.data() + r + 6, &a3, sizeof(Pair));
  }
  for (; r < count_; ++r) {
    double d = 0;
    for (size_t f = 0; f < width; ++f) {
      double diff = cols_[f * window_ + r] - query[f].value;
      d += diff * diff;
    }
    dist[r] = d;
  }
  if (columnar_rows_ == count_) return;
  for (size_t r = 0; r < count_; ++r) {
    if (!in_columns_[r]) dist[r] = squared_distance(rows_[r], query);
  }
}

void KNearestNeighbors::predict(const Features& x, Prediction& out, Workspace& workspace) const {
  if (count_ == 0) {
    out.proba.clear();
    out.has_label = false;
    out.value = 0;
    return;
  }
  auto& scratch = workspace.scratch<Scratch>();
  auto& query = scratch.query;
  auto& dist = scratch.dist;
  auto& nearest = scratch.nearest;
  if (dist.size() < window_) dist.resize(window_);
  sorted_copy(x, query);
  measure_all(query, dist);
  // The k nearest as (distance, slot), in that order, as partial_sort over all the pairs
  // would give: a sorted insertion into k places. Slots come in increasing order, so a
  // row enters a full set only if strictly nearer than its farthest: one compare for
  // most rows.
  size_t k = std::min<size_t>(static_cast<size_t>(k_), count_);
  nearest.clear();
  auto insert = [&](size_t r) {
    std::pair<double, size_t> candidate{dist[r], r};
    nearest.insert(std::upper_bound(nearest.begin(), nearest.end(), candidate), candidate);
  };
  size_t r = 0;
  for (; r < k; ++r) insert(r);
  double farthest = nearest.back().first;
  for (; r < count_; ++r) {
    if (!(dist[r] < farthest)) continue;
    nearest.pop_back();
    insert(r);
    farthest = nearest.back().first;
  }
  if (regression_) {
    double sum = 0, weights = 0;
    for (size_t i = 0; i < k; ++i) {
      double w = weighted_ ? 1.0 / std::max(std::sqrt(nearest[i].first), 1e-12) : 1.0;
      sum += w * targets_[nearest[i].second];
      weights += w;
    }
    out.value = sum / weights;
    out.has_label = false;
    return;
  }
  size_t classes = 0;
  for (size_t i = 0; i < k; ++i) {
    classes = std::max(classes, static_cast<size_t>(targets_[nearest[i].second]) + 1);
  }
  out.proba.assign(classes, 0.0);
  if (nearest[0].first == 0) {
    out.proba[static_cast<size_t>(targets_[nearest[0].second])] = 1.0;  // an exact match
  } else {
    double total = 0;
    for (size_t i = 0; i < k; ++i) {
      // River weighs by the inverse of the squared distance (its Minkowski distance
      // takes no root); that is what its published figures used.
      double w = weighted_ ? 1.0 / nearest[i].first : 1.0;
      out.proba[static_cast<size_t>(targets_[nearest[i].second])] += w;
      total += w;
    }
    for (auto& p : out.proba) p /= total;
  }
  set_argmax_label(out);
  out.value = out.proba.size() == 2 ? out.proba[1] : out.proba[out.label];
}

void KNearestNeighbors::learn(const Features& x, const Target& y, double) {
  // Rows are sparse: a hashed or one-hot feature space costs what an event holds, not
  // its largest index. A ring slot keeps its capacity, so steady state allocates nothing.
  sorted_copy(x, rows_[next_]);
  place_in_columns(next_);
  targets_[next_] = regression_ ? y.value : static_cast<double>(y.label);
  next_ = (next_ + 1) % window_;
  count_ = std::min(count_ + 1, window_);
}

void KNearestNeighbors::save(BinaryWriter& out) const {
  out.put<uint64_t>(count_);
  out.put<uint64_t>(next_);
  for (size_t r = 0; r < count_; ++r) {
    out.put<uint64_t>(rows_[r].size());
    for (const auto& f : rows_[r]) {  // field by field: Feature has padding
      out.put(f.index);
      out.put(f.value);
    }
  }
  out.put_vector(targets_);
}

void KNearestNeighbors::load(BinaryReader& in) {
  count_ = in.get<uint64_t>();
  next_ = in.get<uint64_t>();
  if (count_ > window_ || next_ >= window_) in.fail("knn window");
  for (auto& row : rows_) row.clear();
  for (size_t r = 0; r < count_; ++r) {
    auto n = in.get<uint64_t>();
    if (n > (1u << 24)) in.fail("knn row length");
    in.check_count(n, 8, "knn row length");
    rows_[r].resize(n);
    for (auto& f : rows_[r]) {
      f.index = in.get<uint32_t>();
      f.value = in.get<double>();
    }
  }
  targets_ = in.get_vector<double>();
  if (targets_.size() != window_) in.fail("knn window");
  // The columns are a copy of the rows: rebuilt, not saved.
  shape_.clear();
  cols_.clear();
  in_columns_.assign(window_, 0);
  columnar_rows_ = 0;
  for (size_t r = 0; r < count_; ++r) place_in_columns(r);
}

}  // namespace rtml
