// Random under- and over-sampling for imbalanced classification streams (River's
// imblearn.RandomUnderSampler and RandomOverSampler).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "rtml/core/random.h"
#include "rtml/learn/model.h"
#include "rtml/learn/registry.h"

namespace rtml {

class ParamSet;

// Wraps a classifier (model=, default logistic_regression) and changes how often it
// learns each class so that it learns them in a desired distribution g: for two classes
// desired= is class 1's share (default 0.5), for more g is uniform over the classes seen.
// f counts the classes seen so far and r = f / g. Under-sampling (random_under_sampler)
// learns every event of the pivot class, the one of least r, and an event of class y with
// chance r(pivot) / r(y); over-sampling (random_over_sampler) learns the pivot, the
// class of greatest r, once and an event of class y k ~ Poisson(r(pivot) / r(y)) times
// (one learn() of weight k). River's scheme (imblearn.RandomUnderSampler /
// RandomOverSampler) with the pivots as their papers mean them.
// Predictions are the classifier's. Seed 42 by default. Thread
// safety as Model's.
class RandomSampling final : public Model {
 public:
  static std::unique_ptr<Model> under(ParamSet& params);
  static std::unique_ptr<Model> over(ParamSet& params);
  RandomSampling(bool over, double desired, uint64_t seed, ModelRecipe base);
  ~RandomSampling() override;

  std::string_view kind() const override {
    return over_ ? "random_over_sampler" : "random_under_sampler";
  }
  Task task() const override { return base_.task(); }
  bool uses_categories() const override { return model_->uses_categories(); }
  size_t max_categories() const override { return model_->max_categories(); }
  void bind(Schema& schema) override { model_->bind(schema); }
  uint64_t members() const override { return model_->members(); }
  using Model::predict;
  void predict(const Features& x, Prediction& out, Workspace& workspace) const override;
  void learn(const Features& x, const Target& y, double weight) override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;

  // The weight the classifier learned in all, per class (what sampling made of f).
  const std::vector<double>& learned() const { return learned_; }

 private:
  double desired(uint32_t c) const;

  bool over_;
  double desired_;
  ModelRecipe base_;
  std::unique_ptr<Model> model_;
  std::vector<double> seen_;     // f, by class
  std::vector<double> learned_;  // by class
  Random rng_;
};

}  // namespace rtml
