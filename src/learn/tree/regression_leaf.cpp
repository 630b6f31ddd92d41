#include "regression_leaf.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "feature_subset.h"

namespace rtml::detail {

TargetStat TargetStat::merge(const TargetStat& a, const TargetStat& b) {
  TargetStat s;
  s.n = a.n + b.n;
  if (s.n <= 0) return s;
  double d = b.mean - a.mean;
  s.mean = a.mean + d * b.n / s.n;
  s.m2 = a.m2 + b.m2 + d * d * a.n * b.n / s.n;
  return s;
}

TargetStat TargetStat::minus(const TargetStat& total, const TargetStat& part) {
  TargetStat s;
  s.n = total.n - part.n;
  if (s.n <= 0) return TargetStat{};
  s.mean = (total.n * total.mean - part.n * part.mean) / s.n;
  double d = part.mean - s.mean;
  s.m2 = std::max(0.0, total.m2 - part.m2 - d * d * part.n * s.n / total.n);
  return s;
}

bool RegressionLeaf::watches(uint32_t feature) const {
  return !sampled || std::binary_search(subset.begin(), subset.end(), feature);
}

size_t RegressionLeaf::bytes() const {
  // A map node holds the key, a TargetStat and the tree links (about 4 pointers' worth).
  size_t b = sizeof(RegressionLeaf) + w.capacity() * sizeof(double) +
             subset.capacity() * sizeof(uint32_t) + values.capacity() * sizeof(values[0]);
  for (const auto& m : values) b += m.entries.capacity() * sizeof(ValueStats::Entry);
  b += categories.capacity() * sizeof(categories[0]);
  for (const auto& [column, m] : categories) b += m.size() * (8 + sizeof(TargetStat) + 32);
  return b;
}

void RegressionLeaf::deactivate() {
  active = false;
  std::vector<ValueStats>().swap(values);
  decltype(categories)().swap(categories);
}

double RegressionLeaf::model(const Features& x) const {
  double s = intercept;
  for (const auto& f : x.numbers()) {
    if (f.index < w.size()) s += w[f.index] * f.value;
  }
  return s;
}

double RegressionLeaf::value(const Features& x, RegressionVote vote) const {
  switch (vote) {
    case RegressionVote::kMean:
      return target.mean;
    case RegressionVote::kModel:
      return model(x);
    case RegressionVote::kAdaptive:
      return model_error < mean_error ? model(x) : target.mean;
  }
  return target.mean;
}

void RegressionLeaf::learn(const Features& x, double y, double weight, const RegressionRule& rule,
                           int max_features, Random* rng) {
  // Score both leaf predictors on this sample before learning from it.
  double model_pred = model(x);
  mean_error = rule.decay * mean_error + std::abs(y - target.mean);
  model_error = rule.decay * model_error + std::abs(y - model_pred);
  // The leaf's linear model: one SGD step on squared loss, as River's LinearRegression.
  double g = 2.0 * (model_pred - y) * weight;
  intercept -= rule.model_lr * g;
  uint32_t need = 0;
  for (const auto& f : x.numbers()) need = std::max(need, f.index + 1);
  if (need > w.size()) w.resize(need, 0.0);
  for (const auto& f : x.numbers()) w[f.index] -= rule.model_lr * g * f.value;

  target.add(y, weight);
  if (!active) return;
  // 10^digits, exact for digits <= 10 (the rule's range), without a pow per event.
  static constexpr double kPowersOfTen[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10};
  double scale = kPowersOfTen[std::clamp(rule.digits, 0, 10)];
  if (max_features > 0 && !sampled) {
    sampled = true;
    sample_feature_subset(x, max_features, *rng, subset);
  }
  for (const auto& f : x.numbers()) {
    if (!watches(f.index)) continue;
    if (f.index >= values.size()) values.resize(f.index + 1);
    values[f.index].at(std::round(f.value * scale) / scale).add(y, weight);
  }
  for (const auto& c : x.categories()) {
    if (!watches(kCategoryKey | c.column)) continue;
    std::map<uint32_t, TargetStat>* stats = nullptr;
    for (auto& [column, m] : categories) {
      if (column == c.column) stats = &m;
    }
    if (stats == nullptr) {
      stats = &categories.emplace_back(c.column, std::map<uint32_t, TargetStat>{}).second;
    }
    (*stats)[c.id].add(y, weight);
  }
}

RegressionSplit RegressionLeaf::best_split(const RegressionRule& rule) const {
  const TargetStat& total = target;
  double pre = total.variance();
  if (pre <= 0) return {};
  struct Candidate {
    double merit = -std::numeric_limits<double>::infinity();
    RegressionSplit split;
  };
  auto score = [&](const TargetStat& left, const TargetStat& right) {
    return pre - (left.n * left.variance() + right.n * right.variance()) / total.n;
  };
  std::vector<Candidate> best;
  for (size_t f = 0; f < values.size(); ++f) {
    const auto& by_value = values[f];
    if (by_value.size() < 2) continue;
    Candidate c;
    c.split.test.feature = static_cast<int32_t>(f);
    TargetStat left;
    // Thresholds at each kept value: x <= value goes left, as SplitTest sends it.
    for (auto it = by_value.begin(); std::next(it) != by_value.end(); ++it) {
      left = TargetStat::merge(left, it->second);
      TargetStat right = TargetStat::minus(total, left);
      if (left.n < rule.min_samples_split || right.n < rule.min_samples_split) continue;
      double merit = score(left, right);
      if (merit > c.merit) {
        c.merit = merit;
        c.split.test.threshold = it->first;
        c.split.left = left;
        c.split.right = right;
      }
    }
    if (c.merit > -std::numeric_limits<double>::infinity()) best.push_back(std::move(c));
  }
  // One category against the rest (other categories and events without the column,
  // which is where SplitTest sends them).
  for (const auto& [column, stats] : categories) {
    Candidate c;
    c.split.test.feature = static_cast<int32_t>(column);
    c.split.test.nominal = true;
    for (const auto& [id, left] : stats) {
      TargetStat right = TargetStat::minus(total, left);
      if (left.n < rule.min_samples_split || right.n < rule.min_samples_split) continue;
      double merit = score(left, right);
      if (merit > c.merit) {
        c.merit = merit;
        c.split.test.threshold = static_cast<double>(id);
        c.split.left = left;
        c.split.right = right;
      }
    }
    if (!rule.binary_split && stats.size() >= 2) {
      // A branch per category; it needs two branches of min_samples_split, and wins a tie.
      double post = 0;
      int big = 0;
      for (const auto& [id, st] : stats) {
        post += st.n * st.variance();
        big += st.n >= rule.min_samples_split;
      }
      double merit = pre - post / total.n;
      if (big >= 2 && merit >= c.merit) {
        c.merit = merit;
        c.split.test = SplitTest{static_cast<int32_t>(column), true, 0.0, true};
        c.split.ways.assign(stats.begin(), stats.end());
      }
    }
    if (c.merit > -std::numeric_limits<double>::infinity()) best.push_back(std::move(c));
  }
  if (best.empty()) return {};
  std::sort(best.begin(), best.end(),
            [](const Candidate& a, const Candidate& b) { return a.merit < b.merit; });
  const Candidate& top = best.back();
  double second = best.size() > 1 ? best[best.size() - 2].merit : 0.0;
  double bound = std::sqrt(std::log(1.0 / rule.delta) / (2.0 * total.n));
  if (!(top.merit > 0 && (second / top.merit < 1 - bound || bound < rule.tau))) return {};
  RegressionSplit out = top.split;
  out.split = true;
  return out;
}

std::unique_ptr<RegressionLeaf> RegressionLeaf::child(const TargetStat& stat) const {
  auto c = std::make_unique<RegressionLeaf>();
  c->target = stat;
  c->last_attempt = stat.n;
  c->w = w;  // start from the parent's model
  c->intercept = intercept;
  return c;
}

void RegressionLeaf::save(BinaryWriter& out) const {
  out.put(target);
  out.put<uint64_t>(values.size());
  for (const auto& m : values) {
    out.put<uint64_t>(m.size());
    for (const auto& [v, s] : m) {
      out.put(v);
      out.put(s);
    }
  }
  out.put_vector(w);
  out.put(intercept);
  out.put(mean_error);
  out.put(model_error);
  out.put(last_attempt);
  out.put<uint8_t>(sampled);
  out.put_vector(subset);
  out.put<uint8_t>(active);
  out.put<uint64_t>(categories.size());
  for (const auto& [column, m] : categories) {
    out.put(column);
    out.put<uint64_t>(m.size());
    for (const auto& [id, s] : m) {
      out.put(id);
      out.put(s);
    }
  }
}

void RegressionLeaf::load(BinaryReader& in) {
  target = in.get<TargetStat>();
  auto features = in.get<uint64_t>();
  if (features > (1u << 24)) in.fail("tree feature count");
  in.check_count(features, 8, "tree feature count");
  values.assign(features, {});
  for (auto& m : values) {
    auto k = in.get<uint64_t>();
    if (k > (1u << 24)) in.fail("tree value count");
    in.check_count(k, 8, "tree value count");
    for (; k > 0; --k) {
      double v = in.get<double>();
      // Saved in ascending order, each value once.
      if (!m.entries.empty() && !(m.entries.back().first < v)) in.fail("tree value order");
      m.entries.emplace_back(v, in.get<TargetStat>());
    }
  }
  w = in.get_vector<double>();
  intercept = in.get<double>();
  mean_error = in.get<double>();
  model_error = in.get<double>();
  last_attempt = in.get<double>();
  sampled = in.get<uint8_t>();
  subset = in.get_vector<uint32_t>();
  active = in.get<uint8_t>();
  categories.clear();
  if (in.version() >= 2) {
    auto columns = in.get<uint64_t>();
    if (columns > (1u << 24)) in.fail("tree categorical column count");
    for (; columns > 0; --columns) {
      auto& m =
          categories.emplace_back(in.get<uint32_t>(), std::map<uint32_t, TargetStat>{}).second;
      for (auto k = in.get<uint64_t>(); k > 0; --k) {
        uint32_t id = in.get<uint32_t>();
        m[id] = in.get<TargetStat>();
      }
    }
  }
}

}  // namespace rtml::detail
