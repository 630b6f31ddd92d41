#include "rtml/learn/conformal/conformal_regressor.h"

#include <algorithm>
#include <cmath>

#include "../ensemble/member_votes.h"
#include "rtml/core/error.h"
#include "rtml/core/params.h"

namespace rtml {
namespace {

// predict()'s memory of the regressor's answer, for learn() on the same event.
struct Scratch {
  ensemble::RememberedAnswers answer;
};

}  // namespace

std::unique_ptr<Model> ConformalRegressor::make(ParamSet& p) {
  ModelRecipe base = ModelRecipe::from_param(p, "model", "hoeffding_tree_regressor");
  double confidence = p.number("confidence", 0.95);
  auto window = p.integer("window", 1000);
  double gamma = p.number("gamma", 0.01);
  if (!(confidence > 0 && confidence < 1) || window < 2 || window > 10000000 ||
      !(gamma >= 0 && gamma < 1)) {
    throw Error("conformal: confidence in (0, 1), window in [2, 10000000], gamma in [0, 1)");
  }
  if (base.task() != Task::kRegression) {
    throw Error("conformal: the model must be a regressor; '" + base.canonical() + "' is a " +
                std::string(task_name(base.task())) + " classifier");
  }
  return std::make_unique<ConformalRegressor>(std::move(base), confidence,
                                              static_cast<size_t>(window), gamma);
}

ConformalRegressor::ConformalRegressor(ModelRecipe base, double confidence, size_t window,
                                       double gamma)
    : base_(std::move(base)),
      model_(base_.make()),
      confidence_(confidence),
      window_(window),
      gamma_(gamma),
      miss_level_(1 - confidence) {
  order_.reserve(window_);
  sorted_.reserve(window_);
}

ConformalRegressor::~ConformalRegressor() = default;

namespace {

// The residual of rank (1-based, clamped to 1..n) r among the sorted ones.
double ranked(const std::vector<double>& sorted, double r) {
  const double n = static_cast<double>(sorted.size());
  return sorted[static_cast<size_t>(std::clamp(r, 1.0, n)) - 1];
}

}  // namespace

double ConformalRegressor::lower_residual() const {
  if (sorted_.empty()) return 0;
  const double n = static_cast<double>(sorted_.size());
  return ranked(sorted_, std::floor((n + 1) * miss_level_ / 2));
}

double ConformalRegressor::upper_residual() const {
  if (sorted_.empty()) return 0;
  const double n = static_cast<double>(sorted_.size());
  return ranked(sorted_, std::ceil((n + 1) * (1 - miss_level_ / 2)));
}

void ConformalRegressor::predict(const Features& x, Prediction& out, Workspace& workspace) const {
  model_->predict(x, out, workspace.member(0));
  auto& s = workspace.scratch<Scratch>();
  s.answer.set(0, out);
  s.answer.remember(x);
  if (sorted_.empty()) return;
  out.has_interval = true;
  out.lower = out.value + lower_residual();
  out.upper = out.value + upper_residual();
}

void ConformalRegressor::learn(const Features& x, const Target& y, double weight) {
  auto& cache = own_workspace().scratch<Scratch>().answer;
  double predicted;
  if (cache.remembered(x, 1)) {
    predicted = cache.answers[0].value;
  } else {
    model_->predict(x, scratch_, own_workspace().member(0));
    predicted = scratch_.value;
  }
  cache.valid = false;
  const double r = y.value - predicted;
  // Adaptive conformal inference: the level moves against the misses, so that the share
  // of values outside their interval comes to 1 - confidence over the stream even when
  // the residuals' spread drifts (a window of old, small ones is too narrow for new ones).
  if (gamma_ > 0 && !sorted_.empty() && std::isfinite(r)) {
    const bool missed = r < lower_residual() || r > upper_residual();
    miss_level_ += gamma_ * ((1 - confidence_) - (missed ? 1.0 : 0.0));
  }
  if (std::isfinite(r)) {
    if (order_.size() == window_) {
      // The oldest residual leaves both the ring and the sorted copy.
      const double old = order_[next_];
      sorted_.erase(std::lower_bound(sorted_.begin(), sorted_.end(), old));
      order_[next_] = r;
    } else {
      order_.push_back(r);
    }
    next_ = (next_ + 1) % window_;
    sorted_.insert(std::upper_bound(sorted_.begin(), sorted_.end(), r), r);
  }
  model_->learn(x, y, weight);
}

void ConformalRegressor::save(BinaryWriter& out) const {
  model_->save(out);
  out.put<uint64_t>(order_.size());
  for (double r : order_) out.put(r);
  out.put<uint64_t>(next_);
  out.put(miss_level_);
}

void ConformalRegressor::load(BinaryReader& in) {
  own_workspace().scratch<Scratch>().answer.valid = false;
  model_->load(in);
  auto n = in.get<uint64_t>();
  if (n > window_) in.fail("conformal: residual count");
  order_.clear();
  for (uint64_t i = 0; i < n; ++i) {
    double r = in.get<double>();
    if (!std::isfinite(r)) in.fail("conformal: a residual");
    order_.push_back(r);
  }
  next_ = in.get<uint64_t>();
  if (next_ >= window_ || (n < window_ && next_ != n % window_)) in.fail("conformal: ring");
  miss_level_ = in.get<double>();
  if (!std::isfinite(miss_level_)) in.fail("conformal: level");
  sorted_.assign(order_.begin(), order_.end());
  std::sort(sorted_.begin(), sorted_.end());
}

}  // namespace rtml
