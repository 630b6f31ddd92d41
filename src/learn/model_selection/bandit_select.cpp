#include "rtml/learn/model_selection/bandit_select.h"

#include <algorithm>
#include <cmath>

#include "rtml/core/error.h"
#include "rtml/core/params.h"

namespace rtml {

std::unique_ptr<Model> BanditSelect::make(ParamSet& p) {
  auto recipes = ModelRecipe::list_from_param(p, "models");
  Config c;
  c.policy = p.choice("policy", "epsilon_greedy", {"epsilon_greedy", "ucb"}) == "ucb"
                 ? Policy::kUcb
                 : Policy::kEpsilonGreedy;
  c.epsilon = p.number("epsilon", 0.1);
  c.decay = p.number("decay", 0);
  c.delta = p.number("delta", 1);
  auto burn_in = p.integer("burn_in", 100);
  c.seed = static_cast<uint64_t>(p.integer("seed", 42));
  if (!(c.epsilon >= 0 && c.epsilon <= 1) || !(c.decay >= 0) || !(c.delta >= 0) || burn_in < 0) {
    throw Error("bandit_select: epsilon in [0, 1], decay >= 0, delta >= 0, burn_in >= 0");
  }
  c.burn_in = static_cast<uint64_t>(burn_in);
  return std::make_unique<BanditSelect>(c, std::move(recipes));
}

BanditSelect::BanditSelect(Config config, std::vector<ModelRecipe> recipes)
    : config_(config),
      recipes_(std::move(recipes)),
      task_(recipes_.front().task()),
      rng_(config.seed) {
  for (const auto& r : recipes_) {
    if (r.task() == Task::kMulticlass) task_ = Task::kMulticlass;
    arms_.push_back(Arm{r.make()});
  }
}

BanditSelect::~BanditSelect() = default;

bool BanditSelect::uses_categories() const {
  for (const auto& a : arms_) {
    if (a.model->uses_categories()) return true;
  }
  return false;
}

size_t BanditSelect::max_categories() const {
  size_t most = 0;
  for (const auto& a : arms_) most = std::max(most, a.model->max_categories());
  return most;
}

uint64_t BanditSelect::members() const {
  uint64_t n = 0;
  for (const auto& r : recipes_) n += r.members();
  return n;
}

void BanditSelect::bind(Schema& schema) {
  for (auto& a : arms_) a.model->bind(schema);
}

double BanditSelect::mean_reward(size_t arm) const {
  const Arm& a = arms_[arm];
  return a.pulls > 0 ? a.reward / static_cast<double>(a.pulls) : 0.0;
}

size_t BanditSelect::best() const {
  size_t best = 0;
  for (size_t i = 1; i < arms_.size(); ++i) {
    if (arms_[i].pulls > 0 && (arms_[best].pulls == 0 || mean_reward(i) > mean_reward(best))) {
      best = i;
    }
  }
  return best;
}

size_t BanditSelect::pull() {
  const size_t n = arms_.size();
  if (t_ < config_.burn_in * n) return static_cast<size_t>(t_ % n);
  if (config_.policy == Policy::kEpsilonGreedy) {
    const double eps = config_.epsilon * std::exp(-config_.decay * static_cast<double>(t_));
    if (rng_.uniform() < eps) return static_cast<size_t>(rng_.below(n));
    return best();
  }
  size_t choice = 0;
  double top = -1;
  for (size_t i = 0; i < n; ++i) {
    if (arms_[i].pulls == 0) return i;
    const double bound =
        mean_reward(i) + config_.delta * std::sqrt(2 * std::log(static_cast<double>(t_ + 1)) /
                                                   static_cast<double>(arms_[i].pulls));
    if (bound > top) {
      top = bound;
      choice = i;
    }
  }
  return choice;
}

void BanditSelect::predict(const Features& x, Prediction& out, Workspace& workspace) const {
  const size_t b = best();
  arms_[b].model->predict(x, out, workspace.member(b));
}

void BanditSelect::learn(const Features& x, const Target& y, double weight) {
  const size_t i = pull();
  Arm& a = arms_[i];
  a.model->predict(x, scratch_, own_workspace().member(i));
  double reward;
  if (task_ == Task::kRegression) {
    y_n_ += 1;
    const double d = y.value - y_mean_;
    y_mean_ += d / y_n_;
    y_mad_ += (std::abs(y.value - y_mean_) - y_mad_) / y_n_;
    const double scale = y_mad_ > 0 ? y_mad_ : 1.0;
    reward = std::exp(-std::abs(y.value - scratch_.value) / scale);
  } else {
    reward = scratch_.has_label && scratch_.label == y.label ? 1.0 : 0.0;
  }
  a.reward += reward;
  ++a.pulls;
  a.model->learn(x, y, weight);
  ++t_;
}

void BanditSelect::save(BinaryWriter& out) const {
  out.put<uint64_t>(arms_.size());
  for (const auto& a : arms_) {
    a.model->save(out);
    out.put(a.pulls);
    out.put(a.reward);
  }
  out.put(t_);
  out.put(y_n_);
  out.put(y_mean_);
  out.put(y_mad_);
  out.put(rng_.state());
}

void BanditSelect::load(BinaryReader& in) {
  if (in.get<uint64_t>() != arms_.size()) in.fail("bandit_select: arm count");
  for (auto& a : arms_) {
    a.model->load(in);
    a.pulls = in.get<uint64_t>();
    a.reward = in.get<double>();
    if (!(a.reward >= 0) || a.reward > static_cast<double>(a.pulls))
      in.fail("bandit_select: rewards");
  }
  t_ = in.get<uint64_t>();
  y_n_ = in.get<double>();
  y_mean_ = in.get<double>();
  y_mad_ = in.get<double>();
  rng_.set_state(in.get<std::array<uint64_t, 4>>());
}

}  // namespace rtml
