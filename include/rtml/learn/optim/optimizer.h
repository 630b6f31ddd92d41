// Optimizers for linear models: SGD (constant or inverse-scaling learning rate),
// AdaGrad, Adam and FTRL-Proximal, each updating a dense weight vector at the
// indices of a sparse gradient.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "rtml/core/binary_io.h"
#include "rtml/core/features.h"
#include "rtml/learn/optim/weight_table.h"

namespace rtml {

// A linear model's weights live in a WeightTable, each beside its optimizer state. Not on
// huge pages: measured on ctr_kdd2012_small x25 with 2^20 hashed weights, they saved no
// user time and cost up to 0.6 s of kernel time in compaction when free memory was
// fragmented.

class ParamSet;

enum class OptimizerKind : uint8_t { kSgd, kAdaGrad, kAdam, kFtrl };

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::kSgd;
  double lr = 0.01;              // SGD/AdaGrad/Adam step size; FTRL's alpha
  bool inverse_scaling = false;  // SGD: lr / t^power_t instead of a constant
  double power_t = 0.5;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // Adam (eps also AdaGrad)
  double ftrl_beta = 1.0;                         // FTRL
  double l1 = 0.0, l2 = 0.0;                      // FTRL's own regularisation

  // Reads optimizer=sgd|adagrad|adam|ftrl, lr, schedule, power_t, beta1, beta2, eps and
  // ftrl_beta from params; default_lr is the step size when lr is not given for SGD.
  static OptimizerConfig from_params(ParamSet& params, double default_lr);
};

// Updates weights from one event's gradient. The gradient of weight i is
// loss_gradient * x_i + l2 * w_i for each feature i of x. Weights not in x are untouched
// (lazy updates), so the cost is proportional to the number of features in x.
// Not thread-safe.
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  static std::unique_ptr<Optimizer> make(const OptimizerConfig& config);

  // The doubles of state this optimizer keeps per weight, in the weight's row of the
  // table it steps (WeightTable(state_per_weight())).
  virtual size_t state_per_weight() const = 0;
  // w must already have a row for every index of x.
  virtual void step(WeightTable& w, std::span<const Feature> x, double loss_gradient,
                    double l2) = 0;
  // The base learning rate at the current step (for the L1 cumulative penalty).
  virtual double learning_rate() const = 0;
  // True when the optimizer applies l1/l2 itself (FTRL).
  virtual bool owns_regularization() const { return false; }
  uint64_t iterations() const { return t_; }

  // Writes the step count and the state in w's rows, one array per value (the layout
  // model files have always had); load() reads them back into w, growing it if needed.
  virtual void save(BinaryWriter& out, const WeightTable& w) const = 0;
  virtual void load(BinaryReader& in, WeightTable& w) = 0;

 protected:
  uint64_t t_ = 0;
};

}  // namespace rtml
