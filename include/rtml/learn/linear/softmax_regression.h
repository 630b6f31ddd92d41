// Softmax (multinomial logistic) regression for any number of classes.
#pragma once

#include <memory>
#include <vector>

#include "rtml/learn/model.h"
#include "rtml/learn/optim/optimizer.h"

namespace rtml {

class ParamSet;

// One weight vector and intercept per class; P(c) = softmax_c(w_c . x + b_c). Each
// event moves every known class along the cross-entropy gradient p_c - [c == y] with
// its own optimizer state. Classes are added as their labels first appear.
// Defaults follow River: SGD with lr 0.01, l2 0.
class SoftmaxRegression final : public Model {
 public:
  static std::unique_ptr<Model> make(ParamSet& params);
  SoftmaxRegression(OptimizerConfig optimizer, double l2);

  std::string_view kind() const override { return "softmax_regression"; }
  Task task() const override { return Task::kMulticlass; }
  using Model::predict;
  void predict(const Features& x, Prediction& out, Workspace& workspace) const override;
  void learn(const Features& x, const Target& y, double weight) override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;

 private:
  struct Class {
    WeightTable w;
    double intercept = 0.0;
    std::unique_ptr<Optimizer> optimizer;
  };
  void add_classes(size_t n);
  OptimizerConfig optimizer_config_;
  double l2_;
  std::vector<Class> classes_;
  std::vector<double> scores_;  // reused per event
};

}  // namespace rtml
