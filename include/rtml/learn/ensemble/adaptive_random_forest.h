// Adaptive random forest (Gomes et al. 2017), classifier and regressor.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "rtml/core/random.h"
#include "rtml/learn/model.h"

namespace rtml {

class ParamSet;

// n_models Hoeffding trees, each leaf of which watches a random subset of max_features
// features (0: the rounded square root of the event's feature count), trained by online
// bagging: each tree learns each event with weight Poisson(lambda). Every tree's error
// feeds two ADWIN detectors: when the warning one (warning_delta) fires, a background
// tree starts learning beside it; when the drift one (drift_delta) fires, the background
// tree (or a fresh one) takes its place. The detectors watch only the events a tree
// learns (Poisson draw > 0). The error is 0/1 for the classifier, where a detection
// counts only if the error rose (as MOA; River also replaces a tree whose error fell,
// which costs accuracy on short streams), and, for the regressor, the residual min-max
// scaled by three running standard deviations.
// The classifier adds the trees' class probabilities weighted by their accuracy since
// they were placed; the regressor takes the median of the trees' predictions.
// Defaults as River's ARFClassifier / ARFRegressor: 10 trees, lambda 6, trees with
// grace_period 50, delta 0.01, tau 0.05 (nba leaves; adaptive leaves for regression),
// drift_delta 0.001, warning_delta 0.01. Reproducible for a given seed. Not thread-safe.
class AdaptiveRandomForest final : public Model {
 public:
  struct Config {
    bool regression = false;
    int n_models = 10;
    int max_features = 0;
    double lambda = 6;
    double grace_period = 50;
    double delta = 0.01;
    double tau = 0.05;
    double drift_delta = 0.001;
    double warning_delta = 0.01;
    bool weighted_vote = true;  // classifier only
    uint64_t seed = 42;
    bool binary_split = true;  // the trees' (HoeffdingTreeClassifier::Config::binary_split)
  };
  static std::unique_ptr<Model> classifier(ParamSet& params);
  static std::unique_ptr<Model> regressor(ParamSet& params);
  explicit AdaptiveRandomForest(Config config);
  ~AdaptiveRandomForest() override;

  std::string_view kind() const override {
    return config_.regression ? "adaptive_random_forest_regressor" : "adaptive_random_forest";
  }
  Task task() const override { return config_.regression ? Task::kRegression : Task::kMulticlass; }
  // Categorical columns are split on natively (see Config::binary_split).
  bool uses_categories() const override { return true; }
  // A tree and a background tree per member.
  uint64_t members() const override { return 2 * static_cast<uint64_t>(config_.n_models); }
  using Model::predict;
  void predict(const Features& x, Prediction& out, Workspace& workspace) const override;
  void learn(const Features& x, const Target& y, double weight) override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;

  // How many trees have been replaced after a drift, and background trees started.
  uint64_t drifts() const { return drifts_; }
  uint64_t warnings() const { return warnings_; }

  struct Member;

 private:
  void start(const Features& x);
  std::unique_ptr<Model> new_tree();
  double drift_input(Member& m, double y, const Prediction& p, bool correct);
  struct Scratch;

  Config config_;
  int features_per_leaf_ = 0;  // 0 until the first event fixes it
  std::vector<std::unique_ptr<Member>> members_;
  Random rng_;
  uint64_t drifts_ = 0, warnings_ = 0;
  Prediction scratch_;  // learn()'s tree predictions, reused per event
};

}  // namespace rtml
