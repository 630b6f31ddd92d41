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
    // Moments decay by beta: 1 or more never forgets or grows without bound.
    if (!(c.beta1 >= 0 && c.beta1 < 1) || !(c.beta2 >= 0 && c.beta2 < 1)) {
      throw Error(params.component() + ": beta1 and beta2 must be in [0, 1)");
    }
  } else if (c.kind == OptimizerKind::kAdaGrad) {
    c.eps = params.number("eps", 1e-8);
  }
  if (c.kind == OptimizerKind::kAdam || c.kind == OptimizerKind::kAdaGrad) {
    if (!(c.eps > 0)) throw Error(params.component() + ": eps must be > 0");
  } else {
    c.ftrl_beta = params.number("ftrl_beta", 1.0);
    if (!(c.ftrl_beta >= 0)) throw Error(params.component() + ": ftrl_beta must be >= 0");
  }
  return c;
}

namespace {

class Sgd final : public Optimizer {
 public:
  explicit Sgd(const OptimizerConfig& c) : c_(c) {}
  size_t state_per_weight() const override { return 0; }
  void step(WeightTable& w, std::span<const Feature> x, double g, double l2) override {
    double lr = learning_rate();
    if (l2 == 0.0) {
      for (const auto& f : x) w.row(f.index)[0] -= lr * g * f.value;
    } else {
      for (const auto& f : x) {
        double& wi = w.row(f.index)[0];
        wi -= lr * (g * f.value + l2 * wi);
      }
    }
    ++t_;
  }
  double learning_rate() const override {
    if (!c_.inverse_scaling) return c_.lr;
    return c_.lr / std::pow(static_cast<double>(t_ + 1), c_.power_t);
  }
  void save(BinaryWriter& out, const WeightTable&) const override { out.put(t_); }
  void load(BinaryReader& in, WeightTable&) override { t_ = in.get<uint64_t>(); }

 private:
  OptimizerConfig c_;
};

// Reads the arrays of an optimizer's state saved by save_state into w's rows, values 1
// to columns.size(), after checking that they have one length.
void load_state(BinaryReader& in, WeightTable& w, size_t values, std::string_view what) {
  std::vector<std::vector<double>> columns;
  for (size_t k = 0; k < values; ++k) columns.push_back(in.get_vector<double>());
  for (const auto& c : columns) {
    if (c.size() != columns[0].size()) in.fail(what);
  }
  for (size_t k = 0; k < values; ++k) w.set_column(k + 1, columns[k]);
}

void save_state(BinaryWriter& out, const WeightTable& w, size_t values) {
  for (size_t k = 1; k <= values; ++k) out.put_vector(w.column(k));
}

// Row: weight, sum of squared gradients.
class AdaGrad final : public Optimizer {
 public:
  explicit AdaGrad(const OptimizerConfig& c) : c_(c) {}
  size_t state_per_weight() const override { return 1; }
  void step(WeightTable& w, std::span<const Feature> x, double g, double l2) override {
    for (const auto& f : x) {
      double* r = w.row(f.index);
      double gi = g * f.value + l2 * r[0];
      r[1] += gi * gi;
      r[0] -= c_.lr * gi / std::sqrt(r[1] + c_.eps);
    }
    ++t_;
  }
  double learning_rate() const override { return c_.lr; }
  void save(BinaryWriter& out, const WeightTable& w) const override {
    out.put(t_);
    save_state(out, w, 1);
  }
  void load(BinaryReader& in, WeightTable& w) override {
    t_ = in.get<uint64_t>();
    load_state(in, w, 1, "adagrad state sizes differ");
  }

 private:
  OptimizerConfig c_;
};

// Row: weight, first moment m, second moment v.
class Adam final : public Optimizer {
 public:
  explicit Adam(const OptimizerConfig& c) : c_(c) {}
  size_t state_per_weight() const override { return 2; }
  void step(WeightTable& w, std::span<const Feature> x, double g, double l2) override {
    ++t_;
    double t = static_cast<double>(t_);
    double lr = c_.lr * std::sqrt(1 - std::pow(c_.beta2, t)) / (1 - std::pow(c_.beta1, t));
    for (const auto& f : x) {
      double* r = w.row(f.index);
      double gi = g * f.value + l2 * r[0];
      double& m = r[1];
      double& v = r[2];
      m = c_.beta1 * m + (1 - c_.beta1) * gi;
      v = c_.beta2 * v + (1 - c_.beta2) * gi * gi;
      r[0] -= lr * m / (std::sqrt(v) + c_.eps);
    }
  }
  double learning_rate() const override { return c_.lr; }
  void save(BinaryWriter& out, const WeightTable& w) const override {
    out.put(t_);
    save_state(out, w, 2);
  }
  void load(BinaryReader& in, WeightTable& w) override {
    t_ = in.get<uint64_t>();
    load_state(in, w, 2, "adam state sizes differ");
  }

 private:
  OptimizerConfig c_;
};

// FTRL-Proximal (McMahan et al., 2013). Row: weight, z, n. The weight kept is always
// the closed-form solution for the current z and n, so prediction reads it directly.
class Ftrl final : public Optimizer {
 public:
  explicit Ftrl(const OptimizerConfig& c) : c_(c) {}
  size_t state_per_weight() const override { return 2; }
  void step(WeightTable& w, std::span<const Feature> x, double g, double) override {
    const double alpha = c_.lr;
    for (const auto& f : x) {
      double* r = w.row(f.index);
      double gi = g * f.value;
      double& z = r[1];
      double& n = r[2];
      double sigma = (std::sqrt(n + gi * gi) - std::sqrt(n)) / alpha;
      z += gi - sigma * r[0];
      n += gi * gi;
      if (std::abs(z) <= c_.l1) {
        r[0] = 0.0;
      } else {
        double sign = z < 0 ? -1.0 : 1.0;
        r[0] = -(z - sign * c_.l1) / ((c_.ftrl_beta + std::sqrt(n)) / alpha + c_.l2);
      }
    }
    ++t_;
  }
  double learning_rate() const override { return c_.lr; }
  bool owns_regularization() const override { return true; }
  void save(BinaryWriter& out, const WeightTable& w) const override {
    out.put(t_);
    save_state(out, w, 2);
  }
  void load(BinaryReader& in, WeightTable& w) override {
    t_ = in.get<uint64_t>();
    load_state(in, w, 2, "ftrl state sizes differ");
  }

 private:
  OptimizerConfig c_;
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
