#include "rtml/learn/naive_bayes/multinomial_nb.h"

#include <cmath>

#include "rtml/core/error.h"
#include "rtml/core/params.h"

namespace rtml {

std::unique_ptr<Model> MultinomialNB::make(ParamSet& p) {
  double alpha = p.number("alpha", 1.0);
  if (!(alpha > 0)) throw Error("multinomial_nb: alpha must be > 0");
  return std::make_unique<MultinomialNB>(alpha);
}

void MultinomialNB::learn(const Features& x, const Target& y, double weight) {
  if (y.label >= classes_.size()) classes_.resize(y.label + 1);
  Class& c = classes_[y.label];
  if (c.count == 0) order_.push_back(y.label);
  c.count += weight;
  total_ += weight;
  for (const auto& f : x.numbers()) {
    double v = f.value > 0 ? f.value * weight : 0.0;
    if (f.index >= seen_.size()) seen_.resize(f.index + 1, 0);
    if (!seen_[f.index]) {
      seen_[f.index] = 1;
      vocabulary_ += 1;
    }
    if (f.index >= c.counts.size()) c.counts.resize(f.index + 1, 0.0);
    c.counts[f.index] += v;
    c.total += v;
  }
}

void MultinomialNB::predict(const Features& x, Prediction& out, Workspace&) const {
  out.proba.assign(classes_.size(), 0.0);
  if (order_.empty()) {
    out.has_label = false;
    return;
  }
  double best = -INFINITY;
  uint32_t best_class = order_[0];
  for (uint32_t label : order_) {
    const Class& c = classes_[label];
    double denominator = std::log(c.total + alpha_ * vocabulary_);
    double jll = std::log(c.count / total_);
    for (const auto& f : x.numbers()) {
      if (f.value <= 0) continue;
      double count = f.index < c.counts.size() ? c.counts[f.index] : 0.0;
      jll += f.value * (std::log(count + alpha_) - denominator);
    }
    out.proba[label] = jll;
    if (jll > best) {
      best = jll;
      best_class = label;
    }
  }
  double sum = 0;
  for (uint32_t label : order_) sum += (out.proba[label] = std::exp(out.proba[label] - best));
  for (uint32_t label : order_) out.proba[label] /= sum;
  out.label = best_class;
  out.has_label = true;
  out.value = out.proba.size() == 2 ? out.proba[1] : out.proba[best_class];
}

void MultinomialNB::save(BinaryWriter& out) const {
  out.put(total_);
  out.put(vocabulary_);
  out.put_vector(order_);
  out.put_vector(seen_);
  out.put<uint64_t>(classes_.size());
  for (const auto& c : classes_) {
    out.put(c.count);
    out.put(c.total);
    out.put_vector(c.counts);
  }
}

void MultinomialNB::load(BinaryReader& in) {
  total_ = in.get<double>();
  vocabulary_ = in.get<double>();
  order_ = in.get_vector<uint32_t>();
  seen_ = in.get_vector<uint8_t>();
  auto k = in.get<uint64_t>();
  if (k > 1u << 20) in.fail("class count");
  in.check_count(k, 24, "class count");
  classes_.assign(k, Class{});
  for (auto& c : classes_) {
    c.count = in.get<double>();
    c.total = in.get<double>();
    c.counts = in.get_vector<double>();
  }
  for (auto label : order_) {
    if (label >= classes_.size()) in.fail("class index");
  }
}

}  // namespace rtml
