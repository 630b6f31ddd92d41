#include "rtml/stream/shop_world.h"

#include <algorithm>
#include <cmath>

#include "rtml/core/error.h"

namespace rtml {

ShopWorld::ShopWorld(const Params& p) : params_(p), rng_(p.seed) {
  if (p.users < 1 || p.users > (1u << 24)) throw Error("shop: users must be 1 to 16777216");
  if (p.items < 2 || p.items > (1u << 24)) throw Error("shop: items must be 2 to 16777216");
  if (p.categories < 4 || p.categories > 1000) throw Error("shop: categories must be 4 to 1000");
  if (p.candidates < 2 || p.candidates > kMaxCandidates || p.candidates > p.items) {
    throw Error("shop: candidates must be 2 to " + std::to_string(kMaxCandidates) +
                " and at most items");
  }
  if (!(p.shift_share >= 0 && p.shift_share <= 1)) throw Error("shop: shift_share must be 0 to 1");
  if (!(p.rate > 0)) throw Error("shop: rate must be positive");
  if (!(p.click_delay >= 0)) throw Error("shop: click_delay must be 0 or more");
  item_category_.resize(p.items);
  item_price_.resize(p.items);
  item_appeal_.resize(p.items);
  item_cdf_.resize(p.items);
  double total = 0;
  for (uint32_t i = 0; i < p.items; ++i) {
    item_category_[i] = static_cast<uint32_t>(rng_.below(p.categories));
    item_price_[i] = std::round(std::exp(3.0 + 0.6 * rng_.normal()) * 100) / 100;
    item_appeal_[i] = 0.5 * rng_.normal();
    // Popularity: a long tail (Zipf-like by a random rank).
    total += 1.0 / std::pow(1.0 + rng_.below(p.items), 0.8);
    item_cdf_[i] = total;
  }
  for (auto& c : item_cdf_) c /= total;
  favourite_.assign(static_cast<size_t>(p.users) * p.categories, 0);
  for (uint32_t u = 0; u < p.users; ++u) draw_tastes(u);
}

void ShopWorld::draw_tastes(uint32_t user) {
  uint8_t* f = &favourite_[static_cast<size_t>(user) * params_.categories];
  // Two favourites, never the ones held before: a user who moves moves away.
  std::vector<uint32_t> old;
  for (uint32_t c = 0; c < params_.categories; ++c) {
    if (f[c]) old.push_back(c);
    f[c] = 0;
  }
  for (int k = 0; k < 2;) {
    auto c = static_cast<uint32_t>(rng_.below(params_.categories));
    if (f[c] || std::find(old.begin(), old.end(), c) != old.end()) continue;
    f[c] = 1;
    ++k;
  }
}

uint32_t ShopWorld::draw_item() {
  double u = rng_.uniform();
  auto it = std::lower_bound(item_cdf_.begin(), item_cdf_.end(), u);
  return static_cast<uint32_t>(std::min<size_t>(it - item_cdf_.begin(), params_.items - 1));
}

bool ShopWorld::next(Session& s) {
  if (index_ >= params_.sessions) return false;
  if (index_ == params_.shift_at) {
    for (uint32_t u = 0; u < params_.users; ++u) {
      if (rng_.uniform() < params_.shift_share) draw_tastes(u);
    }
  }
  time_ += -std::log(1.0 - rng_.uniform()) / params_.rate;
  s.index = index_++;
  s.time = time_;
  s.user = static_cast<uint32_t>(rng_.below(params_.users));
  s.candidates = params_.candidates;
  for (uint32_t k = 0; k < s.candidates; ++k) {
    // Distinct candidates.
    for (;;) {
      uint32_t item = draw_item();
      if (std::find(s.items.begin(), s.items.begin() + k, item) == s.items.begin() + k) {
        s.items[k] = item;
        break;
      }
    }
  }
  s.draw = rng_.uniform();
  s.delay = -std::log(1.0 - rng_.uniform()) * params_.click_delay;
  return true;
}

double ShopWorld::click_probability(uint32_t user, uint32_t item) const {
  const bool favourite =
      favourite_[static_cast<size_t>(user) * params_.categories + item_category_[item]] != 0;
  // About 5% for an item outside the user's tastes, about 40% inside them; appeal and a
  // high price move it.
  double z = -3.0 + (favourite ? 2.6 : 0.0) + item_appeal_[item] -
             0.4 * (std::log(item_price_[item]) - 3.0);
  return 1.0 / (1.0 + std::exp(-z));
}

}  // namespace rtml
