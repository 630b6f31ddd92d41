// Streaming random patches (Gomes, Read and Bifet 2019): online bagging over random
// subsets of the features, with drift detection and background learners per member.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rtml/core/random.h"
#include "rtml/learn/drift/drift_detector.h"
#include "rtml/learn/model.h"
#include "rtml/learn/registry.h"

namespace rtml {

class ParamSet;

// n_models copies of a base classifier (model=, default hoeffding_tree(grace_period=50,
// delta=0.01)). On the first event the ensemble lists its features (numbers and
// categorical columns, in the event's order) and gives each member a subspace of k of them
// (training_method patches or subspaces): subspace_size in (0, 1] is a share of the
// features (rounded, at least 2), an integer >= 2 a count, a negative integer the count
// left out, sqrt / rmsqrt sqrt(M)+1 / M-sqrt(M)+1. With at most 20 features the
// subspaces are the first n_models combinations of k features (cycled), shuffled over
// the members; above, random ones. A member sees only its subspace (hashed categories
// always); a feature that first appears after the first event is in no subspace.
// Members learn each event with weight Poisson(lam) (patches, resampling) or 1
// (subspaces). Each member's 0/1 error on the event just learned feeds two ADWIN
// detectors: on a warning (warning_delta) a background member with a new random subspace
// starts learning beside it; on a drift (drift_delta) the background member (or a fresh
// one) takes its place. disable_detector: off, drift (neither detector), warning (no
// background members). The prediction adds the members' class probabilities, each
// weighted by its accuracy since it was placed (unless disable_weighted_vote).
// Defaults as River's SRPClassifier (seed 42). Classifiers only. Thread safety as Model's.
class StreamingRandomPatches final : public Model {
 public:
  enum class Training : uint8_t { kPatches, kSubspaces, kResampling };
  struct Config {
    int n_models = 10;
    std::string subspace_size = "0.6";
    Training training = Training::kPatches;
    double lam = 6;
    double drift_delta = 1e-5;
    double warning_delta = 1e-4;
    bool drift_detection = true;
    bool background = true;
    bool weighted_vote = true;
    uint64_t seed = 42;
  };
  static std::unique_ptr<Model> make(ParamSet& params);
  StreamingRandomPatches(Config config, ModelRecipe base);
  ~StreamingRandomPatches() override;

  std::string_view kind() const override { return "streaming_random_patches"; }
  Task task() const override { return base_.task(); }
  bool uses_categories() const override { return prototype_->uses_categories(); }
  size_t max_categories() const override { return prototype_->max_categories(); }
  void bind(Schema& schema) override;
  // Each member may have a background learner beside it.
  uint64_t members() const override { return 2 * config_.n_models * prototype_->members(); }
  using Model::predict;
  void predict(const Features& x, Prediction& out, Workspace& workspace) const override;
  void learn(const Features& x, const Target& y, double weight) override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;

  // Drifts detected (members replaced) and warnings (background members started).
  uint64_t drifts() const { return drifts_; }
  uint64_t warnings() const { return warnings_; }
  // The features member i sees, as schema indices (empty: all of them).
  const std::vector<uint32_t>& subspace(size_t i) const { return members_[i]->subspace; }

  struct Learner {
    std::unique_ptr<Model> model;
    std::vector<uint32_t> subspace;  // sorted; empty: every feature
    std::vector<uint8_t> mask;       // by feature index, from subspace
    Adwin drift, warning;
    double correct = 0, seen = 0;  // accuracy since placed
    std::unique_ptr<Learner> background;
    Learner(double drift_delta, double warning_delta)
        : drift(drift_delta), warning(warning_delta) {}
  };

 private:
  void start(const Features& x);
  int subspace_count(int n_features) const;
  std::unique_ptr<Learner> fresh(std::vector<uint32_t> subspace) const;
  std::vector<uint32_t> random_subspace();

  Config config_;
  ModelRecipe base_;
  std::unique_ptr<Model> prototype_;
  std::vector<std::unique_ptr<Learner>> members_;
  std::vector<uint32_t> features_;  // the first event's, in order
  int k_ = 0;                       // features per subspace; 0: all (resampling)
  Schema* schema_ = nullptr;
  Random rng_;
  uint64_t drifts_ = 0, warnings_ = 0;
  Prediction scratch_;
};

}  // namespace rtml
