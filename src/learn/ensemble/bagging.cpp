#include "rtml/learn/ensemble/bagging.h"

#include "member_votes.h"
#include "rtml/core/error.h"
#include "rtml/core/params.h"

namespace rtml {
namespace {

constexpr const char* kDefaultBase = "hoeffding_tree";

struct Predicted {
  ensemble::RememberedAnswers answers;
  Prediction member;
};

OnlineBagging::Config common(ParamSet& p, OnlineBagging::Method method) {
  OnlineBagging::Config c;
  c.method = method;
  c.n_models = static_cast<int>(p.integer("n_models", 10));
  if (method == OnlineBagging::Method::kLeveraging) {
    c.w = p.number("w", 6);
    c.adwin_delta = p.number("adwin_delta", 0.002);
    auto m = p.choice("bagging_method", "bag", {"bag", "me", "half", "wt", "subag"});
    c.resampling = m == "me"      ? OnlineBagging::Resampling::kMe
                   : m == "half"  ? OnlineBagging::Resampling::kHalf
                   : m == "wt"    ? OnlineBagging::Resampling::kWt
                   : m == "subag" ? OnlineBagging::Resampling::kSubag
                                  : OnlineBagging::Resampling::kBag;
  }
  c.seed = static_cast<uint64_t>(p.integer("seed", 42));
  if (c.n_models < 1 || c.n_models > 10000 || !(c.w > 0) ||
      !(c.adwin_delta > 0 && c.adwin_delta < 1)) {
    throw Error(p.component() + ": n_models in [1, 10000], w > 0, adwin_delta in (0, 1)");
  }
  return c;
}

std::unique_ptr<Model> make(ParamSet& p, OnlineBagging::Method method) {
  ModelRecipe base = ModelRecipe::from_param(p, "model", kDefaultBase);
  auto c = common(p, method);
  base.check_members(p.component(), static_cast<uint64_t>(c.n_models));
  if (method != OnlineBagging::Method::kOza && base.task() == Task::kRegression) {
    throw Error(p.component() + ": the base model must be a classifier; '" + base.canonical() +
                "' is a regressor (oza_bagging bags regressors)");
  }
  return std::make_unique<OnlineBagging>(c, std::move(base));
}

}  // namespace

std::unique_ptr<Model> OnlineBagging::oza(ParamSet& p) { return make(p, Method::kOza); }
std::unique_ptr<Model> OnlineBagging::adwin(ParamSet& p) { return make(p, Method::kAdwin); }
std::unique_ptr<Model> OnlineBagging::leveraging(ParamSet& p) {
  return make(p, Method::kLeveraging);
}

OnlineBagging::OnlineBagging(Config config, ModelRecipe base)
    : config_(config), base_(std::move(base)), prototype_(base_.make()), rng_(config.seed) {
  for (int i = 0; i < config_.n_models; ++i) members_.push_back(fresh_member());
}

OnlineBagging::~OnlineBagging() = default;

std::string_view OnlineBagging::kind() const {
  switch (config_.method) {
    case Method::kAdwin:
      return "adwin_bagging";
    case Method::kLeveraging:
      return "leveraging_bagging";
    case Method::kOza:
      break;
  }
  return "oza_bagging";
}

OnlineBagging::Member OnlineBagging::fresh_member() const {
  Member m{base_.make(), Adwin(config_.adwin_delta)};
  if (schema_ != nullptr) m.model->bind(*schema_);
  return m;
}

void OnlineBagging::bind(Schema& schema) {
  schema_ = &schema;
  prototype_->bind(schema);
  for (auto& m : members_) m.model->bind(schema);
}

void OnlineBagging::predict(const Features& x, Prediction& out, Workspace& workspace) const {
  out.has_label = false;
  out.proba.clear();
  out.value = 0;
  auto& s = workspace.scratch<Predicted>();
  for (size_t i = 0; i < members_.size(); ++i) {
    members_[i].model->predict(x, s.member, workspace.member(i));
    s.answers.set(i, s.member);
    if (task() == Task::kRegression) {
      out.value += s.member.value / static_cast<double>(members_.size());
    } else {
      ensemble::add_vote(out, s.member, 1.0);
    }
  }
  s.answers.remember(x);
  if (task() != Task::kRegression) set_votes_prediction(out);
}

uint32_t OnlineBagging::draw(Member& m, bool has_answer, bool correct_before) {
  if (config_.method != Method::kLeveraging) return rng_.poisson(1);
  switch (config_.resampling) {
    case Resampling::kBag:
      return rng_.poisson(config_.w);
    case Resampling::kMe: {
      // A member that errs learns the event; one that is right learns it with the odds of
      // its estimated error, so that it sees errors and successes in equal weight.
      if (!has_answer || !correct_before) return 1;
      double e = m.detector.estimation();
      return e != 1.0 && rng_.uniform() < e / (1.0 - e) ? 1 : 0;
    }
    case Resampling::kHalf:
      return rng_.below(2) == 0 ? 1 : 0;
    case Resampling::kWt:
      return 1 + rng_.poisson(1);
    case Resampling::kSubag:
      return rng_.poisson(1) > 0 ? 1 : 0;
  }
  return 0;
}

void OnlineBagging::learn(const Features& x, const Target& y, double weight) {
  const bool regression = task() == Task::kRegression;
  Workspace& own = own_workspace();
  auto& cache = own.scratch<Predicted>();
  // Only leveraging's "me" needs the answers from before learning: predict() left them.
  const bool need_before =
      config_.method == Method::kLeveraging && config_.resampling == Resampling::kMe;
  const bool reuse = need_before && cache.answers.remembered(x, members_.size());
  cache.answers.valid = false;
  bool change = false;
  for (size_t i = 0; i < members_.size(); ++i) {
    Member& m = members_[i];
    bool has_answer = false, correct_before = false;
    if (need_before) {
      if (reuse) {
        has_answer = cache.answers.answers[i].has_label;
        correct_before = has_answer && cache.answers.answers[i].label == y.label;
      } else {
        m.model->predict(x, scratch_, own.member(i));
        has_answer = scratch_.has_label;
        correct_before = has_answer && scratch_.label == y.label;
      }
    }
    uint32_t k = draw(m, has_answer, correct_before);
    if (k > 0) m.model->learn(x, y, weight * k);
    if (config_.method == Method::kOza || regression) continue;
    // The detector watches the member's error on the event it has just learned, as River.
    m.model->predict(x, scratch_, own.member(i));
    if (!scratch_.has_label) continue;
    double before = m.detector.estimation();
    m.detector.update(scratch_.label == y.label ? 0.0 : 1.0);
    if (m.detector.drift_detected() && m.detector.estimation() > before) change = true;
  }
  if (change) {
    size_t worst = 0;
    for (size_t i = 1; i < members_.size(); ++i) {
      if (members_[i].detector.estimation() > members_[worst].detector.estimation()) worst = i;
    }
    members_[worst] = fresh_member();
    ++replacements_;
  }
}

void OnlineBagging::save(BinaryWriter& out) const {
  out.put<uint64_t>(members_.size());
  for (const auto& m : members_) {
    m.model->save(out);
    m.detector.save(out);
  }
  out.put(rng_.state());
  out.put(replacements_);
}

void OnlineBagging::load(BinaryReader& in) {
  own_workspace().scratch<Predicted>().answers.valid = false;
  auto n = in.get<uint64_t>();
  if (n != members_.size()) in.fail("bagging: member count");
  for (auto& m : members_) {
    m = fresh_member();
    m.model->load(in);
    m.detector.load(in);
  }
  rng_.set_state(in.get<std::array<uint64_t, 4>>());
  replacements_ = in.get<uint64_t>();
}

}  // namespace rtml
