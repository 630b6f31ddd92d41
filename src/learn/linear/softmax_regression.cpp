#include "rtml/learn/linear/softmax_regression.h"

#include <algorithm>
#include <cmath>

#include "rtml/core/params.h"

namespace rtml {

std::unique_ptr<Model> SoftmaxRegression::make(ParamSet& p) {
  auto opt = OptimizerConfig::from_params(p, 0.01);
  double l2 = p.number("l2", 0.0);
  if (opt.kind == OptimizerKind::kFtrl) opt.l2 = l2;
  return std::make_unique<SoftmaxRegression>(opt, l2);
}

SoftmaxRegression::SoftmaxRegression(OptimizerConfig optimizer, double l2)
    : optimizer_config_(optimizer), l2_(l2) {}

void SoftmaxRegression::add_classes(size_t n) {
  while (classes_.size() < n) {
    Class c;
    c.optimizer = Optimizer::make(optimizer_config_);
    c.w = WeightTable(c.optimizer->state_per_weight());
    classes_.push_back(std::move(c));
  }
}

void SoftmaxRegression::predict(const Features& x, Prediction& out, Workspace&) const {
  const size_t k = classes_.size();
  out.proba.resize(k);
  if (k == 0) {
    out.has_label = false;
    return;
  }
  double top = -INFINITY;
  for (size_t c = 0; c < k; ++c) {
    const auto& cl = classes_[c];
    double s = cl.intercept;
    for (const auto& f : x.numbers()) {
      if (f.index < cl.w.size()) s += cl.w.weight(f.index) * f.value;
    }
    out.proba[c] = s;
    top = std::max(top, s);
  }
  double sum = 0;
  for (auto& p : out.proba) sum += (p = std::exp(p - top));
  for (auto& p : out.proba) p /= sum;
  set_argmax_label(out);
  out.value = k == 2 ? out.proba[1] : out.proba[out.label];
}

void SoftmaxRegression::learn(const Features& x, const Target& y, double weight) {
  add_classes(static_cast<size_t>(y.label) + 1);
  Prediction p;
  p.proba.swap(scores_);
  predict(x, p);
  uint32_t need = 0;
  for (const auto& f : x.numbers()) need = std::max(need, f.index + 1);
  bool own = optimizer_config_.kind == OptimizerKind::kFtrl;
  for (size_t c = 0; c < classes_.size(); ++c) {
    auto& cl = classes_[c];
    cl.w.resize(need);
    double g = (p.proba[c] - (c == y.label ? 1.0 : 0.0)) * weight;
    cl.intercept -= optimizer_config_.lr * g;
    cl.optimizer->step(cl.w, x.numbers(), g, own ? 0.0 : l2_);
  }
  scores_.swap(p.proba);
}

void SoftmaxRegression::save(BinaryWriter& out) const {
  out.put<uint64_t>(classes_.size());
  for (const auto& c : classes_) {
    out.put_vector(c.w.column(0));
    out.put(c.intercept);
    c.optimizer->save(out, c.w);
  }
}

void SoftmaxRegression::load(BinaryReader& in) {
  classes_.clear();
  auto n = in.get<uint64_t>();
  if (n > 1u << 20) in.fail("class count");
  in.check_count(n, 24, "class count");
  add_classes(n);
  for (auto& c : classes_) {
    c.w.set_column(0, in.get_vector<double>());
    c.intercept = in.get<double>();
    c.optimizer->load(in, c.w);
  }
}

}  // namespace rtml
