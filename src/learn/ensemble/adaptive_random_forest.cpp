#include "rtml/learn/ensemble/adaptive_random_forest.h"

#include <algorithm>
#include <cmath>

#include "member_votes.h"
#include "rtml/core/error.h"
#include "rtml/core/params.h"
#include "rtml/learn/drift/drift_detector.h"
#include "rtml/learn/tree/hoeffding_tree.h"
#include "rtml/learn/tree/hoeffding_tree_regressor.h"

namespace rtml {

// One tree of the forest with what watches it.
struct AdaptiveRandomForest::Member {
  std::unique_ptr<Model> tree, background;
  Adwin drift, warning;
  // Since the tree took its place: correct count (classifier) or absolute error sum
  // (regressor), over `scored` events.
  double score = 0, scored = 0;
  // Regressor: running mean and variance of the residuals, to scale them for ADWIN.
  double res_n = 0, res_mean = 0, res_m2 = 0;

  Member(double drift_delta, double warning_delta) : drift(drift_delta), warning(warning_delta) {}
  void reset_scores() { score = scored = res_n = res_mean = res_m2 = 0; }
};

namespace {

AdaptiveRandomForest::Config common(ParamSet& p, bool regression) {
  AdaptiveRandomForest::Config c;
  c.regression = regression;
  c.n_models = static_cast<int>(p.integer("n_models", 10));
  c.max_features = static_cast<int>(p.integer("max_features", 0));
  c.lambda = p.number("lambda_value", 6);
  c.grace_period = p.number("grace_period", 50);
  c.delta = p.number("delta", 0.01);
  c.tau = p.number("tau", 0.05);
  c.drift_delta = p.number("drift_delta", 0.001);
  c.warning_delta = p.number("warning_delta", 0.01);
  if (!regression) c.weighted_vote = !p.boolean("disable_weighted_vote", false);
  c.seed = static_cast<uint64_t>(p.integer("seed", 42));
  c.binary_split = p.boolean("binary_split", true);
  if (c.n_models < 1 || c.n_models > 10000 || c.max_features < 0 || !(c.lambda > 0) ||
      !(c.grace_period >= 1) || !(c.delta > 0 && c.delta < 1) ||
      !(c.drift_delta > 0 && c.drift_delta < 1) || !(c.warning_delta > 0 && c.warning_delta < 1)) {
    throw Error(
        std::string(regression ? "adaptive_random_forest_regressor" : "adaptive_random_forest") +
        ": n_models in [1, 10000], max_features >= 0 (0: sqrt), lambda_value > 0, "
        "grace_period >= 1, delta, drift_delta and warning_delta in (0, 1)");
  }
  return c;
}

}  // namespace

std::unique_ptr<Model> AdaptiveRandomForest::classifier(ParamSet& p) {
  return std::make_unique<AdaptiveRandomForest>(common(p, false));
}

std::unique_ptr<Model> AdaptiveRandomForest::regressor(ParamSet& p) {
  return std::make_unique<AdaptiveRandomForest>(common(p, true));
}

AdaptiveRandomForest::AdaptiveRandomForest(Config config) : config_(config), rng_(config.seed) {}

AdaptiveRandomForest::~AdaptiveRandomForest() = default;

std::unique_ptr<Model> AdaptiveRandomForest::new_tree() {
  uint64_t seed = rng_.next();
  if (config_.regression) {
    HoeffdingTreeRegressor::Config c;
    c.grace_period = config_.grace_period;
    c.delta = config_.delta;
    c.tau = config_.tau;
    c.max_features = features_per_leaf_;
    c.seed = seed;
    c.binary_split = config_.binary_split;
    return std::make_unique<HoeffdingTreeRegressor>(c);
  }
  HoeffdingTreeClassifier::Config c;
  c.grace_period = config_.grace_period;
  c.delta = config_.delta;
  c.tie_threshold = config_.tau;
  c.max_features = features_per_leaf_;
  c.seed = seed;
  c.binary_split = config_.binary_split;
  return std::make_unique<HoeffdingTreeClassifier>(c);
}

void AdaptiveRandomForest::start(const Features& x) {
  auto n = static_cast<int>(x.numbers().size() + x.categories().size());
  features_per_leaf_ = config_.max_features > 0
                           ? std::min(config_.max_features, std::max(n, 1))
                           : std::max(1, static_cast<int>(std::lround(std::sqrt(n))));
  for (int i = 0; i < config_.n_models; ++i) {
    auto m = std::make_unique<Member>(config_.drift_delta, config_.warning_delta);
    m->tree = new_tree();
    members_.push_back(std::move(m));
  }
}

// predict()'s scratch, in its caller's workspace: a tree's prediction, the trees' values
// (regressor), and what each tree answered for the event predicted last, so that learn()
// on that event (predict_then_learn, on the model's own workspace) need not ask again.
struct AdaptiveRandomForest::Scratch {
  Prediction tree;
  std::vector<double> values;
  ensemble::RememberedAnswers answers;
};

void AdaptiveRandomForest::predict(const Features& x, Prediction& out, Workspace& workspace) const {
  out.has_label = false;
  out.proba.clear();
  out.value = 0;
  if (members_.empty()) return;
  auto& s = workspace.scratch<Scratch>();
  Prediction& p = s.tree;
  if (config_.regression) {
    s.values.clear();
    for (size_t i = 0; i < members_.size(); ++i) {
      members_[i]->tree->predict(x, p, workspace.member(i));
      s.values.push_back(p.value);
      s.answers.set(i, p);
    }
    s.answers.remember(x);
    size_t n = s.values.size(), mid = n / 2;
    std::nth_element(s.values.begin(), s.values.begin() + mid, s.values.end());
    double median = s.values[mid];
    if (n % 2 == 0)
      median = (median + *std::max_element(s.values.begin(), s.values.begin() + mid)) / 2;
    out.value = median;
    return;
  }
  for (size_t i = 0; i < members_.size(); ++i) {
    const Member& m = *members_[i];
    m.tree->predict(x, p, workspace.member(i));
    s.answers.set(i, p);
    double accuracy = m.scored > 0 ? m.score / m.scored : 0.0;
    ensemble::add_vote(out, p, config_.weighted_vote && accuracy > 0 ? accuracy : 1.0);
  }
  s.answers.remember(x);
  set_votes_prediction(out);
}

double AdaptiveRandomForest::drift_input(Member& m, double y, const Prediction& p, bool correct) {
  if (!config_.regression) return correct ? 0.0 : 1.0;
  // ADWIN wants values in [0, 1]: assuming normal residuals, mean +- 3 sd holds 99.7% of
  // them, so that range is scaled onto [0, 1], as River.
  double r = y - p.value;
  m.res_n += 1;
  double d = r - m.res_mean;
  m.res_mean += d / m.res_n;
  m.res_m2 += d * (r - m.res_mean);
  if (m.res_n < 2) return 0.5;
  double sd = std::sqrt(m.res_m2 / (m.res_n - 1));
  return sd > 0 ? (r + 3 * sd) / (6 * sd) : 0.5;
}

void AdaptiveRandomForest::learn(const Features& x, const Target& y, double weight) {
  if (members_.empty()) start(x);
  // predict_then_learn asks every tree twice about the same event; the trees have not
  // changed since predict(), so its answers stand.
  Workspace& own = own_workspace();
  auto& cache = own.scratch<Scratch>().answers;
  bool reuse = cache.remembered(x, members_.size());
  cache.valid = false;
  for (size_t i = 0; i < members_.size(); ++i) {
    Member& m = *members_[i];
    if (reuse) {
      scratch_.has_label = cache.answers[i].has_label;
      scratch_.label = cache.answers[i].label;
      scratch_.value = cache.answers[i].value;
    } else {
      m.tree->predict(x, scratch_, own.member(i));
    }
    bool correct = !config_.regression && scratch_.has_label && scratch_.label == y.label;
    m.scored += 1;
    m.score += config_.regression ? std::abs(y.value - scratch_.value) : correct ? 1.0 : 0.0;
    uint32_t k = rng_.poisson(config_.lambda);
    if (k == 0) continue;  // as River, the detectors watch only the events a tree learns
    if (m.background != nullptr) m.background->learn(x, y, weight * k);
    m.tree->learn(x, y, weight * k);
    double input = drift_input(m, y.value, scratch_, correct);
    // For the classifier a change counts only when the error rose (as MOA's ADWIN change
    // detector): a tree whose error falls is learning, not drifting.
    double warning_before = m.warning.estimation(), drift_before = m.drift.estimation();
    m.warning.update(input);
    if (m.warning.drift_detected() &&
        (config_.regression || m.warning.estimation() > warning_before)) {
      m.background = new_tree();
      m.warning = Adwin(config_.warning_delta);
      ++warnings_;
    }
    m.drift.update(input);
    if (m.drift.drift_detected() && (config_.regression || m.drift.estimation() > drift_before)) {
      m.tree = m.background != nullptr ? std::move(m.background) : new_tree();
      m.background.reset();
      m.warning = Adwin(config_.warning_delta);
      m.drift = Adwin(config_.drift_delta);
      m.reset_scores();
      ++drifts_;
    }
  }
}

void AdaptiveRandomForest::save(BinaryWriter& out) const {
  out.put<int32_t>(features_per_leaf_);
  out.put<uint64_t>(members_.size());
  for (const auto& m : members_) {
    m->tree->save(out);
    out.put<uint8_t>(m->background != nullptr);
    if (m->background != nullptr) m->background->save(out);
    m->drift.save(out);
    m->warning.save(out);
    for (double v : {m->score, m->scored, m->res_n, m->res_mean, m->res_m2}) out.put(v);
  }
  out.put(rng_.state());
  out.put(drifts_);
  out.put(warnings_);
}

void AdaptiveRandomForest::load(BinaryReader& in) {
  own_workspace().scratch<Scratch>().answers.valid = false;
  features_per_leaf_ = in.get<int32_t>();
  auto n = in.get<uint64_t>();
  if (features_per_leaf_ < 0 || n > 10000 || (n != 0 && features_per_leaf_ == 0)) {
    in.fail("forest shape");
  }
  members_.clear();
  for (uint64_t i = 0; i < n; ++i) {
    auto m = std::make_unique<Member>(config_.drift_delta, config_.warning_delta);
    m->tree = new_tree();
    m->tree->load(in);
    if (in.get<uint8_t>() != 0) {
      m->background = new_tree();
      m->background->load(in);
    }
    m->drift.load(in);
    m->warning.load(in);
    for (double* v : {&m->score, &m->scored, &m->res_n, &m->res_mean, &m->res_m2}) {
      *v = in.get<double>();
    }
    members_.push_back(std::move(m));
  }
  rng_.set_state(in.get<std::array<uint64_t, 4>>());
  drifts_ = in.get<uint64_t>();
  warnings_ = in.get<uint64_t>();
}

}  // namespace rtml
