// ClassLeaf: what a leaf of a Hoeffding classification tree keeps (class weights and a
// Gaussian per feature and class) and how it predicts and picks a split. Shared by the
// Hoeffding tree, the Hoeffding adaptive tree and the adaptive random forest's trees.
#pragma once

#include <cstdint>
#include <limits>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rtml/core/binary_io.h"
#include "rtml/core/features.h"
#include "rtml/core/random.h"
#include "rtml/learn/tree/split_test.h"

namespace rtml::detail {

// Running weighted mean and sample variance of one feature for one class, with min
// and max (Welford).
struct GaussianObserver {
  double w = 0, mean = 0, m2 = 0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  // log_pdf's terms, kept by add(): naive Bayes reads a Gaussian far more often than it
  // changes, so the logarithm and the division are paid once per change.
  double log_norm = 0, neg_half_inv_var = 0;

  void add(double x, double weight);
  double variance() const { return w > 1 ? m2 / (w - 1) : 0.0; }
  double pdf(double x) const;
  // The log of pdf(x) as naive Bayes uses it: 0 (no evidence) where pdf is 0.
  double log_pdf(double x) const;
  double cdf(double x) const;
};

// Keys (feature indices, category ids) in the order first seen, each with its slot: the
// position of its statistics in a parallel vector. First-seen order makes a split search
// (ties go to the first) the same after save and load.
struct SlotIndex {
  std::vector<uint32_t> keys;  // by slot
  std::unordered_map<uint32_t, uint32_t> slot_of;

  size_t size() const { return keys.size(); }
  // The slot of key, or -1.
  int64_t find(uint32_t key) const {
    auto it = slot_of.find(key);
    return it == slot_of.end() ? int64_t{-1} : int64_t{it->second};
  }
  // The slot of key, and whether key was new (the caller then adds its statistics).
  std::pair<uint32_t, bool> insert(uint32_t key) {
    auto [it, added] = slot_of.try_emplace(key, static_cast<uint32_t>(keys.size()));
    if (added) keys.push_back(key);
    return {it->second, added};
  }
  size_t bytes() const {
    // A map entry is a heap node (key, value, next pointer) plus a bucket.
    return keys.capacity() * sizeof(uint32_t) + slot_of.size() * 32 +
           slot_of.bucket_count() * sizeof(void*);
  }
  void save(BinaryWriter& out) const { out.put_vector(keys); }
  void load(BinaryReader& in, std::string_view what) {
    keys = in.get_vector<uint32_t>();
    slot_of.clear();
    for (uint32_t slot = 0; slot < keys.size(); ++slot) {
      if (!slot_of.emplace(keys[slot], slot).second) in.fail(what);
    }
  }
};

// Class weights by category of one categorical column at one leaf: what a nominal
// split and naive Bayes read.
struct NominalObserver {
  uint32_t column = 0;
  SlotIndex categories;
  std::vector<std::vector<double>> weights;  // [slot][class]
  std::vector<double> observed;              // [class]: the weight of events with the column

  void add(uint32_t id, uint32_t label, double weight);
  // log P(category id | class c), with add-one smoothing over the categories seen.
  double log_likelihood(uint32_t id, size_t c) const;
  // The class weights of sending category `slot` left and the column's other
  // categories right, over k classes.
  void one_vs_rest(size_t slot, size_t k, std::vector<double>& left,
                   std::vector<double>& right) const;
  size_t bytes() const;
};

enum class LeafVote : uint8_t { kMajority, kNaiveBayes, kAdaptive };

// How a leaf scores and accepts splits.
struct SplitRule {
  bool gini = false;  // else information gain
  int n_splits = 10;
  double delta = 1e-7;
  double tie_threshold = 0.05;
  // Categorical columns: one category against the rest only; else a multiway split (a
  // branch per category) competes too, and wins ties, as River's default.
  bool binary_split = true;
};

// The outcome of a split attempt.
struct SplitChoice {
  enum Kind : uint8_t { kWait, kDeactivate, kSplit } kind = kWait;
  SplitTest test;
  std::vector<double> left, right;  // class weights of the two branches
  // A multiway split's branches: category ids and their class weights.
  std::vector<uint32_t> way_ids;
  std::vector<std::vector<double>> way_weights;
};

// Not thread-safe.
class ClassLeaf {
 public:
  std::vector<double> classes;  // weight by class
  // Gaussians by numeric feature and class: a direct table for feature indices below
  // kDenseFeatures (a schema's columns), and for wider indices (hashed features, large
  // vocabularies) only the features this leaf has seen, so that a leaf costs what it
  // watches rather than the largest index.
  static constexpr uint32_t kDenseFeatures = 1024;
  std::vector<std::vector<GaussianObserver>> stats;       // [feature][class], dense
  SlotIndex wide;                                         // wide features
  std::vector<std::vector<GaussianObserver>> wide_stats;  // [slot][class]
  std::vector<NominalObserver> nominal;                   // by categorical column, first seen first
  // Feature keys (SplitTest.h) this leaf watches, sorted; empty with `sampled` false
  // means all of them.
  std::vector<uint32_t> subset;
  double last_attempt = 0;
  double mc_correct = 0, nb_correct = 0;
  bool active = true;
  bool sampled = false;

  // Stops learning feature statistics and frees them (v = {} would keep the capacity);
  // the leaf still counts classes and votes with them.
  void deactivate();
  double total() const;
  bool pure() const;
  // Gives this (new) leaf the statistics slots parent had, empty, so that the allocations
  // happen when the tree splits rather than at the leaf's first events. Unobserved
  // Gaussians (w = 0) count for nothing in votes and splits.
  void shape_like(const ClassLeaf& parent);

  // Updates the vote-choice counters (adaptive leaves), the class weights and, while
  // active, the feature statistics. With max_features > 0 the leaf watches a random
  // subset of that many of the first event's features, drawn from rng.
  void learn(const Features& x, uint32_t label, double weight, LeafVote vote, int max_features,
             Random* rng);
  // Unnormalised class scores for x.
  void votes(const Features& x, LeafVote vote, std::vector<double>& out) const;
  void naive_bayes(const Features& x, std::vector<double>& out) const;
  // Scores binary splits at rule.n_splits thresholds per numeric feature and, per
  // categorical column, one category against the rest and (unless rule.binary_split) a
  // branch per category; kSplit when the best feature
  // beats the second best by the Hoeffding bound (or the bound is under the tie
  // threshold), kDeactivate when keeping the leaf is best.
  SplitChoice best_split(const SplitRule& rule) const;
  // Memory the leaf holds, in bytes (approximate: vectors' capacities).
  size_t bytes() const;

  void save(BinaryWriter& out) const;
  // Reads nominal statistics from files of format version 2 on.
  void load(BinaryReader& in);

  // The Gaussians of numeric feature f, or null when this leaf has none.
  const std::vector<GaussianObserver>* gaussians(uint32_t f) const {
    if (f < kDenseFeatures) return f < stats.size() && !stats[f].empty() ? &stats[f] : nullptr;
    return wide_gaussians(f);
  }

 private:
  bool watches(uint32_t key) const;
  const std::vector<GaussianObserver>* wide_gaussians(uint32_t f) const;
  std::vector<GaussianObserver>& gaussians_to_learn(uint32_t f) {
    if (f < kDenseFeatures) {
      if (f >= stats.size()) stats.resize(f + 1);
      return stats[f];
    }
    return wide_gaussians_to_learn(f);
  }
  std::vector<GaussianObserver>& wide_gaussians_to_learn(uint32_t f);
  const NominalObserver* observer(uint32_t column) const;
  NominalObserver& observer_to_learn(uint32_t column);
};

// Index of the largest value (first on ties), -1 when v is empty.
int argmax(const std::vector<double>& v);

}  // namespace rtml::detail
