// RegressionRule: how a Hoeffding regression tree's leaves learn, predict and accept
// splits. Shared by the regression trees, which keep one, made from their Config.
#pragma once

#include <cstdint>

namespace rtml::detail {

// In the order of HoeffdingTreeRegressor::LeafPrediction.
enum class RegressionVote : uint8_t { kMean, kModel, kAdaptive };

struct RegressionRule {
  double delta = 1e-7;
  double tau = 0.05;
  int digits = 1;  // feature values are kept rounded to this many decimals
  double min_samples_split = 5;
  double model_lr = 0.01;
  double decay = 0.95;
  RegressionVote vote = RegressionVote::kAdaptive;
  bool binary_split = true;
};

// The rule of a tree Config with these fields (both regression trees' Configs have them).
template <typename Config>
RegressionRule regression_rule(const Config& c) {
  RegressionRule r;
  r.delta = c.delta;
  r.tau = c.tau;
  r.digits = c.digits;
  r.min_samples_split = c.min_samples_split;
  r.model_lr = c.model_lr;
  r.decay = c.decay;
  r.vote = static_cast<RegressionVote>(c.leaf_prediction);
  r.binary_split = c.binary_split;
  return r;
}

}  // namespace rtml::detail
