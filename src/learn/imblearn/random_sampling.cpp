#include "rtml/learn/imblearn/random_sampling.h"

#include <cmath>

#include "rtml/core/error.h"
#include "rtml/core/params.h"

namespace rtml {
namespace {

std::unique_ptr<Model> make(ParamSet& p, bool over) {
  ModelRecipe base = ModelRecipe::from_param(p, "model", "logistic_regression");
  double desired = p.number("desired", 0.5);
  auto seed = static_cast<uint64_t>(p.integer("seed", 42));
  if (!(desired > 0 && desired < 1)) {
    throw Error(p.component() + ": desired (class 1's share of what is learned) in (0, 1)");
  }
  if (base.task() == Task::kRegression) {
    throw Error(p.component() + ": the model must be a classifier; '" + base.canonical() +
                "' is a regressor");
  }
  return std::make_unique<RandomSampling>(over, desired, seed, std::move(base));
}

}  // namespace

std::unique_ptr<Model> RandomSampling::under(ParamSet& p) { return make(p, false); }
std::unique_ptr<Model> RandomSampling::over(ParamSet& p) { return make(p, true); }

RandomSampling::RandomSampling(bool over, double desired, uint64_t seed, ModelRecipe base)
    : over_(over), desired_(desired), base_(std::move(base)), model_(base_.make()), rng_(seed) {}

RandomSampling::~RandomSampling() = default;

double RandomSampling::desired(uint32_t c) const {
  // Two classes (or a binary model): class 1 gets desired_; more: uniform.
  if (seen_.size() <= 2) return c == 1 ? desired_ : 1 - desired_;
  return 1.0 / static_cast<double>(seen_.size());
}

void RandomSampling::predict(const Features& x, Prediction& out, Workspace& workspace) const {
  model_->predict(x, out, workspace.member(0));
}

void RandomSampling::learn(const Features& x, const Target& y, double weight) {
  const uint32_t c = y.label;
  if (c >= seen_.size()) {
    if (c > 100000) throw Error(std::string(kind()) + ": class index out of range");
    seen_.resize(c + 1, 0.0);
    learned_.resize(c + 1, 0.0);
  }
  seen_[c] += 1;
  // r = f / g says how over-represented a class is. The pivot, learned once per event, is
  // the class of least r (under-sampling: the others are thinned to its rate) or of
  // greatest r (over-sampling: the others are repeated up to it); class y then learns
  // r(pivot) / r(y) times as often, a chance below 1 or a Poisson rate above.
  auto r = [&](uint32_t k) { return seen_[k] / desired(k); };
  uint32_t pivot = c;
  for (uint32_t k = 0; k < seen_.size(); ++k) {
    if (seen_[k] == 0) continue;
    if (over_ ? r(k) > r(pivot) : r(k) < r(pivot)) pivot = k;
  }
  const double factor = r(pivot) / r(c);
  double times = 1;
  if (c != pivot) {
    times = over_ ? rng_.poisson(factor) : (rng_.uniform() < factor ? 1 : 0);
  }
  if (times == 0) return;
  learned_[c] += times * weight;
  model_->learn(x, y, weight * times);
}

void RandomSampling::save(BinaryWriter& out) const {
  model_->save(out);
  out.put<uint64_t>(seen_.size());
  for (size_t k = 0; k < seen_.size(); ++k) {
    out.put(seen_[k]);
    out.put(learned_[k]);
  }
  out.put(rng_.state());
}

void RandomSampling::load(BinaryReader& in) {
  model_->load(in);
  auto n = in.get<uint64_t>();
  if (n > 100001) in.fail(std::string(kind()) + ": class count");
  seen_.assign(n, 0.0);
  learned_.assign(n, 0.0);
  for (size_t k = 0; k < n; ++k) {
    seen_[k] = in.get<double>();
    learned_[k] = in.get<double>();
    if (!(seen_[k] >= 0) || !(learned_[k] >= 0)) in.fail(std::string(kind()) + ": counts");
  }
  rng_.set_state(in.get<std::array<uint64_t, 4>>());
}

}  // namespace rtml
