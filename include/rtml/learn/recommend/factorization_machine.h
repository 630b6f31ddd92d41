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
  void predict(const Features& x, Prediction& out) override;
  void learn(const Features& x, const Target& y, double weight) override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;
  bool uses_categories() const override { return true; }
  size_t max_categories() const override { return SIZE_MAX; }  // a user, an item each
  void bind(Schema& schema) override;

  uint32_t user_column() const override { return user_column_; }
  uint32_t item_column() const override { return item_column_; }
  void top_k(const Features& x, size_t k, std::vector<ScoredItem>& out) const override;

 private:
  // The weights of one kind of input: user entities, item entities, other features.
  struct Table {
    EntityIndex index;
    std::vector<double> w, v;  // v: n_factors per slot
  };
  struct Active {
    Table* table;
    uint32_t slot;
    double x;
  };
  // Lists x's known inputs in active_ (adding unknown ones if `add`); skips the item
  // column if skip_item.
  void gather(const Features& x, bool add, bool skip_item) const;
  double raw_score() const;  // over active_, fills sums_
  double output(double raw) const;

  Config config_;
  uint32_t user_column_ = 0, item_column_ = 0;
  Table users_, items_, others_;
  double w0_ = 0;
  Random rng_;
  // Reused per event.
  mutable std::vector<Active> active_;
  mutable std::vector<double> sums_;
};

}  // namespace rtml
