// Synthetic streams with concept drift, as online-learning research uses them.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "rtml/core/params.h"
#include "rtml/stream/row_source.h"
#include "rtml/stream/shop_world.h"

namespace rtml {

// Parameters of a generator, from "synth:NAME?key=value&key=value".
using GeneratorParams = std::map<std::string, std::string, std::less<>>;

// Creates the generator NAME with params. Every generator takes n (events, default
// 100000) and seed (default 1); all but ratings yield a binary target column "class"
// with values "0" and "1". Throws Error for an unknown name or parameter, listing the valid ones.
//
//  sea         Street & Kim (2001): x1, x2, x3 uniform in [0, 10); class 1 when
//              x1 + x2 <= theta. theta cycles 8, 9, 7, 9.5 every drift_every events
//              (default n/4); noise (default 0.1) flips labels.
//  hyperplane  Hulten et al. (2001) rotating hyperplane: features uniform in [0, 1),
//              class 1 when sum(w_i x_i) >= sum(w_i)/2; n_drift_features weights move by
//              mag_change per event (direction reversed with probability sigma);
//              n_features 10, n_drift_features 2, mag_change 0.001, sigma 0.1, noise 0.05.
//  agrawal     Agrawal et al. (1993): nine loan-applicant attributes and one of ten
//              classification functions, starting at function (default 0) and moving to
//              the next every drift_every events (default n/2); perturbation (default
//              0.05) adds noise to the numeric attributes.
//  ratings     Users rate items (columns user "u<id>", item "i<id>", numeric target
//              rating; no class column): rating = 3.5 + b_u + b_i + <p_u, q_i> + noise,
//              biases Normal(0, 0.4), factors scaled so <p_u, q_i> has spread 0.8, users
//              and items uniform; at change_at (default n/2) every user's tastes p_u are
//              drawn afresh. users 1000, items 500, factors 5, noise 0.3.
//  shop        ShopWorld (shop_world.h) logged by a uniformly random policy: one row per
//              session: session, time, user, item shown, its category and price, and
//              class "1" if it was clicked. users 500, items 1000, categories 10,
//              candidates 5, shift_at n/2, shift_share 0.7, rate 20 (sessions per second
//              of event time), click_delay 30 (seconds).
std::unique_ptr<RowSource> make_generator(const std::string& name, const GeneratorParams& params);

// The ShopWorld parameters of "synth:shop?..." (n sessions, seed), read from p; what
// `rtml demo` takes too. Throws Error naming a bad parameter.
ShopWorld::Params shop_params(ParamSet& p, uint64_t n, uint64_t seed);

}  // namespace rtml
