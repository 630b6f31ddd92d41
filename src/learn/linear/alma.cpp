#include "rtml/learn/linear/alma.h"

#include <algorithm>
#include <cmath>

#include "rtml/core/error.h"
#include "rtml/core/params.h"
#include "rtml/learn/linear/glm.h"

namespace rtml {

std::unique_ptr<Model> Alma::make(ParamSet& p) {
  Config c;
  c.p = p.number("p", 2);
  c.alpha = p.number("alpha", 0.9);
  c.b = p.number("B", 1 / 0.9);
  c.c = p.number("C", std::sqrt(2.0));
  if (!(c.p > 1) || !(c.alpha > 0 && c.alpha <= 1) || !(c.b > 0) || !(c.c > 0)) {
    throw Error("alma: p > 1, alpha in (0, 1], B > 0 and C > 0");
  }
  return std::make_unique<Alma>(c);
}

double Alma::magnitude(double w) const {
  return config_.p == 2 ? w * w : std::pow(std::abs(w), config_.p);
}

double Alma::raw(const Features& x) const {
  double s = 0;
  for (const auto& f : x.numbers()) {
    if (f.index < w_.size()) s += w_[f.index] * f.value;
  }
  return s;
}

void Alma::predict(const Features& x, Prediction& out, Workspace&) const {
  set_binary_prediction(sigmoid(raw(x)), out);
}

void Alma::set_weight(uint32_t index, double value) {
  norm_sum_ += magnitude(value) - magnitude(w_[index]);
  w_[index] = value;
  ++changes_;
}

void Alma::learn(const Features& x, const Target& y, double weight) {
  (void)weight;
  const double s = y.label == 1 ? 1.0 : -1.0;
  const double root_p = std::sqrt(config_.p - 1);
  const double root_k = std::sqrt(static_cast<double>(k_));
  const double gamma = config_.b * root_p / root_k;
  if (s * raw(x) >= (1 - config_.alpha) * gamma) return;
  const double eta = config_.c / (root_p * root_k);
  uint32_t need = 0;
  for (const auto& f : x.numbers()) need = std::max(need, f.index + 1);
  if (need > w_.size()) w_.resize(need, 0.0);
  for (const auto& f : x.numbers()) set_weight(f.index, w_[f.index] + eta * s * f.value);
  if (changes_ > (uint64_t{1} << 20) + w_.size()) {
    norm_sum_ = 0;
    for (double w : w_) norm_sum_ += magnitude(w);
    changes_ = 0;
  }
  const double norm = std::pow(std::max(norm_sum_, 0.0), 1 / config_.p);
  if (norm > 1) {
    for (const auto& f : x.numbers()) set_weight(f.index, w_[f.index] / norm);
  }
  ++k_;
}

void Alma::save(BinaryWriter& out) const {
  out.put<uint64_t>(w_.size());
  for (double w : w_) out.put(w);
  out.put(k_);
  // The running sum as it stands (not recomputed on load): a reloaded model goes on
  // exactly as the saved one would.
  out.put(norm_sum_);
  out.put(changes_);
}

void Alma::load(BinaryReader& in) {
  auto n = in.get<uint64_t>();
  if (n > (uint64_t{1} << 32)) in.fail("alma: weight count");
  w_.resize(n);
  for (auto& w : w_) {
    w = in.get<double>();
    if (!std::isfinite(w)) in.fail("alma: weight");
  }
  k_ = in.get<uint64_t>();
  if (k_ < 1) in.fail("alma: update count");
  norm_sum_ = in.get<double>();
  changes_ = in.get<uint64_t>();
  if (!std::isfinite(norm_sum_)) in.fail("alma: norm");
}

}  // namespace rtml
