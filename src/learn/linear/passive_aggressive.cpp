#include "rtml/learn/linear/passive_aggressive.h"

#include <algorithm>
#include <cmath>

#include "rtml/core/error.h"
#include "rtml/core/params.h"
#include "rtml/learn/linear/glm.h"

namespace rtml {
namespace {

std::unique_ptr<Model> make(ParamSet& p, bool regression) {
  double c = p.number("C", 1.0);
  auto mode = p.integer("mode", 1);
  if (mode < 0 || mode > 2) throw Error(p.component() + ": mode must be 0, 1 or 2");
  double eps = regression ? p.number("eps", 0.1) : 0.0;
  bool intercept = p.boolean("learn_intercept", true);
  return std::make_unique<PassiveAggressive>(regression, c, static_cast<int>(mode), eps, intercept);
}

}  // namespace

std::unique_ptr<Model> PassiveAggressive::classifier(ParamSet& p) { return make(p, false); }
std::unique_ptr<Model> PassiveAggressive::regressor(ParamSet& p) { return make(p, true); }

PassiveAggressive::PassiveAggressive(bool regression, double c, int mode, double eps,
                                     bool learn_intercept)
    : regression_(regression), c_(c), mode_(mode), eps_(eps), learn_intercept_(learn_intercept) {}

double PassiveAggressive::raw(const Features& x) const {
  double s = intercept_;
  for (const auto& f : x.numbers()) {
    if (f.index < w_.size()) s += w_[f.index] * f.value;
  }
  return s;
}

void PassiveAggressive::predict(const Features& x, Prediction& out, Workspace&) const {
  double r = raw(x);
  if (regression_) {
    out.value = r;
    out.has_label = false;
  } else {
    set_binary_prediction(sigmoid(r), out);
  }
}

void PassiveAggressive::learn(const Features& x, const Target& y, double weight) {
  (void)weight;
  double r = raw(x);
  double loss, direction;
  if (regression_) {
    double err = y.value - r;
    loss = std::max(0.0, std::abs(err) - eps_);
    direction = err >= 0 ? 1.0 : -1.0;
  } else {
    double s = y.label == 1 ? 1.0 : -1.0;
    loss = std::max(0.0, 1.0 - s * r);
    direction = s;
  }
  if (loss == 0.0) return;
  double norm = 0;
  uint32_t need = 0;
  for (const auto& f : x.numbers()) {
    norm += f.value * f.value;
    need = std::max(need, f.index + 1);
  }
  double tau;
  if (mode_ == 0) {
    tau = norm > 0 ? loss / norm : 0.0;
  } else if (mode_ == 1) {
    tau = norm > 0 ? std::min(c_, loss / norm) : c_;
  } else {
    tau = loss / (norm + 0.5 / c_);
  }
  if (need > w_.size()) w_.resize(need, 0.0);
  for (const auto& f : x.numbers()) w_[f.index] += tau * direction * f.value;
  if (learn_intercept_) intercept_ += tau * direction;
}

void PassiveAggressive::save(BinaryWriter& out) const {
  out.put_vector(w_);
  out.put(intercept_);
}

void PassiveAggressive::load(BinaryReader& in) {
  w_ = in.get_vector<double>();
  intercept_ = in.get<double>();
}

}  // namespace rtml
