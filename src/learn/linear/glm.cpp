#include "rtml/learn/linear/glm.h"

#include <algorithm>
#include <cmath>

#include "rtml/core/error.h"
#include "rtml/core/params.h"

namespace rtml {

double sigmoid(double x) {
  x = std::clamp(x, -50.0, 50.0);
  return 1.0 / (1.0 + std::exp(-x));
}

void set_binary_prediction(double p, Prediction& out) {
  out.value = p;
  out.proba.resize(2);
  out.proba[0] = 1.0 - p;
  out.proba[1] = p;
  out.label = p > 0.5 ? 1 : 0;
  out.has_label = true;
}

void set_argmax_label(Prediction& out) {
  out.has_label = !out.proba.empty();
  uint32_t best = 0;
  for (uint32_t c = 1; c < out.proba.size(); ++c) {
    if (out.proba[c] > out.proba[best]) best = c;
  }
  out.label = best;
}

void set_votes_prediction(Prediction& out) {
  double sum = 0;
  for (double v : out.proba) sum += v;
  if (!(sum > 0)) {
    out.proba.clear();
    out.has_label = false;
    return;
  }
  for (auto& v : out.proba) v /= sum;
  set_argmax_label(out);
  out.value = out.proba.size() == 2 ? out.proba[1] : out.proba[out.label];
}

namespace {

Glm::Config read_common(ParamSet& p, Glm::Config c, double default_lr) {
  c.optimizer = OptimizerConfig::from_params(p, default_lr);
  c.l2 = p.number("l2", 0.0);
  c.l1 = p.number("l1", 0.0);
  if (c.l1 < 0 || c.l2 < 0) throw Error(p.component() + ": l1 and l2 must be >= 0");
  c.intercept_init = p.number("intercept_init", 0.0);
  c.intercept_lr = p.number("intercept_lr", c.intercept_lr);
  c.clip_gradient = p.number("clip_gradient", 1e12);
  if (c.optimizer.kind == OptimizerKind::kFtrl) {
    c.optimizer.l1 = c.l1;
    c.optimizer.l2 = c.l2;
  }
  return c;
}

}  // namespace

std::unique_ptr<Model> Glm::logistic_regression(ParamSet& p) {
  Config c;
  c.kind = "logistic_regression";
  c.task = Task::kBinary;
  c.loss = GlmLoss::kLog;
  return std::make_unique<Glm>(read_common(p, c, 0.01));
}

std::unique_ptr<Model> Glm::linear_regression(ParamSet& p) {
  Config c;
  c.kind = "linear_regression";
  c.task = Task::kRegression;
  c.loss = GlmLoss::kSquared;
  return std::make_unique<Glm>(read_common(p, c, 0.01));
}

std::unique_ptr<Model> Glm::perceptron(ParamSet& p) {
  Config c;
  c.kind = "perceptron";
  c.task = Task::kBinary;
  c.loss = GlmLoss::kHinge;
  c.hinge_threshold = 0.0;
  c.intercept_lr = 1.0;
  return std::make_unique<Glm>(read_common(p, c, 1.0));
}

Glm::Glm(Config config)
    : config_(std::move(config)),
      optimizer_(Optimizer::make(config_.optimizer)),
      w_(optimizer_->state_per_weight()),
      intercept_(config_.intercept_init) {}

double Glm::raw(const Features& x) const {
  double s = intercept_;
  const size_t n = w_.size();
  for (const auto& f : x.numbers()) {
    if (f.index < n) s += w_.weight(f.index) * f.value;
  }
  return s;
}

void Glm::predict(const Features& x, Prediction& out, Workspace&) const {
  // Reading the weights brings in their rows, optimizer state included, so that a
  // learn() from this event finds them in cache.
  double r = raw(x);
  if (config_.task == Task::kRegression) {
    out.value = r;
    out.has_label = false;
    return;
  }
  set_binary_prediction(sigmoid(r), out);
}

double Glm::loss_gradient(double y, double y_hat) const {
  switch (config_.loss) {
    case GlmLoss::kLog: {
      double s = y > 0.5 ? 1.0 : -1.0;  // classes {0, 1} as {-1, +1}
      double z = y_hat * s;
      if (z > 18.0) return std::exp(-z) * -s;
      if (z < -18.0) return -s;
      return -s / (std::exp(z) + 1.0);
    }
    case GlmLoss::kSquared:
      return 2.0 * (y_hat - y);
    case GlmLoss::kHinge: {
      double s = y > 0.5 ? 1.0 : -1.0;
      return s * y_hat <= config_.hinge_threshold ? -s : 0.0;  // a tie is a mistake
    }
  }
  return 0.0;
}

void Glm::learn(const Features& x, const Target& y, double weight) {
  double target = config_.task == Task::kRegression ? y.value : static_cast<double>(y.label);
  double g = loss_gradient(target, raw(x)) * weight;
  g = std::clamp(g, -config_.clip_gradient, config_.clip_gradient);
  intercept_ -= config_.intercept_lr * g;

  uint32_t need = 0;
  for (const auto& f : x.numbers()) need = std::max(need, f.index + 1);
  if (need > w_.size()) {
    w_.resize(need);
    if (config_.l1 > 0) cum_l1_.resize(need, 0.0);
  }
  bool own = optimizer_->owns_regularization();
  optimizer_->step(w_, x.numbers(), g, own ? 0.0 : config_.l2);
  if (config_.l1 > 0 && !own) apply_l1(x);
}

void Glm::apply_l1(const Features& x) {
  max_cum_l1_ += config_.l1 * optimizer_->learning_rate();
  for (const auto& f : x.numbers()) {
    double& w = w_.row(f.index)[0];
    double before = w;
    if (w > 0) {
      w = std::max(0.0, w - (max_cum_l1_ + cum_l1_[f.index]));
    } else if (w < 0) {
      w = std::min(0.0, w + (max_cum_l1_ - cum_l1_[f.index]));
    }
    cum_l1_[f.index] += w - before;
  }
}

void Glm::save(BinaryWriter& out) const {
  out.put_vector(w_.column(0));
  out.put(intercept_);
  out.put(max_cum_l1_);
  out.put_vector(cum_l1_);
  optimizer_->save(out, w_);
}

void Glm::load(BinaryReader& in) {
  w_ = WeightTable(optimizer_->state_per_weight());
  w_.set_column(0, in.get_vector<double>());
  intercept_ = in.get<double>();
  max_cum_l1_ = in.get<double>();
  cum_l1_ = in.get_vector<double>();
  optimizer_->load(in, w_);
  if (config_.l1 > 0) cum_l1_.resize(w_.size(), 0.0);
}

bool Glm::average(double own_weight, const std::vector<Replica<Model>>& others) {
  // FTRL's weights follow from its per-feature state, which averaging the weights would
  // leave behind.
  if (config_.optimizer.kind == OptimizerKind::kFtrl) return false;
  for (const auto& r : others) {
    if (!dynamic_cast<const Glm*>(r.step)) return false;
  }
  // A feature's weight is averaged over the replicas that know the feature (one that
  // has not seen it has learned nothing about it).
  for (size_t i = 0; i < w_.size(); ++i) {
    double w = own_weight, sum = own_weight * w_.weight(i);
    for (const auto& r : others) {
      const auto& o = static_cast<const Glm&>(*r.step);
      const int64_t j = i < r.index->size() ? (*r.index)[i] : -1;
      if (j < 0 || static_cast<size_t>(j) >= o.w_.size()) continue;
      sum += r.weight * o.w_.weight(static_cast<size_t>(j));
      w += r.weight;
    }
    if (w > 0) w_.row(i)[0] = sum / w;
  }
  intercept_ = replica_mean(intercept_, own_weight, others,
                            [](const Model& m) { return static_cast<const Glm&>(m).intercept_; });
  return true;
}

}  // namespace rtml
