// The shop demo: a recommender that keeps learning against the same model frozen and a
// most-popular baseline, on a shop whose customers' tastes change (ShopWorld).
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "rtml/stream/shop_world.h"

namespace rtml::runtime {

struct ShopDemoOptions {
  ShopWorld::Params world;
  // Scores each candidate from its row (user_cat "u12|c3", item, category, price) and
  // the store's features (uc_views, uc_clicks: the user's decayed views and clicks of the
  // category; item_clicks_1h). Learns from the clicks that come back late.
  std::string model = "standard_scaler | one_hot | logistic_regression(optimizer=adagrad, lr=0.3)";
  // Epsilon-greedy: the best-scored candidate, or with probability epsilon one drawn
  // uniformly. Every candidate keeps a propensity of at least epsilon/candidates, which
  // bounds the off-policy estimates' weights; and it needs no posterior, which a model
  // trained by SGD on late labels does not have (LinUCB and Thompson sampling do).
  double epsilon = 0.05;
  // Seconds after an item is shown at which, unclicked, it is labelled "not clicked".
  double attribution = 300;
  // Sessions in the rolling click-through rate of the plot.
  uint64_t window = 5000;
};

// One policy's figures.
struct ShopPolicyResult {
  double before_shift = 0;  // click-through rate measured over the sessions before the shift
  double after_shift = 0;   // and after it
  // Off-policy estimates of after_shift from the online policy's logged propensities
  // alone: inverse propensity scoring, and doubly robust (with the online model's scores
  // as the reward model).
  double ips_after = NAN;
  double dr_after = NAN;
  std::vector<double> rolling;  // the rolling click-through rate at each curve point
  // Wall-clock seconds this policy's own work took (its labels, scoring, choice, store
  // updates): sessions / seconds is its rate as one recommender, apart from the others
  // the demo runs beside it.
  double seconds = 0;
};

struct ShopDemoResult {
  uint64_t events = 0;  // sessions (recommendation events), each with its candidates
  uint64_t candidates = 0;
  uint64_t shift_at = 0;
  double shift_time = 0;  // event time of the shift, seconds
  ShopPolicyResult online, frozen, popularity;
  std::vector<double> curve_time;  // event time (seconds) of each curve point
  // Sessions after the shift until the online policy's rolling rate over `window` sessions,
  // all after the shift, is back to 95% of its rate just before; -1 if it never is.
  int64_t recovery_events = -1;
  double seconds = 0;  // wall clock
  bool stopped = false;
};

struct ShopDemoProgress {
  uint64_t events = 0;
  double seconds = 0;
  double online_rolling = 0;  // rolling click-through rate
  double frozen_rolling = 0;
  uint64_t pending = 0;  // labels not yet come back, online policy
};

// Runs the three policies over the same sessions, each with its own feature store (kept
// by its own views and clicks) and, but for the baseline, its own runtime (runtime.h):
// candidates scored with store enrichment, the chosen one's features logged by session,
// learned from when its label comes back. The frozen policy is the online one until
// world.shift_at, then stops learning (trained once, as a batch pipeline would be). The
// baseline shows the candidate with the most clicks in its store over the last hour.
// All three choose epsilon-greedily. progress (if set) is called every 4096 sessions;
// stop (if set) is asked as often, and ends the run early. Throws Error for bad options.
ShopDemoResult run_shop_demo(const ShopDemoOptions& options,
                             const std::function<void(const ShopDemoProgress&)>& progress = {},
                             const std::function<bool()>& stop = {});

}  // namespace rtml::runtime
