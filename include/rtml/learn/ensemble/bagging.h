// Online bagging (Oza and Russell 2001), ADWIN bagging (Bifet et al. 2009) and leveraging
// bagging (Bifet, Holmes and Pfahringer 2010) over any base model.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "rtml/core/random.h"
#include "rtml/learn/drift/drift_detector.h"
#include "rtml/learn/model.h"
#include "rtml/learn/registry.h"

namespace rtml {

class ParamSet;

// n_models copies of a base model (model=, any model step, default hoeffding_tree), each
// learning each event k times (as one learn() of weight k), k drawn per member:
//  - oza_bagging: k ~ Poisson(1), the online bootstrap. Classifiers and regressors.
//  - adwin_bagging: the same, and an ADWIN (delta 0.002) watches each member's 0/1 error
//    on the event just learned; when one detects that its error rose, the member with the
//    highest estimated error is replaced by a fresh one.
//  - leveraging_bagging: k ~ Poisson(w) (w 6) with ADWIN(adwin_delta) as above;
//    bagging_method bag (that), me (1 if the member errs, else 1 with chance e/(1-e), e its
//    estimated error), half (0 or 1, evenly), wt (1 + Poisson(1)), subag (1 if Poisson(1)
//    > 0). Classifiers only.
// A classifier's prediction is the members' class probabilities added and normalised; a
// regressor's the mean of its members'. Defaults are River's (BaggingClassifier,
// ADWINBaggingClassifier, LeveragingBaggingClassifier) with seed 42; where River's ADWIN
// bagging feeds its detectors the 0/1 *success* (so replaces the best member after a rise
// in accuracy), this one feeds the error, as Bifet et al. do. Reproducible for a seed.
// Thread safety as Model's.
class OnlineBagging final : public Model {
 public:
  enum class Method : uint8_t { kOza, kAdwin, kLeveraging };
  enum class Resampling : uint8_t { kBag, kMe, kHalf, kWt, kSubag };
  struct Config {
    Method method = Method::kOza;
    int n_models = 10;
    double w = 6;  // leveraging: Poisson rate
    double adwin_delta = 0.002;
    Resampling resampling = Resampling::kBag;
    uint64_t seed = 42;
  };
  static std::unique_ptr<Model> oza(ParamSet& params);
  static std::unique_ptr<Model> adwin(ParamSet& params);
  static std::unique_ptr<Model> leveraging(ParamSet& params);
  OnlineBagging(Config config, ModelRecipe base);
  ~OnlineBagging() override;

  std::string_view kind() const override;
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

  // Members replaced after a detected change (adwin and leveraging bagging).
  uint64_t replacements() const { return replacements_; }

 private:
  struct Member {
    std::unique_ptr<Model> model;
    Adwin detector;
  };
  Member fresh_member() const;
  uint32_t draw(Member& m, bool has_answer, bool correct_before);

  Config config_;
  ModelRecipe base_;
  std::unique_ptr<Model> prototype_;  // never trained: what the base model is
  std::vector<Member> members_;
  Schema* schema_ = nullptr;
  Random rng_;
  uint64_t replacements_ = 0;
  Prediction scratch_;  // a member's prediction in learn()
};

}  // namespace rtml
