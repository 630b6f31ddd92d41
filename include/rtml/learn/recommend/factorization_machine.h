// Factorisation machine (Rendle 2010), regressor or click-probability classifier.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "rtml/core/random.h"
#include "rtml/learn/model.h"
#include "rtml/learn/recommend/recommender.h"

namespace rtml {

class ParamSet;

// Degree-2 factorisation machine over every feature of the event: numbers by value,
// each category one-hot, and the user and item columns as one-hot entities whatever
// their type. y = w0 + sum w_j x_j + sum_{j<l} <v_j, v_l> x_j x_l, computed in
// O(features * n_factors). loss=squared predicts a value; loss=log predicts a click
// probability (binary classification). One SGD step per event (lr for weights and
// factors, intercept_lr for w0), with L2 penalties l2_weight and l2_latent; new factors
// start Normal(0, init_std). Defaults as River's FMRegressor: n_factors 10, lr 0.01,
// intercept_lr 0.01, init_std 0.1. As a Recommender it ranks the item column's known
// values for a user and context. Not thread-safe.
class FactorizationMachine final : public Model, public Recommender {
 public:
  struct Config {
    bool log_loss = false;
    std::string user = "user", item = "item";
    int n_factors = 10;
    double lr = 0.01, intercept_lr = 0.01;
    double l2_weight = 0, l2_latent = 0;
    double init_std = 0.1;
    double clip_gradient = 1e12;
    uint64_t seed = 42;
  };
  static std::unique_ptr<Model> make(ParamSet& params);
  explicit FactorizationMachine(Config config);

  std::string_view kind() const override { return "fm"; }
  Task task() const override { return config_.log_loss ? Task::kBinary : Task::kRegression; }
  using Model::predict;
  void predict(const Features& x, Prediction& out, Workspace& workspace) const override;
  void learn(const Features& x, const Target& y, double weight) override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;
  bool uses_categories() const override { return true; }
  size_t max_categories() const override { return SIZE_MAX; }  // a user, an item each
  void bind(Schema& schema) override;

  uint32_t user_column() const override { return user_column_; }
  uint32_t item_column() const override { return item_column_; }
  void top_k(const Features& x, size_t k, std::vector<ScoredItem>& out,
             Workspace& workspace) const override;

 private:
  // The weights of one kind of input: user entities, item entities, other features.
  struct Table {
    EntityIndex index;
    std::vector<double> w, v;  // v: n_factors per slot
  };
  enum : uint8_t { kUsers, kItems, kOthers };
  // An input of the event: its table, its slot there, its value.
  struct Active {
    uint8_t table;
    uint32_t slot;
    double x;
  };
  // The event's inputs and the sums of their factors (raw_score), reused per event.
  struct Terms {
    std::vector<Active> active;
    std::vector<double> sums;
  };
  Table& table(uint8_t t) { return t == kUsers ? users_ : t == kItems ? items_ : others_; }
  const Table& table(uint8_t t) const {
    return t == kUsers ? users_ : t == kItems ? items_ : others_;
  }
  // Lists x's inputs in out: those the model knows when self is const, adding the others
  // when it is not (learn()); skips the item column if skip_item.
  template <typename Self>
  static void gather(Self& self, const Features& x, bool skip_item, Terms& out);
  double raw_score(Terms& terms) const;  // over terms.active, fills terms.sums
  double output(double raw) const;

  Config config_;
  uint32_t user_column_ = 0, item_column_ = 0;
  Table users_, items_, others_;
  double w0_ = 0;
  Random rng_;
  Terms terms_;  // learn()'s, reused per event
};

}  // namespace rtml
