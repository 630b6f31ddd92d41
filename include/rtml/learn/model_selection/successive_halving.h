// Model selection by successive halving (Jamieson and Talwalkar 2016), online, as River's
// model_selection.SuccessiveHalvingClassifier / Regressor.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "rtml/learn/model.h"
#include "rtml/learn/registry.h"

namespace rtml {

class ParamSet;

// Candidates models=[a, b(x=1), ...] (at least two, all classifiers or all regressors)
// learn side by side, each scored on its predictions before learning (metric= accuracy
// for classifiers, mae or rmse for regressors; auto picks). The run goes in rungs: with s
// candidates alive and n in all, a rung lasts r = floor(budget / (s ceil(log_eta n)))
// events; at its end the candidates are ranked by their score and the best
// ceil(s / eta) go on, the others are dropped (their memory freed). Once one is left it
// alone learns. The answer is the best candidate's: the one with the best score so far
// among those alive. Defaults eta 2, budget 20000 (River has none). Not thread-safe
// while learning; predict as Model's.
class SuccessiveHalving final : public Model {
 public:
  static std::unique_ptr<Model> make(ParamSet& params);
  ~SuccessiveHalving() override;

  std::string_view kind() const override { return "successive_halving"; }
  Task task() const override { return task_; }
  bool uses_categories() const override;
  size_t max_categories() const override;
  void bind(Schema& schema) override;
  uint64_t members() const override;
  using Model::predict;
  void predict(const Features& x, Prediction& out, Workspace& workspace) const override;
  void learn(const Features& x, const Target& y, double weight) override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;

  // The index (in models=) of the candidate that answers, and how many are alive.
  size_t best() const { return best_; }
  size_t alive() const { return alive_; }
  // The candidate's score (its metric so far).
  double score(size_t i) const;

  struct State;

 private:
  SuccessiveHalving(std::vector<ModelRecipe> recipes, int metric, double budget, double eta);
  uint64_t rung_length() const;

  std::vector<ModelRecipe> recipes_;
  Task task_;
  std::unique_ptr<State> state_;
  size_t best_ = 0, alive_ = 0;
  double budget_, eta_;
  Prediction scratch_;
};

}  // namespace rtml
