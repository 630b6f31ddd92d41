// Online boosting (Oza and Russell 2001): AdaBoost with Poisson weights, over any base
// classifier.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "rtml/core/random.h"
#include "rtml/learn/model.h"
#include "rtml/learn/registry.h"

namespace rtml {

class ParamSet;

// n_models copies of a base classifier (model=, default hoeffding_tree) in a chain. Each
// event enters the chain with weight lambda = 1; member m learns it k ~ Poisson(lambda)
// times (one learn() of weight k), then, by whether it now classifies the event right,
// adds lambda to its right or wrong total and scales lambda by (right + wrong) / (2 right)
// or (right + wrong) / (2 wrong): an event the chain gets wrong weighs more for the
// members after. The prediction adds the members' class probabilities, member m weighted
// by log((1 - e) / e), e its smoothed weighted error (wrong + 0.5) / (right + wrong + 1);
// a member no better than chance (e >= 0.5) does not vote (all vote alike if none is
// better). Parameters as River's AdaBoostClassifier (seed 42), whose prediction is the
// single member of highest weight; this one is the weighted vote of Oza's paper.
// Reproducible for a seed. Thread safety as Model's.
class OzaBoosting final : public Model {
 public:
  static std::unique_ptr<Model> make(ParamSet& params);
  OzaBoosting(int n_models, uint64_t seed, ModelRecipe base);
  ~OzaBoosting() override;

  std::string_view kind() const override { return "oza_boosting"; }
  Task task() const override { return base_.task(); }
  bool uses_categories() const override { return prototype_->uses_categories(); }
  size_t max_categories() const override { return prototype_->max_categories(); }
  void bind(Schema& schema) override;
  uint64_t members() const override { return members_.size() * prototype_->members(); }
  using Model::predict;
  void predict(const Features& x, Prediction& out, Workspace& workspace) const override;
  void learn(const Features& x, const Target& y, double weight) override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;

  // Member i's vote weight, log((1 - e) / e) or 0.
  double vote_weight(size_t i) const;

 private:
  struct Member {
    std::unique_ptr<Model> model;
    double right = 0, wrong = 0;
  };

  ModelRecipe base_;
  std::unique_ptr<Model> prototype_;
  std::vector<Member> members_;
  Random rng_;
  Prediction scratch_;
};

}  // namespace rtml
