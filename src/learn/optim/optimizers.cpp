#include <cmath>

#include "rtml/core/error.h"
#include "rtml/core/params.h"
#include "rtml/learn/optim/optimizer.h"

namespace rtml {

OptimizerConfig OptimizerConfig::from_params(ParamSet& params, double default_lr) {
  OptimizerConfig c;
  auto kind = params.choice("optimizer", "sgd", {"sgd", "adagrad", "adam", "ftrl"});
  // Defaults follow River: SGD takes the model's default, AdaGrad and Adam 0.1, FTRL 0.05.
  double lr_default = default_lr;
  if (kind == "adagrad") {
    c.kind = OptimizerKind::kAdaGrad;
    lr_default = 0.1;
  } else if (kind == "adam") {
    c.kind = OptimizerKind::kAdam;
    lr_default = 0.1;
  } else if (kind == "ftrl") {
    c.kind = OptimizerKind::kFtrl;
    lr_default = 0.05;
  }
  c.lr = params.number("lr", lr_default);
  if (!(c.lr > 0)) throw Error(params.component() + ": lr must be > 0");
  if (c.kind == OptimizerKind::kSgd) {
    c.inverse_scaling =
        params.choice("schedule", "constant", {"constant", "inverse_scaling"}) == "inverse_scaling";
    if (c.inverse_scaling) c.power_t = params.number("power_t", 0.5);
  } else if (c.kind == OptimizerKind::kAdam) {
    c.beta1 = params.number("beta1", 0.9);
    c.beta2 = params.number("beta2", 0.999);
    c.eps = params.number("eps", 1e-8);
  } else if (c.kind == OptimizerKind::kAdaGrad) {
    c.eps = params.number("eps", 1e-8);
  } else {
    c.ftrl_beta = params.number("ftrl_beta", 1.0);
  }
  return c;
}

namespace {

class Sgd final : public Optimizer {
 public:
  explicit Sgd(const OptimizerConfig& c) : c_(c) {}
  void step(Weights& w, std::span<const Feature> x, double g, double l2) override {
    double lr = learning_rate();
    if (l2 == 0.0) {
      for (const auto& f : x) w[f.index] -= lr * g * f.value;
    } else {
      for (const auto& f : x) w[f.index] -= lr * (g * f.value + l2 * w[f.index]);
    }
    ++t_;
  }
  void resize(size_t) override {}
  double learning_rate() const override {
    if (!c_.inverse_scaling) return c_.lr;
    return c_.lr / std::pow(static_cast<double>(t_ + 1), c_.power_t);
  }
  void save(BinaryWriter& out) const override { out.put(t_); }
  void load(BinaryReader& in) override { t_ = in.get<uint64_t>(); }

 private:
  OptimizerConfig c_;
};

class AdaGrad final : public Optimizer {
 public:
  explicit AdaGrad(const OptimizerConfig& c) : c_(c) {}
  void step(Weights& w, std::span<const Feature> x, double g, double l2) override {
    for (const auto& f : x) {
      double gi = g * f.value + l2 * w[f.index];
      double& s = g2_[f.index];
      s += gi * gi;
      w[f.index] -= c_.lr * gi / std::sqrt(s + c_.eps);
    }
    ++t_;
  }
  void resize(size_t n) override {
    if (g2_.size() < n) g2_.resize(n, 0.0);
  }
  double learning_rate() const override { return c_.lr; }
  void save(BinaryWriter& out) const override {
    out.put(t_);
    out.put_vector(g2_);
  }
  void load(BinaryReader& in) override {
    t_ = in.get<uint64_t>();
    g2_ = in.get_vector<double>();
  }

 private:
  OptimizerConfig c_;
  std::vector<double> g2_;
};

class Adam final : public Optimizer {
 public:
  explicit Adam(const OptimizerConfig& c) : c_(c) {}
  void step(Weights& w, std::span<const Feature> x, double g, double l2) override {
    ++t_;
    double t = static_cast<double>(t_);
    double lr = c_.lr * std::sqrt(1 - std::pow(c_.beta2, t)) / (1 - std::pow(c_.beta1, t));
    for (const auto& f : x) {
      double gi = g * f.value + l2 * w[f.index];
      double& m = m_[f.index];
      double& v = v_[f.index];
      m = c_.beta1 * m + (1 - c_.beta1) * gi;
      v = c_.beta2 * v + (1 - c_.beta2) * gi * gi;
      w[f.index] -= lr * m / (std::sqrt(v) + c_.eps);
    }
  }
  void resize(size_t n) override {
    if (m_.size() < n) {
      m_.resize(n, 0.0);
      v_.resize(n, 0.0);
    }
  }
  double learning_rate() const override { return c_.lr; }
  void save(BinaryWriter& out) const override {
    out.put(t_);
    out.put_vector(m_);
    out.put_vector(v_);
  }
  void load(BinaryReader& in) override {
    t_ = in.get<uint64_t>();
    m_ = in.get_vector<double>();
    v_ = in.get_vector<double>();
    if (m_.size() != v_.size()) in.fail("adam state sizes differ");
  }

 private:
  OptimizerConfig c_;
  std::vector<double> m_, v_;
};

// FTRL-Proximal (McMahan et al., 2013). The weights it keeps in w are always the
// closed-form solution for the current z and n, so prediction reads w directly.
class Ftrl final : public Optimizer {
 public:
  explicit Ftrl(const OptimizerConfig& c) : c_(c) {}
  void step(Weights& w, std::span<const Feature> x, double g, double) override {
    const double alpha = c_.lr;
    for (const auto& f : x) {
      double gi = g * f.value;
      State& s = state_[f.index];
      double sigma = (std::sqrt(s.n + gi * gi) - std::sqrt(s.n)) / alpha;
      s.z += gi - sigma * w[f.index];
      s.n += gi * gi;
      if (std::abs(s.z) <= c_.l1) {
        w[f.index] = 0.0;
      } else {
        double sign = s.z < 0 ? -1.0 : 1.0;
        w[f.index] = -(s.z - sign * c_.l1) / ((c_.ftrl_beta + std::sqrt(s.n)) / alpha + c_.l2);
      }
    }
    ++t_;
  }
  void prefetch(std::span<const Feature> x) const override {
    const size_t n = state_.size();
    for (const auto& f : x) {
      if (f.index < n) __builtin_prefetch(&state_[f.index], 1);
    }
  }
  void resize(size_t size) override {
    if (state_.size() < size) state_.resize(size, State{});
  }
  double learning_rate() const override { return c_.lr; }
  bool owns_regularization() const override { return true; }
  // z then n, each as a vector (the layout files have always had).
  void save(BinaryWriter& out) const override {
    out.put(t_);
    std::vector<double> v(state_.size());
    for (size_t i = 0; i < v.size(); ++i) v[i] = state_[i].z;
    out.put_vector(v);
    for (size_t i = 0; i < v.size(); ++i) v[i] = state_[i].n;
    out.put_vector(v);
  }
  void load(BinaryReader& in) override {
    t_ = in.get<uint64_t>();
    auto z = in.get_vector<double>();
    auto n = in.get_vector<double>();
    if (z.size() != n.size()) in.fail("ftrl state sizes differ");
    state_.resize(z.size());
    for (size_t i = 0; i < z.size(); ++i) state_[i] = State{z[i], n[i]};
  }

 private:
  // z and n of one weight side by side: one cache line fetched per feature, not two.
  struct State {
    double z = 0.0, n = 0.0;
  };
  OptimizerConfig c_;
  std::vector<State> state_;
};

}  // namespace

std::unique_ptr<Optimizer> Optimizer::make(const OptimizerConfig& config) {
  switch (config.kind) {
    case OptimizerKind::kSgd:
      return std::make_unique<Sgd>(config);
    case OptimizerKind::kAdaGrad:
      return std::make_unique<AdaGrad>(config);
    case OptimizerKind::kAdam:
      return std::make_unique<Adam>(config);
    case OptimizerKind::kFtrl:
      return std::make_unique<Ftrl>(config);
  }
  throw Error("unknown optimizer");
}

}  // namespace rtml
