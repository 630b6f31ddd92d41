// Multinomial naive Bayes, for count features (word counts, one-hot categories).
#pragma once

#include <memory>
#include <vector>

#include "rtml/learn/model.h"

namespace rtml {

class ParamSet;

// P(c | x) is proportional to P(c) * prod_f P(f | c)^x_f with Laplace/Lidstone
// smoothing: P(f | c) = (count_cf + alpha) / (total_c + alpha * V), V the number of
// distinct features seen. Feature values are counts: negative values are read as 0.
// Default alpha 1 (River's).
class MultinomialNB final : public Model {
 public:
  static std::unique_ptr<Model> make(ParamSet& params);
  explicit MultinomialNB(double alpha) : alpha_(alpha) {}

  std::string_view kind() const override { return "multinomial_nb"; }
  Task task() const override { return Task::kMulticlass; }
  using Model::predict;
  void predict(const Features& x, Prediction& out, Workspace& workspace) const override;
  void learn(const Features& x, const Target& y, double weight) override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;

 private:
  struct Class {
    double count = 0;
    double total = 0;            // sum of feature counts
    std::vector<double> counts;  // by feature index
  };
  double alpha_;
  std::vector<Class> classes_;
  std::vector<uint32_t> order_;
  std::vector<uint8_t> seen_;  // by feature index: part of the vocabulary
  double vocabulary_ = 0;
  double total_ = 0;
};

}  // namespace rtml
