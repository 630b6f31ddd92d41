#include "rtml/learn/ensemble/oza_boosting.h"

#include <cmath>

#include "member_votes.h"
#include "rtml/core/error.h"
#include "rtml/core/params.h"

namespace rtml {

std::unique_ptr<Model> OzaBoosting::make(ParamSet& p) {
  ModelRecipe base = ModelRecipe::from_param(p, "model", "hoeffding_tree");
  auto n = p.integer("n_models", 10);
  auto seed = static_cast<uint64_t>(p.integer("seed", 42));
  if (n < 1 || n > 10000) throw Error("oza_boosting: n_models in [1, 10000]");
  base.check_members("oza_boosting", static_cast<uint64_t>(n));
  if (base.task() == Task::kRegression) {
    throw Error("oza_boosting: the base model must be a classifier; '" + base.canonical() +
                "' is a regressor");
  }
  return std::make_unique<OzaBoosting>(static_cast<int>(n), seed, std::move(base));
}

OzaBoosting::OzaBoosting(int n_models, uint64_t seed, ModelRecipe base)
    : base_(std::move(base)), prototype_(base_.make()), rng_(seed) {
  for (int i = 0; i < n_models; ++i) members_.push_back(Member{base_.make()});
}

OzaBoosting::~OzaBoosting() = default;

void OzaBoosting::bind(Schema& schema) {
  prototype_->bind(schema);
  for (auto& m : members_) m.model->bind(schema);
}

double OzaBoosting::vote_weight(size_t i) const {
  const Member& m = members_[i];
  double e = (m.wrong + 0.5) / (m.right + m.wrong + 1.0);
  return e < 0.5 ? std::log((1 - e) / e) : 0.0;
}

void OzaBoosting::predict(const Features& x, Prediction& out, Workspace& workspace) const {
  out.has_label = false;
  out.proba.clear();
  out.value = 0;
  auto& member = workspace.scratch<Prediction>();
  bool any = false;
  for (size_t i = 0; i < members_.size(); ++i) any = any || vote_weight(i) > 0;
  for (size_t i = 0; i < members_.size(); ++i) {
    double w = any ? vote_weight(i) : 1.0;
    if (w <= 0) continue;
    members_[i].model->predict(x, member, workspace.member(i));
    ensemble::add_vote(out, member, w);
  }
  set_votes_prediction(out);
}

void OzaBoosting::learn(const Features& x, const Target& y, double weight) {
  double lambda = 1.0;
  for (size_t i = 0; i < members_.size(); ++i) {
    Member& m = members_[i];
    uint32_t k = rng_.poisson(lambda);
    if (k > 0) m.model->learn(x, y, weight * k);
    m.model->predict(x, scratch_, own_workspace().member(i));
    if (scratch_.has_label && scratch_.label == y.label) {
      m.right += lambda;
      lambda *= (m.right + m.wrong) / (2 * m.right);
    } else {
      m.wrong += lambda;
      lambda *= (m.right + m.wrong) / (2 * m.wrong);
    }
  }
}

void OzaBoosting::save(BinaryWriter& out) const {
  out.put<uint64_t>(members_.size());
  for (const auto& m : members_) {
    m.model->save(out);
    out.put(m.right);
    out.put(m.wrong);
  }
  out.put(rng_.state());
}

void OzaBoosting::load(BinaryReader& in) {
  if (in.get<uint64_t>() != members_.size()) in.fail("oza_boosting: member count");
  for (auto& m : members_) {
    Model& model = *m.model;
    model.load(in);
    m.right = in.get<double>();
    m.wrong = in.get<double>();
    if (!(m.right >= 0) || !(m.wrong >= 0)) in.fail("oza_boosting: weights");
  }
  rng_.set_state(in.get<std::array<uint64_t, 4>>());
}

}  // namespace rtml
