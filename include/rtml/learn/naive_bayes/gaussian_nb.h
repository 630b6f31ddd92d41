// Gaussian naive Bayes.
#pragma once

#include <memory>
#include <vector>

#include "rtml/learn/model.h"

namespace rtml {

class ParamSet;

// Keeps, per class and feature, a running Gaussian (weighted Welford mean and sample
// variance). P(c | x) is proportional to P(c) * prod_f (1e-9 + N(x_f; mu_cf, var_cf)),
// as in River; a Gaussian with fewer than two values has density 0. Features absent
// from an event are ignored. Classes are added as their labels first appear, and ties
// go to the class learned first.
class GaussianNB final : public Model {
 public:
  static std::unique_ptr<Model> make(ParamSet& params);

  std::string_view kind() const override { return "gaussian_nb"; }
  Task task() const override { return Task::kMulticlass; }
  using Model::predict;
  void predict(const Features& x, Prediction& out, Workspace& workspace) const override;
  void learn(const Features& x, const Target& y, double weight) override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;

 private:
  struct Gaussian {
    double n = 0, mean = 0, m2 = 0;
    // Cached from n and m2 at each update, so prediction needs no log or division.
    double log_norm = 0;  // -0.5 * log(2 pi var)
    double inv_2var = 0;  // 1 / (2 var); 0 when var is 0
    void refresh();
  };
  struct Class {
    double count = 0;
    std::vector<Gaussian> features;  // by feature index
  };
  std::vector<Class> classes_;   // by class index
  std::vector<uint32_t> order_;  // class indices in the order first learned
  double total_ = 0;
};

}  // namespace rtml
