// The baseline every regressor must beat: the running mean of the target.
#pragma once

#include <memory>

#include "rtml/learn/model.h"

namespace rtml {

class ParamSet;

// Predicts the weighted mean of the targets seen so far (0 before any), ignoring the
// features: River's StatisticRegressor(Mean()). Not thread-safe.
class RunningMean final : public Model {
 public:
  static std::unique_ptr<Model> make(ParamSet& params);

  std::string_view kind() const override { return "running_mean"; }
  Task task() const override { return Task::kRegression; }
  using Model::predict;
  void predict(const Features& x, Prediction& out, Workspace& workspace) const override;
  void learn(const Features& x, const Target& y, double weight) override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;
  // Categories need no encoder: they are ignored.
  bool uses_categories() const override { return true; }
  size_t max_categories() const override { return 0; }  // ignores them

 private:
  double mean_ = 0, seen_ = 0;
};

}  // namespace rtml
