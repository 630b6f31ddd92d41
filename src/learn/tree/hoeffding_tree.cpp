#include "rtml/learn/tree/hoeffding_tree.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "rtml/core/error.h"
#include "rtml/core/params.h"

namespace rtml {

// Running weighted mean and sample variance of one feature for one class, with min
// and max (Welford).
struct HoeffdingTreeClassifier::Gaussian {
  double w = 0, mean = 0, m2 = 0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();

  void add(double x, double weight) {
    w += weight;
    double d = x - mean;
    mean += weight / w * d;
    m2 += weight * d * (x - mean);
    min = std::min(min, x);
    max = std::max(max, x);
  }
  double variance() const { return w > 1 ? m2 / (w - 1) : 0.0; }
  double pdf(double x) const {
    double v = variance();
    if (v <= 0) return w > 0 && x == mean ? 1.0 : 0.0;  // a point mass, as MOA's estimator
    return std::exp((x - mean) * (x - mean) / (-2 * v)) / std::sqrt(2 * M_PI * v);
  }
  double cdf(double x) const {
    double s = std::sqrt(variance());
    if (s <= 0) return 0.0;
    return 0.5 * (1.0 + std::erf((x - mean) / (s * std::sqrt(2.0))));
  }
};

struct HoeffdingTreeClassifier::Leaf {
  std::vector<double> classes;               // weight by class
  std::vector<std::vector<Gaussian>> stats;  // [feature][class]
  double last_attempt = 0;
  double mc_correct = 0, nb_correct = 0;
  bool active = true;

  double total() const {
    double t = 0;
    for (double c : classes) t += c;
    return t;
  }
  bool pure() const {
    int nonzero = 0;
    for (double c : classes) nonzero += c > 0;
    return nonzero < 2;
  }
};

namespace {

int argmax(const std::vector<double>& v) {
  int best = -1;
  for (size_t i = 0; i < v.size(); ++i) {
    if (best < 0 || v[i] > v[best]) best = static_cast<int>(i);
  }
  return best;
}

double entropy(const std::vector<double>& dist) {
  double total = 0, h = 0;
  for (double d : dist) total += d;
  if (total <= 0) return 0;
  for (double d : dist) {
    if (d > 0) h -= d / total * std::log2(d / total);
  }
  return h;
}

double gini(const std::vector<double>& dist) {
  double total = 0, g = 1;
  for (double d : dist) total += d;
  if (total <= 0) return 0;
  for (double d : dist) g -= (d / total) * (d / total);
  return g;
}

}  // namespace

std::unique_ptr<Model> HoeffdingTreeClassifier::make(ParamSet& p) {
  Config c;
  c.grace_period = p.number("grace_period", 200);
  c.delta = p.number("delta", 1e-7);
  c.tie_threshold = p.number("tau", 0.05);
  c.criterion = p.choice("split_criterion", "info_gain", {"info_gain", "gini"}) == "gini"
                    ? Criterion::kGini
                    : Criterion::kInfoGain;
  auto lp = p.choice("leaf_prediction", "nba", {"mc", "nb", "nba"});
  c.leaf_prediction = lp == "mc"   ? LeafPrediction::kMajority
                      : lp == "nb" ? LeafPrediction::kNaiveBayes
                                   : LeafPrediction::kAdaptive;
  c.n_splits = static_cast<int>(p.integer("n_splits", 10));
  c.max_depth = static_cast<int>(p.integer("max_depth", 1000));
  if (!(c.grace_period >= 1) || !(c.delta > 0 && c.delta < 1) || c.n_splits < 1 ||
      c.max_depth < 1) {
    throw Error(
        "hoeffding_tree: grace_period >= 1, delta in (0, 1), n_splits >= 1, max_depth >= 1");
  }
  return std::make_unique<HoeffdingTreeClassifier>(c);
}

HoeffdingTreeClassifier::HoeffdingTreeClassifier(Config config) : config_(config) {
  leaves_.push_back(std::make_unique<Leaf>());
}

HoeffdingTreeClassifier::~HoeffdingTreeClassifier() = default;

size_t HoeffdingTreeClassifier::leaf_count() const { return leaves_.size(); }

void HoeffdingTreeClassifier::naive_bayes(const Leaf& leaf, const Features& x,
                                          std::vector<double>& out) const {
  // In logs, so that many features do not underflow; a density of 0 (a class whose
  // Gaussian has no spread yet) rules the class out, as the product would.
  double total = leaf.total();
  out.assign(leaf.classes.size(), 0.0);
  double best = -INFINITY;
  for (size_t c = 0; c < leaf.classes.size(); ++c) {
    if (leaf.classes[c] <= 0) {
      out[c] = -INFINITY;
      continue;
    }
    double lv = std::log(leaf.classes[c] / total);
    for (const auto& f : x.numbers()) {
      if (f.index >= leaf.stats.size() || c >= leaf.stats[f.index].size()) {
        if (f.index < leaf.stats.size()) lv = -INFINITY;  // class never seen with the feature
        continue;
      }
      double p = leaf.stats[f.index][c].pdf(f.value);
      lv += p > 0 ? std::log(p) : -INFINITY;
    }
    out[c] = lv;
    best = std::max(best, lv);
  }
  for (auto& v : out) v = best == -INFINITY ? 0.0 : std::exp(v - best);
}

void HoeffdingTreeClassifier::votes(const Leaf& leaf, const Features& x,
                                    std::vector<double>& out) const {
  bool use_nb =
      config_.leaf_prediction == LeafPrediction::kNaiveBayes ||
      (config_.leaf_prediction == LeafPrediction::kAdaptive && leaf.nb_correct >= leaf.mc_correct);
  if (use_nb && !leaf.stats.empty()) {
    naive_bayes(leaf, x, out);
  } else {
    out = leaf.classes;
  }
}

void HoeffdingTreeClassifier::predict(const Features& x, Prediction& out) {
  const Leaf& leaf = *leaves_[nodes_[nodes_.sort(x)].leaf];
  if (leaf.total() <= 0) {
    out.proba.clear();
    out.has_label = false;
    return;
  }
  votes(leaf, x, scratch_);
  double sum = 0;
  for (double v : scratch_) sum += v;
  out.proba.assign(scratch_.size(), 0.0);
  if (sum > 0) {
    for (size_t c = 0; c < scratch_.size(); ++c) out.proba[c] = scratch_[c] / sum;
  }
  set_argmax_label(out);
  out.value = out.proba.size() == 2 ? out.proba[1] : out.proba[out.label];
}

void HoeffdingTreeClassifier::learn(const Features& x, const Target& y, double weight) {
  uint32_t node = nodes_.sort(x);
  Leaf& leaf = *leaves_[nodes_[node].leaf];
  if (config_.leaf_prediction == LeafPrediction::kAdaptive && leaf.total() > 0) {
    if (argmax(leaf.classes) == static_cast<int>(y.label)) leaf.mc_correct += weight;
    naive_bayes(leaf, x, scratch_);
    if (!scratch_.empty() && argmax(scratch_) == static_cast<int>(y.label))
      leaf.nb_correct += weight;
  }
  if (y.label >= leaf.classes.size()) leaf.classes.resize(y.label + 1, 0.0);
  leaf.classes[y.label] += weight;
  if (!leaf.active) return;
  for (const auto& f : x.numbers()) {
    if (f.index >= leaf.stats.size()) leaf.stats.resize(f.index + 1);
    auto& per_class = leaf.stats[f.index];
    if (y.label >= per_class.size()) per_class.resize(y.label + 1);
    per_class[y.label].add(f.value, weight);
  }
  double total = leaf.total();
  if (total - leaf.last_attempt >= config_.grace_period &&
      nodes_[node].depth < static_cast<uint32_t>(config_.max_depth)) {
    attempt_split(node);
    // attempt_split may have turned the node into a split node; its leaf is then gone.
    if (nodes_[node].feature < 0) leaves_[nodes_[node].leaf]->last_attempt = total;
  }
}

void HoeffdingTreeClassifier::attempt_split(uint32_t node_index) {
  Leaf& leaf = *leaves_[nodes_[node_index].leaf];
  if (leaf.pure()) return;
  const auto& pre = leaf.classes;
  const size_t k = pre.size();
  auto impurity = [&](const std::vector<double>& d) {
    return config_.criterion == Criterion::kGini ? gini(d) : entropy(d);
  };
  double total = leaf.total();
  double pre_impurity = impurity(pre);

  struct Candidate {
    double merit;
    int feature;
    double threshold;
    std::vector<double> left, right;
  };
  // The null split (keep the leaf) takes part with merit -inf, as in River: it wins only
  // when no feature offers a valid split.
  std::vector<Candidate> best_per_feature{{-INFINITY, -1, 0, {}, {}}};
  std::vector<double> left(k), right(k);
  for (size_t f = 0; f < leaf.stats.size(); ++f) {
    const auto& per_class = leaf.stats[f];
    if (per_class.empty()) continue;
    double lo = INFINITY, hi = -INFINITY;
    for (const auto& g : per_class) {
      if (g.w <= 0) continue;
      lo = std::min(lo, g.min);
      hi = std::max(hi, g.max);
    }
    if (!(lo < hi)) continue;
    Candidate best{-INFINITY, static_cast<int>(f), 0, {}, {}};
    double step = (hi - lo) / (config_.n_splits + 1);
    for (int i = 1; i <= config_.n_splits; ++i) {
      double t = lo + step * i;
      if (!(lo < t && t < hi)) continue;
      std::fill(left.begin(), left.end(), 0.0);
      std::fill(right.begin(), right.end(), 0.0);
      for (size_t c = 0; c < per_class.size() && c < k; ++c) {
        const Gaussian& g = per_class[c];
        if (g.w <= 0) continue;
        if (t < g.min) {
          right[c] += g.w;
        } else if (t >= g.max) {
          left[c] += g.w;
        } else {
          double l = g.cdf(t) * g.w;
          left[c] += l;
          right[c] += g.w - l;
        }
      }
      double wl = 0, wr = 0;
      for (size_t c = 0; c < k; ++c) {
        wl += left[c];
        wr += right[c];
      }
      // As River and MOA: both branches must hold more than 1% of the weight.
      if (wl / (wl + wr) <= 0.01 || wr / (wl + wr) <= 0.01) continue;
      double merit = pre_impurity - (wl * impurity(left) + wr * impurity(right)) / (wl + wr);
      if (merit > best.merit) best = Candidate{merit, static_cast<int>(f), t, left, right};
    }
    if (best.merit > -INFINITY) best_per_feature.push_back(std::move(best));
  }
  std::sort(best_per_feature.begin(), best_per_feature.end(),
            [](const Candidate& a, const Candidate& b) { return a.merit < b.merit; });
  if (best_per_feature.size() < 2) return;
  const Candidate& best = best_per_feature.back();
  const Candidate& second = best_per_feature[best_per_feature.size() - 2];
  double present = 0;
  for (double c : pre) present += c > 0;
  double range = config_.criterion == Criterion::kGini ? 1.0 : std::log2(std::max(2.0, present));
  double bound = std::sqrt(range * range * std::log(1.0 / config_.delta) / (2.0 * total));
  if (!(best.merit - second.merit > bound || bound < config_.tie_threshold)) return;
  if (best.feature < 0) {
    leaf.active = false;  // not splitting is best: stop spending memory here
    leaf.stats.clear();
    return;
  }
  // Turn the leaf into a split node with two fresh leaves that start from the split's
  // class weights; the left one takes the old leaf's slot.
  uint32_t old_leaf = nodes_[node_index].leaf;
  auto left_leaf = std::make_unique<Leaf>();
  left_leaf->classes = best.left;
  left_leaf->last_attempt = left_leaf->total();
  auto right_leaf = std::make_unique<Leaf>();
  right_leaf->classes = best.right;
  right_leaf->last_attempt = right_leaf->total();
  int32_t feature = best.feature;
  double threshold = best.threshold;
  leaves_[old_leaf] = std::move(left_leaf);  // `leaf` and `best` are gone from here on
  leaves_.push_back(std::move(right_leaf));
  nodes_.split(node_index, feature, threshold, old_leaf, static_cast<uint32_t>(leaves_.size() - 1));
}

void HoeffdingTreeClassifier::save(BinaryWriter& out) const {
  nodes_.save(out);
  out.put<uint64_t>(leaves_.size());
  for (const auto& l : leaves_) {
    out.put_vector(l->classes);
    out.put(l->last_attempt);
    out.put(l->mc_correct);
    out.put(l->nb_correct);
    out.put<uint8_t>(l->active);
    out.put<uint64_t>(l->stats.size());
    for (const auto& per_class : l->stats) out.put_vector(per_class);
  }
}

void HoeffdingTreeClassifier::load(BinaryReader& in) {
  nodes_.load(in);
  size_t n = nodes_.size();
  auto leaves = in.get<uint64_t>();
  if (leaves > n) in.fail("tree leaf count");
  leaves_.clear();
  for (uint64_t i = 0; i < leaves; ++i) {
    auto l = std::make_unique<Leaf>();
    l->classes = in.get_vector<double>();
    l->last_attempt = in.get<double>();
    l->mc_correct = in.get<double>();
    l->nb_correct = in.get<double>();
    l->active = in.get<uint8_t>();
    auto features = in.get<uint64_t>();
    if (features > (1u << 24)) in.fail("tree feature count");
    l->stats.resize(features);
    for (auto& per_class : l->stats) per_class = in.get_vector<Gaussian>();
    leaves_.push_back(std::move(l));
  }
  if (!nodes_.valid(leaves_.size())) in.fail("tree structure");
}

}  // namespace rtml
