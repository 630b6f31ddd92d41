#include "rtml/learn/naive_bayes/gaussian_nb.h"

#include <algorithm>
#include <cmath>

#include "rtml/core/params.h"

namespace rtml {
namespace {

constexpr double kDensityFloor = 1e-9;            // River adds 10e-10 to each density
constexpr double kLogFloor = -20.72326583694641;  // log(1e-9)
constexpr double kLogTwoPi = 1.8378770664093453;

}  // namespace

std::unique_ptr<Model> GaussianNB::make(ParamSet&) { return std::make_unique<GaussianNB>(); }

void GaussianNB::Gaussian::refresh() {
  double var = n > 1 ? m2 / (n - 1) : 0.0;
  if (var > 0) {
    log_norm = -0.5 * (kLogTwoPi + std::log(var));
    inv_2var = 0.5 / var;
  } else {
    log_norm = 0;
    inv_2var = 0;
  }
}

void GaussianNB::learn(const Features& x, const Target& y, double weight) {
  if (y.label >= classes_.size()) classes_.resize(y.label + 1);
  Class& c = classes_[y.label];
  if (c.count == 0) order_.push_back(y.label);
  c.count += weight;
  total_ += weight;
  for (const auto& f : x.numbers()) {
    if (f.index >= c.features.size()) c.features.resize(f.index + 1);
    Gaussian& g = c.features[f.index];
    double old_mean = g.mean;
    g.n += weight;
    g.mean += weight / g.n * (f.value - old_mean);
    g.m2 += weight * (f.value - old_mean) * (f.value - g.mean);
    g.refresh();
  }
}

void GaussianNB::predict(const Features& x, Prediction& out, Workspace&) const {
  out.proba.assign(classes_.size(), 0.0);
  if (order_.empty()) {
    out.has_label = false;
    return;
  }
  double best = -INFINITY;
  uint32_t best_class = order_[0];
  for (uint32_t label : order_) {
    const Class& c = classes_[label];
    double jll = std::log(c.count / total_);
    for (const auto& f : x.numbers()) {
      if (f.index >= c.features.size() || c.features[f.index].inv_2var == 0) {
        jll += kLogFloor;
        continue;
      }
      const Gaussian& g = c.features[f.index];
      double d = f.value - g.mean;
      double lp = g.log_norm - d * d * g.inv_2var;
      // log(1e-9 + pdf): the floor is negligible unless the density is tiny.
      jll += lp > -9.0 ? lp : std::log(kDensityFloor + std::exp(lp));
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

void GaussianNB::save(BinaryWriter& out) const {
  out.put(total_);
  out.put_vector(order_);
  out.put<uint64_t>(classes_.size());
  for (const auto& c : classes_) {
    out.put(c.count);
    out.put<uint64_t>(c.features.size());
    for (const auto& g : c.features) {
      out.put(g.n);
      out.put(g.mean);
      out.put(g.m2);
    }
  }
}

void GaussianNB::load(BinaryReader& in) {
  total_ = in.get<double>();
  order_ = in.get_vector<uint32_t>();
  auto k = in.get<uint64_t>();
  if (k > 1u << 20) in.fail("class count");
  in.check_count(k, 16, "class count");
  classes_.assign(k, Class{});
  for (auto& c : classes_) {
    c.count = in.get<double>();
    auto n = in.get<uint64_t>();
    if (n > 1u << 30) in.fail("feature count");
    in.check_count(n, 8, "feature count");
    c.features.resize(n);
    for (auto& g : c.features) {
      g.n = in.get<double>();
      g.mean = in.get<double>();
      g.m2 = in.get<double>();
      g.refresh();
    }
  }
  for (auto label : order_) {
    if (label >= classes_.size()) in.fail("class index");
  }
}

}  // namespace rtml
