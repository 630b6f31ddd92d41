// RegressionLeaf: what a leaf of a Hoeffding regression tree keeps (the target's
// statistics, per-value target statistics per feature, a linear model) and how it
// predicts and picks a split. Shared by the Hoeffding tree regressor (and so the
// adaptive random forest's regression trees) and the Hoeffding adaptive tree regressor.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "rtml/core/binary_io.h"
#include "rtml/core/features.h"
#include "rtml/core/random.h"
#include "rtml/learn/tree/regression_rule.h"
#include "rtml/learn/tree/split_test.h"

namespace rtml::detail {

// Weighted count, mean and sum of squared deviations.
struct TargetStat {
  double n = 0, mean = 0, m2 = 0;
  void add(double y, double w) {
    n += w;
    double d = y - mean;
    mean += w / n * d;
    m2 += w * d * (y - mean);
  }
  double variance() const { return n > 1 ? m2 / (n - 1) : 0.0; }
  static TargetStat merge(const TargetStat& a, const TargetStat& b);
  static TargetStat minus(const TargetStat& total, const TargetStat& part);
};

// Target statistics by rounded feature value, in ascending order of value: a sorted flat
// vector, as a leaf meets few distinct rounded values and reads them far more often than
// it adds one (one binary search, no node per value).
struct ValueStats {
  using Entry = std::pair<double, TargetStat>;
  std::vector<Entry> entries;

  // The statistics of `value`, added (empty) if new.
  TargetStat& at(double value) {
    auto it = std::lower_bound(entries.begin(), entries.end(), value,
                               [](const Entry& e, double v) { return e.first < v; });
    if (it == entries.end() || value < it->first) it = entries.insert(it, Entry{value, {}});
    return it->second;
  }
  auto begin() const { return entries.begin(); }
  auto end() const { return entries.end(); }
  size_t size() const { return entries.size(); }
};

// The outcome of a split attempt: split is false to keep the leaf.
struct RegressionSplit {
  bool split = false;
  SplitTest test;
  TargetStat left, right;
  std::vector<std::pair<uint32_t, TargetStat>> ways;  // a multiway split's branches
};

// Not thread-safe.
struct RegressionLeaf {
  TargetStat target;
  std::vector<ValueStats> values;  // by feature
  // By categorical column, first seen first: category id -> target stats.
  std::vector<std::pair<uint32_t, std::map<uint32_t, TargetStat>>> categories;
  std::vector<double> w;  // linear model
  double intercept = 0;
  double mean_error = 0, model_error = 0;  // decayed absolute errors
  double last_attempt = 0;
  bool active = true;  // false: no more split statistics (memory limit)
  // Features this leaf watches, sorted, once `sampled` (max_features > 0).
  std::vector<uint32_t> subset;
  bool sampled = false;

  bool watches(uint32_t feature) const;
  size_t bytes() const;
  // Drops the split statistics (memory limit); the leaf still predicts and learns its
  // model and mean.
  void deactivate();
  double model(const Features& x) const;
  // The leaf's prediction: the mean, the linear model, or (adaptive) whichever has the
  // smaller decayed absolute error so far.
  double value(const Features& x, RegressionVote vote) const;
  // Scores both predictors on (x, y), takes one SGD step of the model, adds y to the
  // target statistics and, while active, to the per-value statistics of the features it
  // watches (with max_features > 0 a random subset of that many, drawn from rng at the
  // leaf's first event).
  void learn(const Features& x, double y, double weight, const RegressionRule& rule,
             int max_features, Random* rng);
  // Scores a split at each kept value of each numeric feature and, per categorical
  // column, one category against the rest and (unless rule.binary_split) a branch per
  // category, by variance reduction; splits when second best / best < 1 - Hoeffding
  // bound (range 1) or the bound is under rule.tau.
  RegressionSplit best_split(const RegressionRule& rule) const;
  // A new leaf under this one after a split: `stat` for its target, this leaf's model.
  std::unique_ptr<RegressionLeaf> child(const TargetStat& stat) const;

  void save(BinaryWriter& out) const;
  // Reads categorical statistics from files of format version 2 on.
  void load(BinaryReader& in);
};

}  // namespace rtml::detail
