// Matrix factorisation recommenders: FunkMF and biased MF (Koren et al. 2009).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "rtml/core/random.h"
#include "rtml/learn/model.h"
#include "rtml/learn/recommend/recommender.h"

namespace rtml {

class ParamSet;

// Predicts a rating from the event's user and item columns (other features are
// ignored): FunkMF as <p_u, q_i>, biased MF as mean + b_u + b_i + <p_u, q_i>, where mean
// is the running mean of the ratings. Each event takes one SGD step on the squared error
// (gradient clipped to +-clip_gradient) with L2 penalties l2_bias and l2_latent. Latent
// vectors of new users and items start Normal(0, init_std) from a generator seeded with
// seed; biases start at 0. Defaults as River's FunkMF / BiasedMF: n_factors 10, lr 0.01
// (SGD), init_std 0.1, no penalties. A user or item seen for the first time predicts
// from what is known (the mean and the other side's bias). Not thread-safe.
class MatrixFactorization final : public Model, public Recommender {
 public:
  struct Config {
    bool biased = true;
    std::string user = "user", item = "item";
    int n_factors = 10;
    double lr = 0.01;
    double l2_bias = 0, l2_latent = 0;
    double init_std = 0.1;
    double clip_gradient = 1e12;
    uint64_t seed = 42;
  };
  static std::unique_ptr<Model> funk(ParamSet& params);
  static std::unique_ptr<Model> biased(ParamSet& params);
  explicit MatrixFactorization(Config config);

  std::string_view kind() const override { return config_.biased ? "biased_mf" : "funk_mf"; }
  Task task() const override { return Task::kRegression; }
  using Model::predict;
  void predict(const Features& x, Prediction& out, Workspace& workspace) const override;
  void learn(const Features& x, const Target& y, double weight) override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;
  bool uses_categories() const override { return true; }
  size_t max_categories() const override { return SIZE_MAX; }  // a user, an item each
  void bind(Schema& schema) override;
  // Averages each user's and item's bias and latent vector over the replicas that know
  // it (matched by the category's name, or by value for a numeric column), and the mean.
  bool average(double own_weight, const std::vector<Replica<Model>>& others) override;

  uint32_t user_column() const override { return user_column_; }
  uint32_t item_column() const override { return item_column_; }
  void top_k(const Features& x, size_t k, std::vector<ScoredItem>& out,
             Workspace& workspace) const override;

 private:
  double score(int64_t user, int64_t item) const;  // -1: unknown
  int64_t slot(const EntityIndex& index, const Features& x, uint32_t column) const;
  uint32_t add(EntityIndex& index, std::vector<double>& bias, std::vector<double>& latent,
               uint64_t key);

  Config config_;
  uint32_t user_column_ = 0, item_column_ = 0;
  EntityIndex users_, items_;
  std::vector<double> user_bias_, item_bias_;
  std::vector<double> user_latent_, item_latent_;  // n_factors per slot
  double mean_ = 0, seen_ = 0;
  Random rng_;
};

}  // namespace rtml
