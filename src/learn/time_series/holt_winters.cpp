#include "rtml/learn/time_series/holt_winters.h"

#include <algorithm>
#include <cmath>

#include "rtml/core/error.h"
#include "rtml/core/params.h"

namespace rtml {
namespace {

size_t start_length(const HoltWinters::Config& c) {
  return static_cast<size_t>(std::max(2, c.seasonality));
}

}  // namespace

std::unique_ptr<Model> HoltWinters::make(ParamSet& p) {
  Config c;
  c.alpha = p.number("alpha", 0.5);
  c.beta = p.number("beta", 0);
  c.gamma = p.number("gamma", 0);
  c.seasonality = static_cast<int>(p.integer("seasonality", 0));
  c.multiplicative = p.boolean("multiplicative", false);
  if (!(c.alpha > 0 && c.alpha <= 1) || !(c.beta >= 0 && c.beta <= 1) ||
      !(c.gamma >= 0 && c.gamma <= 1) || c.seasonality < 0 || c.seasonality > 100000) {
    throw Error(
        "holt_winters: alpha in (0, 1], beta and gamma in [0, 1], seasonality in [0, 100000]");
  }
  if ((c.gamma > 0) != (c.seasonality > 0)) {
    throw Error(
        "holt_winters: a season needs both gamma > 0 and seasonality (its period) > 0; got "
        "gamma=" +
        std::to_string(c.gamma) + ", seasonality=" + std::to_string(c.seasonality));
  }
  if (c.multiplicative && c.seasonality == 0) {
    throw Error("holt_winters: multiplicative=true needs a season (gamma and seasonality)");
  }
  return std::make_unique<HoltWinters>(c);
}

HoltWinters::HoltWinters(Config config) : config_(config) {
  first_.reserve(start_length(config_));
  season_.reserve(static_cast<size_t>(config_.seasonality));
}

double HoltWinters::season_ahead(size_t j) const {
  if (season_.empty()) return config_.multiplicative ? 1.0 : 0.0;
  return season_[(oldest_ + (j - 1)) % season_.size()];
}

double HoltWinters::forecast_at(size_t h) const {
  if (!started_) {
    if (first_.empty()) return 0.0;
    double sum = 0;
    for (double v : first_) sum += v;
    return sum / static_cast<double>(first_.size());
  }
  double base = level_ + static_cast<double>(h) * trend_;
  return config_.multiplicative ? base * season_ahead(h) : base + season_ahead(h);
}

void HoltWinters::predict(const Features&, Prediction& out, Workspace&) const {
  out.value = forecast_at(1);
  out.has_label = false;
}

bool HoltWinters::forecast(size_t horizon, std::vector<double>& out, Workspace&) const {
  out.resize(horizon);
  for (size_t h = 1; h <= horizon; ++h) out[h - 1] = forecast_at(h);
  return true;
}

void HoltWinters::learn(const Features&, const Target& y, double) {
  const double v = y.value;
  const bool trend = config_.beta > 0, mult = config_.multiplicative;
  const double a = config_.alpha, b = config_.beta, g = config_.gamma;
  if (!started_) {
    first_.push_back(v);
    if (first_.size() < start_length(config_)) return;
    double sum = 0;
    for (double f : first_) sum += f;
    level_ = sum / static_cast<double>(first_.size());
    if (trend) {
      double d = 0;
      for (size_t i = 1; i < first_.size(); ++i) d += first_[i] - first_[i - 1];
      trend_ = d / static_cast<double>(first_.size() - 1);
    }
    if (config_.seasonality > 0) {
      for (double f : first_) season_.push_back(mult ? f / level_ : f - level_);
    }
    oldest_ = 0;
    started_ = true;
    return;
  }
  const double last_level = level_, last_trend = trend_;
  const bool seasonal = !season_.empty();
  const double s_old = seasonal ? season_[oldest_] : (mult ? 1.0 : 0.0);  // s_{t-m}
  level_ = a * (mult ? v / s_old : v - s_old) + (1 - a) * (last_level + last_trend);
  if (trend) trend_ = b * (level_ - last_level) + (1 - b) * last_trend;
  if (seasonal) {
    const double base = last_level + last_trend;
    season_[oldest_] = g * (mult ? v / base : v - base) + (1 - g) * s_old;
    oldest_ = (oldest_ + 1) % season_.size();
  }
}

void HoltWinters::save(BinaryWriter& out) const {
  out.put<uint8_t>(started_);
  out.put<uint64_t>(first_.size());
  for (double v : first_) out.put(v);
  out.put<uint64_t>(season_.size());
  for (double v : season_) out.put(v);
  out.put<uint64_t>(oldest_);
  out.put(level_);
  out.put(trend_);
}

void HoltWinters::load(BinaryReader& in) {
  started_ = in.get<uint8_t>() != 0;
  auto n = in.get<uint64_t>();
  if (n > start_length(config_)) in.fail("holt_winters: starting values");
  first_.clear();
  for (uint64_t i = 0; i < n; ++i) first_.push_back(in.get<double>());
  auto m = in.get<uint64_t>();
  if (m != (started_ ? static_cast<uint64_t>(config_.seasonality) : 0)) {
    in.fail("holt_winters: season length");
  }
  season_.clear();
  for (uint64_t i = 0; i < m; ++i) season_.push_back(in.get<double>());
  oldest_ = in.get<uint64_t>();
  if (m > 0 ? oldest_ >= m : oldest_ != 0) in.fail("holt_winters: season position");
  level_ = in.get<double>();
  trend_ = in.get<double>();
}

}  // namespace rtml
