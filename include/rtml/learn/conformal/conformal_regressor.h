// Conformal prediction intervals for any regressor over a sliding window of its residuals
// (online split conformal, as River's conf.RegressionJackknife).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "rtml/learn/model.h"
#include "rtml/learn/registry.h"

namespace rtml {

class ParamSet;

// Wraps a regressor (model=, default hoeffding_tree_regressor). Before learning each event it
// records the residual y - prediction the regressor gave it (an honest residual: the
// event was not learned yet), keeping the last `window` (default 1000). A prediction is
// the regressor's value with the interval [value + r_lo, value + r_hi], r_lo and r_hi
// the residuals of rank floor((n + 1) a / 2) and ceil((n + 1) (1 - a / 2)) among the n
// kept (ranks clamped to 1..n). With a = 1 - confidence fixed (gamma 0) this is split
// conformal: exchangeable residuals are held with probability at least `confidence`.
// Streams are rarely exchangeable (ChickWeights' residuals grow as the chicks do), so by
// default a follows adaptive conformal inference (Gibbs and Candes 2021): after each
// event a += gamma ((1 - confidence) - missed), which brings the share of misses over the
// stream to 1 - confidence whatever the drift (gamma 0.01; larger follows faster and
// jitters more). No interval before the first residual. River's conf.RegressionJackknife
// has confidence 0.95 and keeps every residual unless given a window, without adapting.
// The window is kept sorted as well as in order: an event costs a search and a move of
// at most `window` numbers, no allocation. Thread safety as Model's.
class ConformalRegressor final : public Model {
 public:
  static std::unique_ptr<Model> make(ParamSet& params);
  ConformalRegressor(ModelRecipe base, double confidence, size_t window, double gamma);
  ~ConformalRegressor() override;

  std::string_view kind() const override { return "conformal"; }
  Task task() const override { return Task::kRegression; }
  bool uses_categories() const override { return model_->uses_categories(); }
  size_t max_categories() const override { return model_->max_categories(); }
  void bind(Schema& schema) override { model_->bind(schema); }
  uint64_t members() const override { return model_->members(); }
  using Model::predict;
  void predict(const Features& x, Prediction& out, Workspace& workspace) const override;
  void learn(const Features& x, const Target& y, double weight) override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;

  // The residuals that bound the interval, lower and upper (0 before any), and the miss
  // rate the ranks are taken at now.
  double lower_residual() const;
  double upper_residual() const;
  double miss_level() const { return miss_level_; }

 private:
  ModelRecipe base_;
  std::unique_ptr<Model> model_;
  double confidence_;
  size_t window_;
  double gamma_;
  double miss_level_;           // the a of the ranks: 1 - confidence, moved by gamma
  std::vector<double> order_;   // ring: residuals as they came
  size_t next_ = 0;             // the ring's next slot (its oldest once full)
  std::vector<double> sorted_;  // the same residuals, ascending
  Prediction scratch_;
};

}  // namespace rtml
