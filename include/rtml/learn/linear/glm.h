// Generalised linear models trained online: logistic regression, linear regression and
// the perceptron, with any optimizer, L1 or L2 regularisation and an intercept.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "rtml/learn/model.h"
#include "rtml/learn/optim/optimizer.h"

namespace rtml {

class ParamSet;

enum class GlmLoss : uint8_t { kLog, kSquared, kHinge };

// y_hat = w . x + intercept, with a loss chosen by the model kind:
//   logistic_regression  log loss, P(class 1) = sigmoid(y_hat); SGD lr 0.01 by default
//   linear_regression    squared loss; SGD lr 0.01 by default
//   perceptron           hinge loss at threshold 0, SGD lr 1 and intercept_lr 1
// Each step: g = dloss/dy_hat * weight, clipped to [-clip_gradient, clip_gradient];
// intercept -= intercept_lr * g; the optimizer updates w with g * x + l2 * w; an L1
// penalty is applied with the cumulative method of Tsuruoka et al. (2009). With FTRL,
// l1 and l2 are FTRL's own. Weights grow as new feature indices appear.
class Glm final : public Model {
 public:
  struct Config {
    std::string kind;
    Task task = Task::kBinary;
    GlmLoss loss = GlmLoss::kLog;
    double hinge_threshold = 0.0;
    double l1 = 0.0, l2 = 0.0;
    double intercept_init = 0.0, intercept_lr = 0.01;
    double clip_gradient = 1e12;
    OptimizerConfig optimizer;
  };

  // Factories reading the registry's parameters for each kind.
  static std::unique_ptr<Model> logistic_regression(ParamSet& params);
  static std::unique_ptr<Model> linear_regression(ParamSet& params);
  static std::unique_ptr<Model> perceptron(ParamSet& params);

  explicit Glm(Config config);

  std::string_view kind() const override { return config_.kind; }
  Task task() const override { return config_.task; }
  using Model::predict;
  void predict(const Features& x, Prediction& out, Workspace& workspace) const override;
  void learn(const Features& x, const Target& y, double weight) override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;
  // Averages the weights and the intercept; each replica's optimizer state stays its own.
  bool average(double own_weight, const std::vector<Replica<Model>>& others) override;

  // The raw score w . x + intercept.
  double raw(const Features& x) const;
  const WeightTable& weights() const { return w_; }
  double intercept() const { return intercept_; }

 private:
  double loss_gradient(double y, double y_hat) const;
  void apply_l1(const Features& x);

  Config config_;
  std::unique_ptr<Optimizer> optimizer_;
  WeightTable w_;
  double intercept_;
  // L1 cumulative penalty state.
  double max_cum_l1_ = 0.0;
  std::vector<double> cum_l1_;
};

// Logistic function, clamped so that exp() never overflows.
double sigmoid(double x);

}  // namespace rtml
