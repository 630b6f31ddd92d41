#include "rtml/runtime/shop_demo.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <queue>

#include "rolling_mean.h"
#include "rtml/core/error.h"
#include "rtml/core/random.h"
#include "rtml/features/aggregate_spec.h"
#include "rtml/learn/pipeline.h"
#include "rtml/runtime/runtime.h"
#include "rtml/runtime/store_aggregates.h"
#include "rtml/store/embedded_store.h"

namespace rtml::runtime {
namespace {

// What each policy's store keeps, from its own views and clicks.
constexpr const char* kAggregates =
    "uc_views = count(view) by user_cat decay 30m\n"
    "uc_clicks = count(click) by user_cat decay 30m\n"
    "item_clicks_1h = count(click) by item over 1h every 5m\n";

// The columns of a candidate's row; view and click are the store's events, not features.
enum Field : size_t { kUserCat, kItem, kCategory, kPrice, kView, kClick, kFields };

std::vector<Column> candidate_columns() {
  return {Column{"user_cat", ColumnType::kCategorical}, Column{"item", ColumnType::kCategorical},
          Column{"category", ColumnType::kCategorical}, Column{"price", ColumnType::kNumeric},
          Column{"view", ColumnType::kNumeric},         Column{"click", ColumnType::kNumeric}};
}

// A label on its way back: the session's shown item was clicked (at click time) or
// not (when the attribution window closes).
struct Due {
  double time;
  uint64_t session;
  uint32_t user;
  uint32_t item;
  bool clicked;
  bool operator>(const Due& o) const { return time > o.time; }
};

// One policy: its store, its model (none for the baseline), its labels on their way.
class Policy {
 public:
  enum class Kind { kModel, kPopularity };

  Policy(Kind kind, const ShopDemoOptions& o, const ShopWorld& world)
      : kind_(kind),
        options_(o),
        world_(world),
        pipeline_(o.model),
        runtime_(pipeline_, {{"", {"view", "click"}},
                             {.max_entries = std::max<size_t>(
                                  1024, static_cast<size_t>(o.world.rate * o.attribution * 4)),
                              .ttl = o.attribution * 2}}),
        rng_(o.world.seed ^ 0xb4d17) {
    store::StoreOptions so;
    so.computed = std::make_shared<StoreAggregates>(
        features::parse_aggregates(kAggregates, "shop demo aggregates"));
    store_ = store::EmbeddedStore::open(std::move(so));
    if (pipeline_.task() != Task::kBinary) {
      throw Error("the shop demo's model must be a binary classifier, not '" + o.model + "'");
    }
    (void)pipeline_.labels().intern("0", true);
    (void)pipeline_.labels().intern("1", true);
    runtime_.set_binary(true);
    runtime_.sync_columns(candidate_columns());
    runtime_.use_store(store_.get(),
                       {{"user_cat", {"uc_views", "uc_clicks"}}, {"item", {"item_clicks_1h"}}});
    popularity_ = store_->plan_as_of({"item_clicks_1h"});
    row_.values.resize(kFields);
    features_.resize(ShopWorld::kMaxCandidates);
    predictions_.resize(ShopWorld::kMaxCandidates);
    std::vector<Due> heap;
    heap.reserve(static_cast<size_t>(o.world.rate * o.attribution * 4) + 1024);
    due_ = decltype(due_)(std::greater<Due>(), std::move(heap));
  }

  void set_learning(bool learning) { learning_ = learning; }
  uint64_t pending() const { return due_.size(); }

  // Learns from the labels that have come back by `now`, and adds their clicks to the
  // store, in time order.
  void advance(double now) {
    while (!due_.empty() && due_.top().time <= now) {
      Due d = due_.top();
      due_.pop();
      if (d.clicked) {
        fill(d.user, d.item);
        row_.values[kClick] = number(1);
        // The demo's own events, applied once each: no deduplication needed.
        (void)runtime_.update_store(row_, d.time, event_id('c', d.session), false);
      }
      if (kind_ != Kind::kModel) continue;
      if (learning_) {
        (void)runtime_.label(EventId::of_number(d.session + 1), Target::of_class(d.clicked ? 1 : 0),
                             d.time);
      } else {
        LabelRefusal why;
        runtime_.log().take(EventId::of_number(d.session + 1), d.time, &why);
      }
    }
  }

  // Scores the session's candidates into scores[] and returns the one the greedy policy
  // would show.
  uint32_t score(const ShopWorld::Session& s, double* scores) {
    uint32_t best = 0;
    for (uint32_t k = 0; k < s.candidates; ++k) {
      fill(s.user, s.items[k]);
      if (kind_ == Kind::kModel) {
        (void)runtime_.score(row_, s.time, predictions_[k]);
        features_[k].assign(runtime_.last_features());
        scores[k] = predictions_[k].value;
      } else {
        store::FeatureValue v;
        item_key_.assign_text(item_text_);
        store_->get_as_of(item_key_, popularity_, s.time, std::span(&v, 1));
        scores[k] = v.present ? v.number : 0.0;
      }
      if (scores[k] > scores[best]) best = k;
    }
    return best;
  }

  // Shows one candidate, epsilon-greedily; returns its index.
  uint32_t choose(const ShopWorld::Session& s, uint32_t greedy) {
    if (rng_.uniform() < options_.epsilon) return static_cast<uint32_t>(rng_.below(s.candidates));
    return greedy;
  }

  // The shown item: a view in the store, its prediction logged, its label on its way.
  void show(const ShopWorld::Session& s, uint32_t k, bool clicked) {
    const uint32_t item = s.items[k];
    fill(s.user, item);
    row_.values[kView] = number(1);
    (void)runtime_.update_store(row_, s.time, event_id('v', s.index), false);
    if (kind_ == Kind::kModel) {
      (void)runtime_.log_prediction(EventId::of_number(s.index + 1), s.time, features_[k],
                                    predictions_[k]);
    }
    due_.push(Due{clicked ? s.time + s.delay : s.time + options_.attribution, s.index, s.user, item,
                  clicked});
  }

 private:
  static Value number(double v) {
    Value x;
    x.kind = ValueKind::kNumber;
    x.number = v;
    return x;
  }
  static Value text(std::string_view t) {
    Value x;
    x.kind = ValueKind::kText;
    x.text = t;
    return x;
  }
  // The row of user's candidate item (no view or click).
  void fill(uint32_t user, uint32_t item) {
    const uint32_t c = world_.category(item);
    user_cat_.clear();
    append_number(user_cat_, 'u', user);
    user_cat_ += '|';
    append_number(user_cat_, 'c', c);
    item_text_.clear();
    append_number(item_text_, 'i', item);
    category_text_.clear();
    append_number(category_text_, 'c', c);
    row_.values[kUserCat] = text(user_cat_);
    row_.values[kItem] = text(item_text_);
    row_.values[kCategory] = text(category_text_);
    row_.values[kPrice] = number(world_.price(item));
    row_.values[kView] = Value{};
    row_.values[kClick] = Value{};
  }
  static void append_number(std::string& out, char prefix, uint64_t n) {
    char buf[24];
    char* end = buf + sizeof(buf);
    char* p = end;
    do {
      *--p = static_cast<char>('0' + n % 10);
      n /= 10;
    } while (n);
    out += prefix;
    out.append(p, end);
  }
  std::string_view event_id(char kind, uint64_t session) {
    id_.clear();
    append_number(id_, kind, session);
    return id_;
  }

  Kind kind_;
  const ShopDemoOptions& options_;
  const ShopWorld& world_;
  Pipeline pipeline_;
  std::unique_ptr<store::EmbeddedStore> store_;
  Runtime runtime_;
  Random rng_;
  bool learning_ = true;
  Row row_;
  std::string user_cat_, item_text_, category_text_, id_;
  std::vector<Features> features_;
  std::vector<Prediction> predictions_;
  store::EmbeddedStore::AsOfPlan popularity_;
  store::EntityKey item_key_;
  std::priority_queue<Due, std::vector<Due>, std::greater<Due>> due_;
};

}  // namespace

ShopDemoResult run_shop_demo(const ShopDemoOptions& o,
                             const std::function<void(const ShopDemoProgress&)>& progress,
                             const std::function<bool()>& stop) {
  if (!(o.epsilon >= 0 && o.epsilon <= 1)) throw Error("shop demo: epsilon must be 0 to 1");
  if (!(o.attribution > 0)) throw Error("shop demo: attribution must be positive");
  if (o.window < 1) throw Error("shop demo: window must be at least 1");
  const auto start = std::chrono::steady_clock::now();
  ShopWorld world(o.world);
  Policy online(Policy::Kind::kModel, o, world);
  Policy frozen(Policy::Kind::kModel, o, world);
  Policy popular(Policy::Kind::kPopularity, o, world);
  Policy* policies[3] = {&online, &frozen, &popular};

  ShopDemoResult r;
  r.shift_at = o.world.shift_at;
  r.candidates = o.world.candidates;
  ShopPolicyResult* results[3] = {&r.online, &r.frozen, &r.popularity};
  detail::RollingMean rolling[3] = {detail::RollingMean(o.window), detail::RollingMean(o.window),
                                    detail::RollingMean(o.window)};
  detail::RollingMean recovery(o.window);
  double before_rate = 0;  // online, over the window before the shift
  uint64_t clicks[3][2] = {}, shown[2] = {};
  double ips[3] = {}, dr[3] = {}, policy_seconds[3] = {};
  const uint64_t step = std::max<uint64_t>(1, o.world.sessions / 400);

  ShopWorld::Session s;
  double scores[3][ShopWorld::kMaxCandidates];
  uint32_t greedy[3], chosen[3];
  while (world.next(s)) {
    if (s.index == o.world.shift_at) {
      r.shift_time = s.time;
      before_rate = rolling[0].mean(0);
      frozen.set_learning(false);
    }
    const int part = s.index >= o.world.shift_at ? 1 : 0;
    auto policy_start = std::chrono::steady_clock::now();
    for (int p = 0; p < 3; ++p) {
      Policy& policy = *policies[p];
      policy.advance(s.time);
      greedy[p] = policy.score(s, scores[p]);
      chosen[p] = policy.choose(s, greedy[p]);
      const bool clicked = world.clicked(s, s.items[chosen[p]]);
      policy.show(s, chosen[p], clicked);
      const auto policy_end = std::chrono::steady_clock::now();
      policy_seconds[p] += std::chrono::duration<double>(policy_end - policy_start).count();
      policy_start = policy_end;
      clicks[p][part] += clicked;
      rolling[p].add(clicked);
    }
    ++shown[part];
    // Off-policy estimates from the online policy's log: its shown item, its propensity,
    // the click, and its model's scores as the reward model.
    if (part == 1) {
      const uint32_t k = s.candidates;
      const double e = o.epsilon / k;
      const uint32_t a = chosen[0];
      const double logged = e + (a == greedy[0] ? 1 - o.epsilon : 0.0);
      const double reward = world.clicked(s, s.items[a]) ? 1.0 : 0.0;
      for (int p = 0; p < 3; ++p) {
        auto target = [&](uint32_t c) { return e + (c == greedy[p] ? 1 - o.epsilon : 0.0); };
        double w = target(a) / logged;
        ips[p] += w * reward;
        double model = 0;
        for (uint32_t c = 0; c < k; ++c) model += target(c) * scores[0][c];
        dr[p] += model + w * (reward - scores[0][a]);
      }
      recovery.add(reward > 0);
      if (r.recovery_events < 0 && recovery.full() && recovery.mean(0) >= 0.95 * before_rate) {
        r.recovery_events = static_cast<int64_t>(s.index + 1 - o.world.shift_at);
      }
    }
    ++r.events;
    if ((s.index + 1) % step == 0) {
      r.curve_time.push_back(s.time);
      for (int p = 0; p < 3; ++p) results[p]->rolling.push_back(rolling[p].mean(0));
    }
    if ((r.events & 4095) == 0) {
      if (progress) {
        ShopDemoProgress pr;
        pr.events = r.events;
        pr.seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        pr.online_rolling = rolling[0].mean(0);
        pr.frozen_rolling = rolling[1].mean(0);
        pr.pending = online.pending();
        progress(pr);
      }
      if (stop && stop()) {
        r.stopped = true;
        break;
      }
    }
  }
  for (int p = 0; p < 3; ++p) {
    results[p]->seconds = policy_seconds[p];
    if (shown[0]) results[p]->before_shift = static_cast<double>(clicks[p][0]) / shown[0];
    if (shown[1]) {
      results[p]->after_shift = static_cast<double>(clicks[p][1]) / shown[1];
      results[p]->ips_after = ips[p] / shown[1];
      results[p]->dr_after = dr[p] / shown[1];
    }
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace rtml::runtime
