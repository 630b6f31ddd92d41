#include "rtml/learn/ensemble/streaming_random_patches.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "member_votes.h"
#include "rtml/core/error.h"
#include "rtml/core/params.h"

namespace rtml {
namespace {

using Learner = StreamingRandomPatches::Learner;

// predict()'s scratch: a member's prediction, its view of the event, and the answers.
struct Scratch {
  ensemble::RememberedAnswers answers;
  Prediction member;
  Features subset;
};

// The features of x that mask lets through (every hashed category), into out.
const Features& select(const Features& x, const std::vector<uint8_t>& mask, Features& out) {
  if (mask.empty()) return x;
  out.clear();
  for (const auto& f : x.numbers()) {
    if (f.index < mask.size() && mask[f.index]) out.add(f.index, f.value);
  }
  for (const auto& c : x.categories()) {
    if (c.column < mask.size() && mask[c.column]) out.add_category(c.column, c.id);
  }
  for (uint64_t h : x.hashed_categories()) out.add_hashed_category(h);
  return out;
}

// Python's round(): halves to even, as River counts features.
int round_even(double v) { return static_cast<int>(std::nearbyint(v)); }

void check_size(const std::string& s) {
  if (s == "sqrt" || s == "rmsqrt") return;
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  bool integer = s.find('.') == std::string::npos && s.find('e') == std::string::npos;
  bool ok = ec == std::errc() && p == s.data() + s.size() &&
            ((v > 0 && v <= 1 && !integer) || (integer && (v >= 2 || v <= -1)));
  if (!ok) {
    throw Error(
        "streaming_random_patches: subspace_size expects a share in (0, 1] (0.6), a count >= "
        "2, a negative count left out, sqrt or rmsqrt; got '" +
        s + "'");
  }
}

}  // namespace

std::unique_ptr<Model> StreamingRandomPatches::make(ParamSet& p) {
  ModelRecipe base =
      ModelRecipe::from_param(p, "model", "hoeffding_tree(grace_period=50, delta=0.01)");
  Config c;
  c.n_models = static_cast<int>(p.integer("n_models", 10));
  c.subspace_size = p.text("subspace_size", "0.6");
  auto t = p.choice("training_method", "patches", {"patches", "subspaces", "resampling"});
  c.training = t == "subspaces"    ? Training::kSubspaces
               : t == "resampling" ? Training::kResampling
                                   : Training::kPatches;
  c.lam = p.number("lam", 6);
  c.drift_delta = p.number("drift_delta", 1e-5);
  c.warning_delta = p.number("warning_delta", 1e-4);
  auto d = p.choice("disable_detector", "off", {"off", "drift", "warning"});
  c.drift_detection = d != "drift";
  c.background = d == "off";
  c.weighted_vote = !p.boolean("disable_weighted_vote", false);
  c.seed = static_cast<uint64_t>(p.integer("seed", 42));
  check_size(c.subspace_size);
  if (c.n_models < 1 || c.n_models > 10000 || !(c.lam > 0) ||
      !(c.drift_delta > 0 && c.drift_delta < 1) || !(c.warning_delta > 0 && c.warning_delta < 1)) {
    throw Error(
        "streaming_random_patches: n_models in [1, 10000], lam > 0, drift_delta and "
        "warning_delta in (0, 1)");
  }
  base.check_members("streaming_random_patches", 2 * static_cast<uint64_t>(c.n_models));
  if (base.task() == Task::kRegression) {
    throw Error("streaming_random_patches: the base model must be a classifier; '" +
                base.canonical() + "' is a regressor");
  }
  return std::make_unique<StreamingRandomPatches>(c, std::move(base));
}

StreamingRandomPatches::StreamingRandomPatches(Config config, ModelRecipe base)
    : config_(std::move(config)),
      base_(std::move(base)),
      prototype_(base_.make()),
      rng_(config_.seed) {}

StreamingRandomPatches::~StreamingRandomPatches() = default;

void StreamingRandomPatches::bind(Schema& schema) {
  schema_ = &schema;
  prototype_->bind(schema);
  for (auto& m : members_) {
    for (Learner* l = m.get(); l != nullptr; l = l->background.get()) l->model->bind(schema);
  }
}

int StreamingRandomPatches::subspace_count(int n) const {
  const std::string& s = config_.subspace_size;
  if (s == "sqrt") return round_even(std::sqrt(n)) + 1;
  if (s == "rmsqrt") return n - round_even(std::sqrt(n)) + 1;
  double v = std::stod(s);
  if (s.find('.') != std::string::npos || s.find('e') != std::string::npos) {
    int k = round_even(n * v);
    return k < 2 ? k + 1 : k;
  }
  int k = static_cast<int>(v);
  return k < 0 ? n + k : k;
}

std::unique_ptr<Learner> StreamingRandomPatches::fresh(std::vector<uint32_t> subspace) const {
  auto l = std::make_unique<Learner>(config_.drift_delta, config_.warning_delta);
  l->model = base_.make();
  if (schema_ != nullptr) l->model->bind(*schema_);
  std::sort(subspace.begin(), subspace.end());
  l->subspace = std::move(subspace);
  if (!l->subspace.empty()) {
    l->mask.assign(l->subspace.back() + 1, 0);
    for (uint32_t f : l->subspace) l->mask[f] = 1;
  }
  return l;
}

std::vector<uint32_t> StreamingRandomPatches::random_subspace() {
  if (k_ == 0) return {};
  // A partial Fisher-Yates shuffle: k distinct features, uniformly.
  std::vector<uint32_t> pool = features_;
  for (int i = 0; i < k_; ++i) {
    size_t j = i + rng_.below(pool.size() - i);
    std::swap(pool[i], pool[j]);
  }
  pool.resize(k_);
  return pool;
}

void StreamingRandomPatches::start(const Features& x) {
  features_.clear();
  for (const auto& f : x.numbers()) features_.push_back(f.index);
  for (const auto& c : x.categories()) features_.push_back(c.column);
  const int n = static_cast<int>(features_.size());
  k_ = 0;
  std::vector<std::vector<uint32_t>> subspaces;
  if (config_.training != Training::kResampling) {
    int k = subspace_count(n);
    if (k > 0 && k < n) {
      k_ = k;
      if (n <= 20) {
        // Few features: the first combinations in order, so that no two members share a
        // subspace while there are combinations left (River's choice).
        if (k_ == 1 && n > 2) k_ = 2;
        std::vector<int> pick(k_);
        for (int i = 0; i < k_; ++i) pick[i] = i;
        while (static_cast<int>(subspaces.size()) < config_.n_models) {
          std::vector<uint32_t> s;
          for (int i : pick) s.push_back(features_[i]);
          subspaces.push_back(std::move(s));
          // Next combination in lexicographic order, back to the first after the last.
          int i = k_ - 1;
          while (i >= 0 && pick[i] == n - k_ + i) --i;
          if (i < 0) {
            for (int j = 0; j < k_; ++j) pick[j] = j;
          } else {
            ++pick[i];
            for (int j = i + 1; j < k_; ++j) pick[j] = pick[j - 1] + 1;
          }
        }
      } else {
        for (int i = 0; i < config_.n_models; ++i) subspaces.push_back(random_subspace());
      }
      // Members take the subspaces in a random order.
      for (size_t i = subspaces.size(); i > 1; --i) {
        std::swap(subspaces[i - 1], subspaces[rng_.below(i)]);
      }
    }
  }
  members_.clear();
  for (int i = 0; i < config_.n_models; ++i) {
    members_.push_back(fresh(k_ > 0 ? subspaces[i] : std::vector<uint32_t>{}));
  }
}

void StreamingRandomPatches::predict(const Features& x, Prediction& out,
                                     Workspace& workspace) const {
  out.has_label = false;
  out.proba.clear();
  out.value = 0;
  if (members_.empty()) return;
  auto& s = workspace.scratch<Scratch>();
  for (size_t i = 0; i < members_.size(); ++i) {
    const Learner& m = *members_[i];
    m.model->predict(select(x, m.mask, s.subset), s.member, workspace.member(i));
    s.answers.set(i, s.member);
    double accuracy = m.seen > 0 ? m.correct / m.seen : 0.0;
    ensemble::add_vote(out, s.member, config_.weighted_vote && accuracy > 0 ? accuracy : 1.0);
  }
  s.answers.remember(x);
  set_votes_prediction(out);
}

void StreamingRandomPatches::learn(const Features& x, const Target& y, double weight) {
  if (members_.empty()) start(x);
  Workspace& own = own_workspace();
  auto& s = own.scratch<Scratch>();
  const bool reuse = s.answers.remembered(x, members_.size());
  s.answers.valid = false;
  for (size_t i = 0; i < members_.size(); ++i) {
    Learner& m = *members_[i];
    bool correct = false;
    if (reuse) {
      correct = s.answers.answers[i].has_label && s.answers.answers[i].label == y.label;
    } else {
      m.model->predict(select(x, m.mask, s.subset), scratch_, own.member(i));
      correct = scratch_.has_label && scratch_.label == y.label;
    }
    m.seen += 1;
    m.correct += correct ? 1 : 0;
    uint32_t k = config_.training == Training::kSubspaces ? 1 : rng_.poisson(config_.lam);
    if (k > 0) {
      m.model->learn(select(x, m.mask, s.subset), y, weight * k);
      if (m.background != nullptr) {
        m.background->model->learn(select(x, m.background->mask, s.subset), y, weight * k);
      }
    }
    if (!config_.drift_detection) continue;
    // The detectors watch the member's error on the event it has just learned, as River.
    m.model->predict(select(x, m.mask, s.subset), scratch_, own.member(i));
    const double error = scratch_.has_label && scratch_.label == y.label ? 0.0 : 1.0;
    if (config_.background) {
      m.warning.update(error);
      if (m.warning.drift_detected()) {
        m.background = fresh(random_subspace());
        m.warning = Adwin(config_.warning_delta);
        ++warnings_;
      }
    }
    m.drift.update(error);
    if (m.drift.drift_detected()) {
      if (m.background != nullptr) {
        members_[i] = std::move(m.background);
      } else {
        auto replacement = fresh(random_subspace());
        replacement->warning = std::move(m.warning);
        members_[i] = std::move(replacement);
      }
      ++drifts_;
    }
  }
}

namespace {

void save_learner(const Learner& l, BinaryWriter& out) {
  out.put<uint64_t>(l.subspace.size());
  for (uint32_t f : l.subspace) out.put(f);
  l.model->save(out);
  l.drift.save(out);
  l.warning.save(out);
  out.put(l.correct);
  out.put(l.seen);
  out.put<uint8_t>(l.background != nullptr);
  if (l.background != nullptr) save_learner(*l.background, out);
}

}  // namespace

void StreamingRandomPatches::save(BinaryWriter& out) const {
  out.put<uint64_t>(features_.size());
  for (uint32_t f : features_) out.put(f);
  out.put<int32_t>(k_);
  out.put<uint64_t>(members_.size());
  for (const auto& m : members_) save_learner(*m, out);
  out.put(rng_.state());
  out.put(drifts_);
  out.put(warnings_);
}

void StreamingRandomPatches::load(BinaryReader& in) {
  own_workspace().scratch<Scratch>().answers.valid = false;
  auto n_features = in.get<uint64_t>();
  if (n_features > (uint64_t{1} << 24)) in.fail("streaming_random_patches: feature count");
  features_.resize(n_features);
  for (auto& f : features_) f = in.get<uint32_t>();
  k_ = in.get<int32_t>();
  if (k_ < 0 || static_cast<uint64_t>(k_) > n_features) in.fail("streaming_random_patches: k");
  auto n = in.get<uint64_t>();
  if (n != 0 && n != static_cast<uint64_t>(config_.n_models)) {
    in.fail("streaming_random_patches: member count");
  }
  // A member and, depth 1, its background learner.
  auto read = [&](auto& self, int depth) -> std::unique_ptr<Learner> {
    auto size = in.get<uint64_t>();
    if (size > n_features) in.fail("streaming_random_patches: subspace");
    std::vector<uint32_t> subspace(size);
    for (auto& f : subspace) {
      f = in.get<uint32_t>();
      if (f >= (uint32_t{1} << 24)) in.fail("streaming_random_patches: subspace feature");
    }
    auto l = fresh(std::move(subspace));
    l->model->load(in);
    l->drift.load(in);
    l->warning.load(in);
    l->correct = in.get<double>();
    l->seen = in.get<double>();
    if (in.get<uint8_t>() != 0) {
      if (depth > 0) in.fail("streaming_random_patches: nested background learner");
      l->background = self(self, depth + 1);
    }
    return l;
  };
  members_.clear();
  for (uint64_t i = 0; i < n; ++i) members_.push_back(read(read, 0));
  rng_.set_state(in.get<std::array<uint64_t, 4>>());
  drifts_ = in.get<uint64_t>();
  warnings_ = in.get<uint64_t>();
}

}  // namespace rtml
