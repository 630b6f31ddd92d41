// ShopWorld: a simulated shop whose customers' tastes change, for the demo and synth:shop.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "rtml/core/random.h"

namespace rtml {

// A seeded shop. Users have tastes over product categories (two favourites each);
// items have a category, a price and an appeal; sessions arrive in event time, and in
// each the shop may show one of `candidates` items drawn for the user (popular items
// more often). Whether the user clicks the item shown depends on the user's taste for
// its category, its appeal and its price; the click comes `delay` seconds later
// (exponential, seconds to minutes). At session `shift_at`, a `shift_share` of the users
// take two other favourite categories.
//
// Common random numbers: each session carries one uniform draw that decides the click
// for whichever item is shown, so two policies that show the same item in a session see
// the same outcome, and their difference is their choices' alone. Not thread-safe.
class ShopWorld {
 public:
  struct Params {
    uint64_t sessions = 200000;
    uint64_t seed = 1;
    uint32_t users = 500;
    uint32_t items = 1000;
    uint32_t categories = 10;
    uint32_t candidates = 5;
    uint64_t shift_at = 100000;  // session index at which tastes move
    double shift_share = 0.7;    // of the users
    double rate = 20;            // sessions per second of event time
    double click_delay = 30;     // mean seconds from the item shown to the click
  };
  static constexpr uint32_t kMaxCandidates = 16;

  struct Session {
    uint64_t index = 0;  // 0, 1, ...
    double time = 0;     // seconds
    uint32_t user = 0;
    uint32_t candidates = 0;
    std::array<uint32_t, kMaxCandidates> items{};
    double draw = 0;   // the session's uniform draw: clicked if draw < click probability
    double delay = 0;  // seconds from the item shown to its click
  };

  // Throws Error naming the parameter for out-of-range params.
  explicit ShopWorld(const Params& params);

  // The next session, or false after params.sessions. Moves the tastes at shift_at.
  bool next(Session& s);

  // The probability that user clicks item if it is shown now.
  double click_probability(uint32_t user, uint32_t item) const;
  bool clicked(const Session& s, uint32_t item) const {
    return s.draw < click_probability(s.user, item);
  }

  uint32_t category(uint32_t item) const { return item_category_[item]; }
  double price(uint32_t item) const { return item_price_[item]; }
  const Params& params() const { return params_; }
  // Names as the rows carry them: "u12", "i7", "c3".
  static std::string user_name(uint32_t u) { return "u" + std::to_string(u); }
  static std::string item_name(uint32_t i) { return "i" + std::to_string(i); }
  static std::string category_name(uint32_t c) { return "c" + std::to_string(c); }

 private:
  void draw_tastes(uint32_t user);
  uint32_t draw_item();

  Params params_;
  Random rng_;
  std::vector<uint32_t> item_category_;
  std::vector<double> item_price_, item_appeal_;
  std::vector<double> item_cdf_;    // popularity, cumulative, for drawing candidates
  std::vector<uint8_t> favourite_;  // users x categories: 1 for a favourite
  uint64_t index_ = 0;
  double time_ = 0;
};

}  // namespace rtml
