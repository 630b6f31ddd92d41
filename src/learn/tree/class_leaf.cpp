#include "class_leaf.h"

#include <algorithm>
#include <cmath>

#include "feature_subset.h"

namespace rtml::detail {

namespace {

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

int argmax(const std::vector<double>& v) {
  int best = -1;
  for (size_t i = 0; i < v.size(); ++i) {
    if (best < 0 || v[i] > v[best]) best = static_cast<int>(i);
  }
  return best;
}

void GaussianObserver::add(double x, double weight) {
  w += weight;
  double d = x - mean;
  mean += weight / w * d;
  m2 += weight * d * (x - mean);
  min = std::min(min, x);
  max = std::max(max, x);
  double v = variance();
  log_norm = v > 0 ? -0.5 * std::log(2 * M_PI * v) : 0.0;
  neg_half_inv_var = v > 0 ? -0.5 / v : 0.0;
}

double GaussianObserver::pdf(double x) const {
  double v = variance();
  if (v <= 0) return w > 0 && x == mean ? 1.0 : 0.0;  // a point mass, as MOA's estimator
  return std::exp((x - mean) * (x - mean) / (-2 * v)) / std::sqrt(2 * M_PI * v);
}

double GaussianObserver::log_pdf(double x) const {
  if (neg_half_inv_var == 0) return 0.0;  // a point mass: log 1 on the mean, else no evidence
  double lp = (x - mean) * (x - mean) * neg_half_inv_var + log_norm;
  // Where the density itself underflows to 0, River adds nothing; so do we.
  return lp < -745.0 ? 0.0 : lp;
}

double GaussianObserver::cdf(double x) const {
  double s = std::sqrt(variance());
  if (s <= 0) return 0.0;
  return 0.5 * (1.0 + std::erf((x - mean) / (s * std::sqrt(2.0))));
}

void NominalObserver::add(uint32_t id, uint32_t label, double weight) {
  auto [slot, added] = categories.insert(id);
  if (added) weights.emplace_back();
  auto& w = weights[slot];
  if (label >= w.size()) w.resize(label + 1, 0.0);
  w[label] += weight;
  if (label >= observed.size()) observed.resize(label + 1, 0.0);
  observed[label] += weight;
}

double NominalObserver::log_likelihood(uint32_t id, size_t c) const {
  double seen = c < observed.size() ? observed[c] : 0.0;
  double w = 0;
  if (int64_t slot = categories.find(id); slot >= 0) {
    const auto& per_class = weights[slot];
    w = c < per_class.size() ? per_class[c] : 0.0;
  }
  return std::log((w + 1.0) / (seen + static_cast<double>(categories.size()) + 1.0));
}

void NominalObserver::one_vs_rest(size_t slot, size_t k, std::vector<double>& left,
                                  std::vector<double>& right) const {
  const auto& in = weights[slot];
  for (size_t c = 0; c < k; ++c) {
    left[c] = c < in.size() ? in[c] : 0.0;
    right[c] = (c < observed.size() ? observed[c] : 0.0) - left[c];
  }
}

size_t NominalObserver::bytes() const {
  size_t b = sizeof(NominalObserver) + categories.bytes() +
             weights.capacity() * sizeof(weights[0]) + observed.capacity() * sizeof(double);
  for (const auto& w : weights) b += w.capacity() * sizeof(double);
  return b;
}

void ClassLeaf::deactivate() {
  active = false;
  std::vector<std::vector<GaussianObserver>>().swap(stats);
  wide = SlotIndex();
  std::vector<std::vector<GaussianObserver>>().swap(wide_stats);
  std::vector<NominalObserver>().swap(nominal);
  std::vector<uint32_t>().swap(subset);
}

void ClassLeaf::shape_like(const ClassLeaf& parent) {
  // Wide features are met one by one and get their slots then.
  if (parent.sampled) return;  // a random subset is drawn at the first event
  stats.resize(parent.stats.size());
  for (size_t f = 0; f < stats.size(); ++f) {
    if (!parent.stats[f].empty()) {
      stats[f].resize(std::max(parent.stats[f].size(), classes.size()));
    }
  }
}

double ClassLeaf::total() const {
  double t = 0;
  for (double c : classes) t += c;
  return t;
}

bool ClassLeaf::pure() const {
  int nonzero = 0;
  for (double c : classes) nonzero += c > 0;
  return nonzero < 2;
}

bool ClassLeaf::watches(uint32_t feature) const {
  if (!sampled) return true;
  return std::binary_search(subset.begin(), subset.end(), feature);
}

void ClassLeaf::learn(const Features& x, uint32_t label, double weight, LeafVote vote,
                      int max_features, Random* rng) {
  if (vote == LeafVote::kAdaptive && active && total() > 0) {
    // Scores the two ways of voting on this event before learning from it.
    if (argmax(classes) == static_cast<int>(label)) mc_correct += weight;
    thread_local std::vector<double> nb;
    naive_bayes(x, nb);
    if (!nb.empty() && argmax(nb) == static_cast<int>(label)) nb_correct += weight;
  }
  if (label >= classes.size()) classes.resize(label + 1, 0.0);
  classes[label] += weight;
  if (!active) return;
  if (max_features > 0 && !sampled && rng != nullptr) {
    sampled = true;
    sample_feature_subset(x, max_features, *rng, subset);
  }
  for (const auto& f : x.numbers()) {
    if (!watches(f.index)) continue;
    auto& per_class = gaussians_to_learn(f.index);
    if (label >= per_class.size()) per_class.resize(label + 1);
    per_class[label].add(f.value, weight);
  }
  for (const auto& c : x.categories()) {
    if (watches(kCategoryKey | c.column)) observer_to_learn(c.column).add(c.id, label, weight);
  }
}

std::vector<GaussianObserver>& ClassLeaf::wide_gaussians_to_learn(uint32_t f) {
  auto [slot, added] = wide.insert(f);
  if (added) wide_stats.emplace_back();
  return wide_stats[slot];
}

const std::vector<GaussianObserver>* ClassLeaf::wide_gaussians(uint32_t f) const {
  int64_t slot = wide.find(f);
  return slot < 0 ? nullptr : &wide_stats[slot];
}

const NominalObserver* ClassLeaf::observer(uint32_t column) const {
  for (const auto& n : nominal) {
    if (n.column == column) return &n;
  }
  return nullptr;
}

NominalObserver& ClassLeaf::observer_to_learn(uint32_t column) {
  for (auto& n : nominal) {
    if (n.column == column) return n;
  }
  NominalObserver& n = nominal.emplace_back();
  n.column = column;
  return n;
}

void ClassLeaf::naive_bayes(const Features& x, std::vector<double>& out) const {
  // In logs, so that many features do not underflow; a density of 0 (a class whose
  // Gaussian has no spread yet) rules the class out, as the product would. Feature by
  // feature, so that each feature's statistics are looked up once; each class still adds
  // its terms in the same order (prior, numbers, categories).
  double sum = total();
  const size_t k = classes.size();
  out.resize(k);
  for (size_t c = 0; c < k; ++c) out[c] = classes[c] > 0 ? std::log(classes[c] / sum) : -INFINITY;
  for (const auto& f : x.numbers()) {
    const auto* per_class = gaussians(f.index);
    if (per_class == nullptr) continue;  // not watched
    // A class past the end has not been seen with the feature here.
    size_t n = std::min(k, per_class->size());
    for (size_t c = 0; c < n; ++c) {
      if (classes[c] > 0) out[c] += (*per_class)[c].log_pdf(f.value);
    }
  }
  for (const auto& cat : x.categories()) {
    const NominalObserver* o = observer(cat.column);
    if (o == nullptr) continue;
    for (size_t c = 0; c < k; ++c) {
      if (classes[c] > 0) out[c] += o->log_likelihood(cat.id, c);
    }
  }
  double best = -INFINITY;
  for (double v : out) best = std::max(best, v);
  for (auto& v : out) v = best == -INFINITY ? 0.0 : std::exp(v - best);
}

void ClassLeaf::votes(const Features& x, LeafVote vote, std::vector<double>& out) const {
  bool use_nb =
      vote == LeafVote::kNaiveBayes || (vote == LeafVote::kAdaptive && nb_correct >= mc_correct);
  if (use_nb && active && (!stats.empty() || wide.size() > 0 || !nominal.empty())) {
    naive_bayes(x, out);
  } else {
    out = classes;
  }
}

SplitChoice ClassLeaf::best_split(const SplitRule& rule) const {
  SplitChoice choice;
  if (pure()) return choice;
  const size_t k = classes.size();
  auto impurity = [&](const std::vector<double>& d) { return rule.gini ? gini(d) : entropy(d); };
  double sum = total();
  double pre_impurity = impurity(classes);

  // The best and second-best merits over features; the null split (keep the leaf) takes
  // part with merit -inf, as in River: it wins only when no feature offers a valid split.
  double best_merit = -INFINITY, second_merit = -INFINITY;
  int candidates = 1;  // the null split
  thread_local std::vector<double> left, right;
  left.assign(k, 0.0);
  right.assign(k, 0.0);
  // The merit of sending `left` and `right` down two branches; -inf unless, as in River
  // and MOA, both branches hold more than 1% of the weight.
  auto split_merit = [&]() -> double {
    double wl = 0, wr = 0;
    for (size_t c = 0; c < k; ++c) {
      wl += left[c];
      wr += right[c];
    }
    if (!(wl / (wl + wr) > 0.01 && wr / (wl + wr) > 0.01)) return -INFINITY;
    return pre_impurity - (wl * impurity(left) + wr * impurity(right)) / (wl + wr);
  };
  auto consider = [&](double feature_best, const SplitTest& test) {
    if (feature_best == -INFINITY) return;
    ++candidates;
    if (feature_best > best_merit) {
      second_merit = best_merit;
      best_merit = feature_best;
      choice.test = test;
    } else if (feature_best > second_merit) {
      second_merit = feature_best;
    }
  };
  // The best threshold of numeric feature f.
  auto numeric_candidate = [&](uint32_t f, const std::vector<GaussianObserver>& per_class) {
    if (per_class.empty()) return;
    double lo = INFINITY, hi = -INFINITY;
    for (const auto& g : per_class) {
      if (g.w <= 0) continue;
      lo = std::min(lo, g.min);
      hi = std::max(hi, g.max);
    }
    if (!(lo < hi)) return;
    double feature_best = -INFINITY, feature_threshold = 0;
    double step = (hi - lo) / (rule.n_splits + 1);
    for (int i = 1; i <= rule.n_splits; ++i) {
      double t = lo + step * i;
      if (!(lo < t && t < hi)) continue;
      std::fill(left.begin(), left.end(), 0.0);
      std::fill(right.begin(), right.end(), 0.0);
      for (size_t c = 0; c < per_class.size() && c < k; ++c) {
        const GaussianObserver& g = per_class[c];
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
      double merit = split_merit();
      if (merit > feature_best) {
        feature_best = merit;
        feature_threshold = t;
      }
    }
    consider(feature_best, SplitTest{static_cast<int32_t>(f), false, feature_threshold});
  };
  for (size_t f = 0; f < stats.size(); ++f) numeric_candidate(static_cast<uint32_t>(f), stats[f]);
  for (size_t slot = 0; slot < wide.size(); ++slot)
    numeric_candidate(wide.keys[slot], wide_stats[slot]);
  // One category against the rest of the events that had the column, as River's binary
  // nominal splits; a column competes with its best category, like a numeric feature
  // with its best threshold.
  for (const NominalObserver& o : nominal) {
    double feature_best = -INFINITY;
    uint32_t feature_category = 0;
    for (size_t slot = 0; slot < o.categories.size(); ++slot) {
      o.one_vs_rest(slot, k, left, right);
      double merit = split_merit();
      if (merit > feature_best) {
        feature_best = merit;
        feature_category = o.categories.keys[slot];
      }
    }
    SplitTest test{static_cast<int32_t>(o.column), true, static_cast<double>(feature_category)};
    if (!rule.binary_split && o.categories.size() >= 2) {
      // A branch per category; as in River it needs two branches over 1% of the weight,
      // and it wins a tie with the best single category.
      thread_local std::vector<double> branch_w;
      branch_w.clear();
      double total_w = 0, post = 0;
      for (const auto& in : o.weights) {
        double w = 0;
        for (double v : in) w += v;
        branch_w.push_back(w);
        total_w += w;
        post += w * impurity(in);
      }
      int big = 0;
      for (double w : branch_w) big += w / total_w > 0.01;
      double merit = big >= 2 ? pre_impurity - post / total_w : -INFINITY;
      if (merit > -INFINITY && merit >= feature_best) {
        feature_best = merit;
        test = SplitTest{static_cast<int32_t>(o.column), true, 0.0, true};
      }
    }
    consider(feature_best, test);
  }
  if (candidates < 2) return choice;
  // With one real candidate the null split is second; it never beats a real one.
  double present = 0;
  for (double c : classes) present += c > 0;
  double range = rule.gini ? 1.0 : std::log2(std::max(2.0, present));
  double bound = std::sqrt(range * range * std::log(1.0 / rule.delta) / (2.0 * sum));
  if (!(best_merit - second_merit > bound || bound < rule.tie_threshold)) return choice;
  if (choice.test.feature < 0) {
    choice.kind = SplitChoice::kDeactivate;
    return choice;
  }
  // The winning split's class weights, recomputed once rather than kept per candidate.
  choice.left.assign(k, 0.0);
  choice.right.assign(k, 0.0);
  choice.kind = SplitChoice::kSplit;
  if (choice.test.multiway) {
    const NominalObserver& o = *observer(static_cast<uint32_t>(choice.test.feature));
    choice.way_ids = o.categories.keys;
    choice.way_weights = o.weights;
    for (auto& w : choice.way_weights) w.resize(k, 0.0);
    return choice;
  }
  if (choice.test.nominal) {
    const NominalObserver& o = *observer(static_cast<uint32_t>(choice.test.feature));
    o.one_vs_rest(o.categories.find(static_cast<uint32_t>(choice.test.threshold)), k, choice.left,
                  choice.right);
    return choice;
  }
  const auto& per_class = *gaussians(static_cast<uint32_t>(choice.test.feature));
  for (size_t c = 0; c < per_class.size() && c < k; ++c) {
    const GaussianObserver& g = per_class[c];
    if (g.w <= 0) continue;
    double t = choice.test.threshold;
    double l = t < g.min ? 0.0 : t >= g.max ? g.w : g.cdf(t) * g.w;
    choice.left[c] = l;
    choice.right[c] = g.w - l;
  }
  return choice;
}

size_t ClassLeaf::bytes() const {
  size_t b = sizeof(ClassLeaf) + classes.capacity() * sizeof(double) +
             subset.capacity() * sizeof(uint32_t) +
             stats.capacity() * sizeof(std::vector<GaussianObserver>);
  for (const auto& s : stats) b += s.capacity() * sizeof(GaussianObserver);
  b += wide.bytes() + wide_stats.capacity() * sizeof(wide_stats[0]);
  for (const auto& s : wide_stats) b += s.capacity() * sizeof(GaussianObserver);
  for (const auto& n : nominal) b += n.bytes();
  return b;
}

void ClassLeaf::save(BinaryWriter& out) const {
  out.put_vector(classes);
  out.put(last_attempt);
  out.put(mc_correct);
  out.put(nb_correct);
  out.put<uint8_t>(active);
  out.put<uint8_t>(sampled);
  out.put_vector(subset);
  out.put<uint64_t>(stats.size());
  for (const auto& per_class : stats) out.put_vector(per_class);
  wide.save(out);
  for (const auto& per_class : wide_stats) out.put_vector(per_class);
  out.put<uint64_t>(nominal.size());
  for (const auto& n : nominal) {
    out.put(n.column);
    n.categories.save(out);
    for (const auto& w : n.weights) out.put_vector(w);
    out.put_vector(n.observed);
  }
}

void ClassLeaf::load(BinaryReader& in) {
  classes = in.get_vector<double>();
  last_attempt = in.get<double>();
  mc_correct = in.get<double>();
  nb_correct = in.get<double>();
  active = in.get<uint8_t>();
  sampled = in.get<uint8_t>();
  subset = in.get_vector<uint32_t>();
  auto features = in.get<uint64_t>();
  if (features > (1u << 24)) in.fail("tree feature count");
  in.check_count(features, 8, "tree feature count");
  stats.resize(features);
  for (auto& per_class : stats) per_class = in.get_vector<GaussianObserver>();
  wide = SlotIndex();
  wide_stats.clear();
  nominal.clear();
  if (in.version() < 2) {
    // Version 1 kept every feature in the dense table: move the wide ones out.
    for (uint32_t f = kDenseFeatures; f < stats.size(); ++f) {
      if (!stats[f].empty()) gaussians_to_learn(f) = std::move(stats[f]);
    }
    if (stats.size() > kDenseFeatures) stats.resize(kDenseFeatures);
    return;
  }
  if (stats.size() > kDenseFeatures) in.fail("tree dense feature count");
  wide.load(in, "tree wide feature repeated");
  for (uint32_t f : wide.keys) {
    if (f < kDenseFeatures) in.fail("tree wide feature");
  }
  wide_stats.resize(wide.size());
  for (auto& per_class : wide_stats) per_class = in.get_vector<GaussianObserver>();
  auto columns = in.get<uint64_t>();
  if (columns > (1u << 24)) in.fail("tree categorical column count");
  in.check_count(columns, 12, "tree categorical column count");
  nominal.resize(columns);
  for (auto& n : nominal) {
    n.column = in.get<uint32_t>();
    n.categories.load(in, "tree category repeated");
    n.weights.resize(n.categories.size());
    for (auto& w : n.weights) w = in.get_vector<double>();
    n.observed = in.get_vector<double>();
  }
}

}  // namespace rtml::detail
