// Model selection as a multi-armed bandit (River's model_selection.BanditClassifier /
// BanditRegressor): each event goes to one candidate, chosen by an epsilon-greedy or
// UCB policy on the rewards the candidates earn.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "rtml/core/random.h"
#include "rtml/learn/model.h"
#include "rtml/learn/registry.h"

namespace rtml {

class ParamSet;

// Candidates models=[a, b(x=1), ...] (at least two, all classifiers or all regressors).
// For each event the policy pulls one arm: that candidate predicts it (its reward: 1 if
// right, 0 if wrong for a classifier; exp(-|error| / scale) for a regressor, scale the
// running mean absolute deviation of the target, so that rewards lie in (0, 1]) and then
// learns it; the others neither predict nor learn it. The first burn_in events per arm
// go round-robin. policy=epsilon_greedy pulls a random arm with chance
// epsilon exp(-decay t), else the best; policy=ucb the arm of highest
// mean + delta sqrt(2 ln t / pulls). The answer is the arm of highest mean reward.
// Defaults: epsilon_greedy, epsilon 0.1, decay 0, delta 1, burn_in 100 (River's is 0),
// seed 42. Not thread-safe while learning; predict as Model's.
class BanditSelect final : public Model {
 public:
  enum class Policy : uint8_t { kEpsilonGreedy, kUcb };
  struct Config {
    Policy policy = Policy::kEpsilonGreedy;
    double epsilon = 0.1, decay = 0, delta = 1;
    uint64_t burn_in = 100;
    uint64_t seed = 42;
  };
  static std::unique_ptr<Model> make(ParamSet& params);
  BanditSelect(Config config, std::vector<ModelRecipe> recipes);
  ~BanditSelect() override;

  std::string_view kind() const override { return "bandit_select"; }
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

  // The arm that answers, each arm's pulls and mean reward.
  size_t best() const;
  uint64_t pulls(size_t arm) const { return arms_[arm].pulls; }
  double mean_reward(size_t arm) const;

 private:
  struct Arm {
    std::unique_ptr<Model> model;
    uint64_t pulls = 0;
    double reward = 0;  // sum
  };
  size_t pull();

  Config config_;
  std::vector<ModelRecipe> recipes_;
  Task task_;
  std::vector<Arm> arms_;
  uint64_t t_ = 0;
  // The target's running mean and mean absolute deviation (regressors' reward scale).
  double y_n_ = 0, y_mean_ = 0, y_mad_ = 0;
  Random rng_;
  Prediction scratch_;
};

}  // namespace rtml
