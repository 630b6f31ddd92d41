#include "rtml/learn/metrics/cluster_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace rtml {
namespace {

// x's numbers sorted by index, a repeated index keeping its last value (as a dense row
// would). An insertion sort: rows usually come sorted, and std::sort could allocate.
void sorted_copy(const Features& x, std::vector<Feature>& out) {
  out.assign(x.numbers().begin(), x.numbers().end());
  for (size_t i = 1; i < out.size(); ++i) {
    const Feature f = out[i];
    size_t j = i;
    for (; j > 0 && out[j - 1].index > f.index; --j) out[j] = out[j - 1];
    out[j] = f;
  }
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

// The Euclidean distance between two sorted sparse rows.
double distance(const std::vector<Feature>& a, const std::vector<Feature>& b) {
  double s = 0;
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i].index == b[j].index) {
      const double d = a[i++].value - b[j++].value;
      s += d * d;
    } else if (a[i].index < b[j].index) {
      s += a[i].value * a[i].value;
      ++i;
    } else {
      s += b[j].value * b[j].value;
      ++j;
    }
  }
  for (; i < a.size(); ++i) s += a[i].value * a[i].value;
  for (; j < b.size(); ++j) s += b[j].value * b[j].value;
  return std::sqrt(s);
}

}  // namespace

ClusteringMetrics::ClusteringMetrics(size_t window) : window_(window) {}

void ClusteringMetrics::observe(const Features& x, uint32_t cluster,
                                std::optional<uint32_t> label) {
  ++observed_;
  if (window_ > 0) {
    if (rows_.size() < window_) {
      rows_.emplace_back();
      clusters_.push_back(cluster);
      sorted_copy(x, rows_.back());
    } else {
      clusters_[next_] = cluster;
      sorted_copy(x, rows_[next_]);
      next_ = (next_ + 1) % window_;
    }
  }
  if (!label) return;
  ++labelled_;
  // A count going from c to c + 1 adds c pairs.
  auto add = [](uint64_t& count, double& pairs) { pairs += static_cast<double>(count++); };
  add(cells_[(uint64_t{cluster} << 32) | *label], pairs_cells_);
  add(by_cluster_[cluster], pairs_clusters_);
  add(by_label_[*label], pairs_labels_);
}

double ClusteringMetrics::silhouette() const {
  const size_t n = rows_.size();
  std::vector<uint32_t> ids(clusters_.begin(), clusters_.end());
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  const size_t k = ids.size();
  if (k < 2) return std::numeric_limits<double>::quiet_NaN();
  std::vector<size_t> of(n), size(k, 0);
  for (size_t i = 0; i < n; ++i) {
    of[i] =
        static_cast<size_t>(std::lower_bound(ids.begin(), ids.end(), clusters_[i]) - ids.begin());
    ++size[of[i]];
  }
  // sum[i * k + c]: the summed distance from event i to the events of cluster c.
  std::vector<double> sum(n * k, 0.0);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = i + 1; j < n; ++j) {
      const double d = distance(rows_[i], rows_[j]);
      sum[i * k + of[j]] += d;
      sum[j * k + of[i]] += d;
    }
  }
  double total = 0;
  for (size_t i = 0; i < n; ++i) {
    const size_t own = of[i];
    if (size[own] < 2) continue;  // alone in its cluster: 0
    const double a = sum[i * k + own] / static_cast<double>(size[own] - 1);
    double b = std::numeric_limits<double>::infinity();
    for (size_t c = 0; c < k; ++c) {
      if (c != own) b = std::min(b, sum[i * k + c] / static_cast<double>(size[c]));
    }
    const double spread = std::max(a, b);
    if (spread > 0) total += (b - a) / spread;
  }
  return total / static_cast<double>(n);
}

double ClusteringMetrics::adjusted_rand_index() const {
  if (labelled_ == 0) return std::numeric_limits<double>::quiet_NaN();
  const double n = static_cast<double>(labelled_);
  const double pairs = n * (n - 1) / 2;
  const double expected = pairs > 0 ? pairs_clusters_ * pairs_labels_ / pairs : 0.0;
  const double best = (pairs_clusters_ + pairs_labels_) / 2;
  // Equal only when both partitions put every event together, or every event apart: they
  // agree on every pair.
  if (std::abs(best - expected) <= 1e-12 * std::max(best, 1.0)) return 1.0;
  return (pairs_cells_ - expected) / (best - expected);
}

std::map<std::string, double> ClusteringMetrics::report() const {
  std::map<std::string, double> out;
  if (const double s = silhouette(); !std::isnan(s)) out["silhouette"] = s;
  if (const double a = adjusted_rand_index(); !std::isnan(a)) out["ari"] = a;
  return out;
}

}  // namespace rtml
