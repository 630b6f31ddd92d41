#include "rtml/learn/model_selection/successive_halving.h"

#include <algorithm>
#include <cmath>

#include "rtml/core/error.h"
#include "rtml/core/params.h"
#include "running_score.h"

namespace rtml {

struct SuccessiveHalving::State {
  selection::ScoreKind kind;
  std::vector<std::unique_ptr<Model>> models;  // null once dropped
  std::vector<selection::RunningScore> scores;
  std::vector<uint32_t> ranking;  // alive ones first
  uint64_t in_rung = 0, rungs = 0;
  Schema* schema = nullptr;
};

std::unique_ptr<Model> SuccessiveHalving::make(ParamSet& p) {
  auto recipes = ModelRecipe::list_from_param(p, "models");
  auto metric = p.choice("metric", "auto", {"auto", "accuracy", "mae", "rmse"});
  double budget = p.number("budget", 20000);
  double eta = p.number("eta", 2);
  if (!(eta > 1) || !(budget >= 1)) throw Error("successive_halving: eta > 1 and budget >= 1");
  auto kind = selection::score_kind(metric, recipes.front().task());
  if (!selection::fits(kind, recipes.front().task())) {
    throw Error("successive_halving: metric=" + metric + " does not score " +
                std::string(task_name(recipes.front().task())) + " models");
  }
  auto model = std::unique_ptr<SuccessiveHalving>(
      new SuccessiveHalving(std::move(recipes), static_cast<int>(kind), budget, eta));
  if (model->rung_length() < 1) {
    throw Error("successive_halving: budget " + std::to_string(budget) + " is too small for " +
                std::to_string(model->recipes_.size()) +
                " models: the first rung would last no event");
  }
  return model;
}

SuccessiveHalving::SuccessiveHalving(std::vector<ModelRecipe> recipes, int metric, double budget,
                                     double eta)
    : recipes_(std::move(recipes)),
      task_(recipes_.front().task()),
      state_(std::make_unique<State>()),
      budget_(budget),
      eta_(eta) {
  state_->kind = static_cast<selection::ScoreKind>(metric);
  // A binary model and a multiclass one may be candidates together: the selector is
  // binary only if every candidate is.
  for (const auto& r : recipes_) {
    if (r.task() == Task::kMulticlass) task_ = Task::kMulticlass;
  }
  for (size_t i = 0; i < recipes_.size(); ++i) {
    state_->models.push_back(recipes_[i].make());
    state_->scores.emplace_back();
    state_->ranking.push_back(static_cast<uint32_t>(i));
  }
  alive_ = recipes_.size();
}

SuccessiveHalving::~SuccessiveHalving() = default;

bool SuccessiveHalving::uses_categories() const {
  for (const auto& m : state_->models) {
    if (m && m->uses_categories()) return true;
  }
  return false;
}

size_t SuccessiveHalving::max_categories() const {
  size_t most = 0;
  for (const auto& m : state_->models) {
    if (m) most = std::max(most, m->max_categories());
  }
  return most;
}

uint64_t SuccessiveHalving::members() const {
  uint64_t n = 0;
  for (const auto& r : recipes_) n += r.members();
  return n;
}

void SuccessiveHalving::bind(Schema& schema) {
  state_->schema = &schema;
  for (auto& m : state_->models) {
    if (m) m->bind(schema);
  }
}

uint64_t SuccessiveHalving::rung_length() const {
  const double n = static_cast<double>(recipes_.size());
  const double rounds = std::ceil(std::log(n) / std::log(eta_) - 1e-12);
  return static_cast<uint64_t>(std::floor(budget_ / (static_cast<double>(alive_) * rounds)));
}

double SuccessiveHalving::score(size_t i) const { return state_->scores[i].value(state_->kind); }

void SuccessiveHalving::predict(const Features& x, Prediction& out, Workspace& workspace) const {
  state_->models[best_]->predict(x, out, workspace.member(best_));
}

void SuccessiveHalving::learn(const Features& x, const Target& y, double weight) {
  State& s = *state_;
  for (size_t k = 0; k < alive_; ++k) {
    const uint32_t i = s.ranking[k];
    Model& m = *s.models[i];
    m.predict(x, scratch_, own_workspace().member(i));
    s.scores[i].update(s.kind, scratch_, y);
    m.learn(x, y, weight);
    if (i != best_ && s.scores[i].better_than(s.scores[best_], s.kind)) best_ = i;
  }
  if (alive_ == 1) return;
  if (++s.in_rung < rung_length()) return;
  // The rung is over: rank the alive ones, keep the best ceil(s / eta).
  std::stable_sort(
      s.ranking.begin(), s.ranking.begin() + static_cast<ptrdiff_t>(alive_),
      [&](uint32_t a, uint32_t b) { return s.scores[a].better_than(s.scores[b], s.kind); });
  alive_ = static_cast<size_t>(std::ceil(static_cast<double>(alive_) / eta_ - 1e-12));
  for (size_t k = alive_; k < s.ranking.size(); ++k) s.models[s.ranking[k]].reset();
  best_ = s.ranking[0];
  s.in_rung = 0;
  ++s.rungs;
}

void SuccessiveHalving::save(BinaryWriter& out) const {
  const State& s = *state_;
  out.put<uint64_t>(s.models.size());
  for (size_t i = 0; i < s.models.size(); ++i) {
    out.put<uint8_t>(s.models[i] != nullptr);
    if (s.models[i]) s.models[i]->save(out);
    s.scores[i].save(out);
    out.put(s.ranking[i]);
  }
  out.put<uint64_t>(best_);
  out.put<uint64_t>(alive_);
  out.put(s.in_rung);
  out.put(s.rungs);
}

void SuccessiveHalving::load(BinaryReader& in) {
  State& s = *state_;
  if (in.get<uint64_t>() != s.models.size()) in.fail("successive_halving: model count");
  std::vector<bool> seen(s.models.size());
  for (size_t i = 0; i < s.models.size(); ++i) {
    if (in.get<uint8_t>() != 0) {
      if (!s.models[i]) {
        s.models[i] = recipes_[i].make();
        if (s.schema != nullptr) s.models[i]->bind(*s.schema);
      }
      s.models[i]->load(in);
    } else {
      s.models[i].reset();
    }
    s.scores[i].load(in);
    s.ranking[i] = in.get<uint32_t>();
    if (s.ranking[i] >= s.models.size() || seen[s.ranking[i]])
      in.fail("successive_halving: ranking");
    seen[s.ranking[i]] = true;
  }
  best_ = in.get<uint64_t>();
  alive_ = in.get<uint64_t>();
  s.in_rung = in.get<uint64_t>();
  s.rungs = in.get<uint64_t>();
  if (alive_ < 1 || alive_ > s.models.size() || best_ >= s.models.size() || !s.models[best_]) {
    in.fail("successive_halving: state");
  }
  for (size_t k = 0; k < alive_; ++k) {
    if (!s.models[s.ranking[k]]) in.fail("successive_halving: an alive model missing");
  }
}

}  // namespace rtml
