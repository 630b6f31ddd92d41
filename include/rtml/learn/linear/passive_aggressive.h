// Passive-aggressive learners (Crammer et al., 2006): a classifier and a regressor.
#pragma once

#include <memory>
#include <vector>

#include "rtml/learn/model.h"

namespace rtml {

class ParamSet;

// On each event, the smallest change of w that fixes the loss, capped by C:
//   loss = max(0, 1 - y (w.x + b)) for the classifier (y in {-1, +1}),
//   loss = max(0, |y - (w.x + b)| - eps) for the regressor;
//   tau = loss / |x|^2 (mode 0), min(C, loss / |x|^2) (mode 1),
//         loss / (|x|^2 + 1 / (2C)) (mode 2);
//   w += tau * direction * x, and b likewise when learn_intercept.
// Defaults as River: C 1, mode 1, eps 0.1, learn_intercept true.
class PassiveAggressive final : public Model {
 public:
  static std::unique_ptr<Model> classifier(ParamSet& params);
  static std::unique_ptr<Model> regressor(ParamSet& params);
  PassiveAggressive(bool regression, double c, int mode, double eps, bool learn_intercept);

  std::string_view kind() const override { return regression_ ? "pa_regressor" : "pa_classifier"; }
  Task task() const override { return regression_ ? Task::kRegression : Task::kBinary; }
  using Model::predict;
  void predict(const Features& x, Prediction& out, Workspace& workspace) const override;
  void learn(const Features& x, const Target& y, double weight) override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;

 private:
  double raw(const Features& x) const;
  bool regression_;
  double c_;
  int mode_;
  double eps_;
  bool learn_intercept_;
  std::vector<double> w_;
  double intercept_ = 0.0;
};

}  // namespace rtml
