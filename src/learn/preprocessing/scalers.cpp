#include "rtml/learn/preprocessing/scalers.h"

#include <cmath>
#include <limits>

#include "rtml/core/params.h"

namespace rtml {

std::unique_ptr<Transformer> StandardScaler::make(ParamSet& p) {
  return std::make_unique<StandardScaler>(p.boolean("with_std", true));
}

void StandardScaler::transform(const Features& in, Features& out, const Schema&) const {
  out.clear();
  const size_t n = stats_.size();
  for (const auto& f : in.numbers()) {
    double v = 0.0;
    if (f.index < n) {
      const Stat& s = stats_[f.index];
      v = with_std_ ? (f.value - s.mean) * s.inv_std : f.value - s.mean;
    }
    out.add(f.index, v);
  }
  out.add_categories_of(in);
}

void StandardScaler::learn(const Features& in, Schema&) {
  for (const auto& f : in.numbers()) {
    if (f.index >= stats_.size()) stats_.resize(f.index + 1);
    Stat& s = stats_[f.index];
    s.n += 1;
    double old_mean = s.mean;
    s.mean += (f.value - old_mean) / s.n;
    s.var += ((f.value - old_mean) * (f.value - s.mean) - s.var) / s.n;
    s.inv_std = s.var > 0 ? 1.0 / std::sqrt(s.var) : 0.0;
  }
}

void StandardScaler::save(BinaryWriter& out) const {
  out.put<uint64_t>(stats_.size());
  for (const auto& s : stats_) {
    out.put(s.n);
    out.put(s.mean);
    out.put(s.var);
  }
}

void StandardScaler::load(BinaryReader& in) {
  auto n = in.get<uint64_t>();
  if (n > 1u << 30) in.fail("feature count");
  in.check_count(n, 24, "feature count");
  stats_.assign(n, Stat{});
  for (auto& s : stats_) {
    s.n = in.get<double>();
    s.mean = in.get<double>();
    s.var = in.get<double>();
    s.inv_std = s.var > 0 ? 1.0 / std::sqrt(s.var) : 0.0;
  }
}

std::unique_ptr<Transformer> MinMaxScaler::make(ParamSet&) {
  return std::make_unique<MinMaxScaler>();
}

void MinMaxScaler::transform(const Features& in, Features& out, const Schema&) const {
  out.clear();
  for (const auto& f : in.numbers()) {
    double v = 0.0;
    if (f.index < min_.size()) {
      double range = max_[f.index] - min_[f.index];
      if (range > 0) v = (f.value - min_[f.index]) / range;
    }
    out.add(f.index, v);
  }
  out.add_categories_of(in);
}

void MinMaxScaler::learn(const Features& in, Schema&) {
  for (const auto& f : in.numbers()) {
    if (f.index >= min_.size()) {
      min_.resize(f.index + 1, std::numeric_limits<double>::infinity());
      max_.resize(f.index + 1, -std::numeric_limits<double>::infinity());
    }
    if (f.value < min_[f.index]) min_[f.index] = f.value;
    if (f.value > max_[f.index]) max_[f.index] = f.value;
  }
}

void MinMaxScaler::save(BinaryWriter& out) const {
  out.put_vector(min_);
  out.put_vector(max_);
}

void MinMaxScaler::load(BinaryReader& in) {
  min_ = in.get_vector<double>();
  max_ = in.get_vector<double>();
  if (min_.size() != max_.size()) in.fail("min_max_scaler sizes differ");
}

bool StandardScaler::average(double own_weight, const std::vector<Replica<Transformer>>& others) {
  for (size_t i = 0; i < stats_.size(); ++i) {
    Stat& s = stats_[i];
    double w = s.n > 0 ? own_weight : 0;
    double mean = w * s.mean, var = w * s.var;
    for (const auto& r : others) {
      const auto& o = static_cast<const StandardScaler&>(*r.step);
      const int64_t j = i < r.index->size() ? (*r.index)[i] : -1;
      if (j < 0 || static_cast<size_t>(j) >= o.stats_.size() || o.stats_[j].n <= 0) continue;
      mean += r.weight * o.stats_[j].mean;
      var += r.weight * o.stats_[j].var;
      w += r.weight;
    }
    if (w <= 0) continue;
    s.mean = mean / w;
    s.var = var / w;
    s.inv_std = s.var > 0 ? 1.0 / std::sqrt(s.var) : 0.0;
  }
  return true;
}

}  // namespace rtml
