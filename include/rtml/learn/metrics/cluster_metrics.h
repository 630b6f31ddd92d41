// Online clustering metrics: the silhouette over a window, the adjusted Rand index.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "rtml/core/features.h"

namespace rtml {

// Scores the clusters a clusterer gives events, without labels (the silhouette, over the
// last `window` events) and against labels where they are known (the adjusted Rand
// index, over every labelled event observed).
//
// The silhouette (Rousseeuw 1987) of an event is (b - a) / max(a, b), a its mean
// Euclidean distance to the other events of its cluster and b the least mean distance to
// the events of another cluster; 0 for an event alone in its cluster. silhouette() is the
// mean over the window: from -1 to 1, near 1 for compact clusters far apart. It costs
// O(window^2 * features) when asked and nothing per event but keeping the event.
//
// The adjusted Rand index (Hubert & Arabie 1985) counts the pairs of events that the
// clusters and the labels put together or apart alike, corrected for chance: 1 for the
// same partition (whatever the ids), about 0 for clusters unrelated to the labels. It is
// kept up to date per event from the contingency counts, O(1) to read.
//
// observe() allocates only while the window fills (a slot's features grow to the largest
// event it has held) and when a new cluster, label or pair of them appears. Distances are
// over the features as given (absent ones count as 0), so pass what the clusterer saw (its
// input, after the pipeline's scalers) to score its geometry. Not thread-safe.
class ClusteringMetrics {
 public:
  // window 0 keeps no events (no silhouette).
  explicit ClusteringMetrics(size_t window = 1000);

  // Records an event: its features, the cluster it was given and, if known, its true
  // class. An event without a cluster (a clusterer warming up) is not observed: skip it.
  void observe(const Features& x, uint32_t cluster, std::optional<uint32_t> label = std::nullopt);

  // The mean silhouette of the events in the window; NaN while it holds fewer than two
  // clusters.
  double silhouette() const;
  // The adjusted Rand index of the clusters against the labels over every labelled event;
  // NaN before any. 1 when both put every event together (or every event apart).
  double adjusted_rand_index() const;

  uint64_t observed() const { return observed_; }
  uint64_t labelled() const { return labelled_; }
  size_t window() const { return window_; }
  // "silhouette" and "ari", each when defined (not NaN).
  std::map<std::string, double> report() const;

 private:
  size_t window_;
  uint64_t observed_ = 0, labelled_ = 0;
  std::vector<std::vector<Feature>> rows_;  // a ring of the last events, sorted by index
  std::vector<uint32_t> clusters_;          // their clusters, by slot
  size_t next_ = 0;
  // Contingency counts: by (cluster, label), by cluster, by label; and the sums over each
  // of count * (count - 1) / 2, the pairs that share a cell, a cluster, a label.
  std::unordered_map<uint64_t, uint64_t> cells_;
  std::unordered_map<uint32_t, uint64_t> by_cluster_, by_label_;
  double pairs_cells_ = 0, pairs_clusters_ = 0, pairs_labels_ = 0;
};

}  // namespace rtml
