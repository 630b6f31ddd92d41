// ALMA, the approximate large margin algorithm (Gentile 2001): a binary linear classifier.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "rtml/learn/model.h"

namespace rtml {

class ParamSet;

// A perceptron that updates on margin mistakes and keeps its weights in the unit p-norm
// ball. With k the number of updates so far plus one and y in {-1, +1}: when
// y (w.x) < (1 - alpha) gamma_k, gamma_k = B sqrt(p - 1) / sqrt(k), then
// w += C / (sqrt(p - 1) sqrt(k)) y x, and the weights of x's features are divided by
// max(1, ||w||_p). No intercept. The probability reported is sigmoid(w.x). Defaults as
// River's ALMAClassifier: p 2, alpha 0.9, B 1/0.9, C sqrt(2); like River, the norm is of
// every weight and the division touches the event's features only. Numeric features
// only (categories need one_hot or feature_hasher first). Weights are a dense vector by
// feature index: learning allocates only when a new feature index appears. Thread safety
// as Model's.
class Alma final : public Model {
 public:
  struct Config {
    double p = 2;
    double alpha = 0.9;
    double b = 1 / 0.9;
    double c = 1.4142135623730951;
  };
  static std::unique_ptr<Model> make(ParamSet& params);
  explicit Alma(Config config) : config_(config) {}

  std::string_view kind() const override { return "alma"; }
  Task task() const override { return Task::kBinary; }
  size_t max_categories() const override { return 0; }
  using Model::predict;
  void predict(const Features& x, Prediction& out, Workspace& workspace) const override;
  void learn(const Features& x, const Target& y, double weight) override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;

  // w.x, and the number of updates made plus one (River's k).
  double raw(const Features& x) const;
  uint64_t k() const { return k_; }
  const std::vector<double>& weights() const { return w_; }

 private:
  double magnitude(double w) const;  // |w|^p
  void set_weight(uint32_t index, double value);

  Config config_;
  std::vector<double> w_;
  uint64_t k_ = 1;
  // Sum of |w_i|^p over every weight, kept as weights change and recomputed now and
  // then so that rounding does not accumulate.
  double norm_sum_ = 0;
  uint64_t changes_ = 0;
};

}  // namespace rtml
