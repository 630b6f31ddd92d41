// Online scalers: standardisation and min-max scaling from running statistics.
#pragma once

#include <memory>
#include <vector>

#include "rtml/learn/model.h"

namespace rtml {

class ParamSet;

// (x - mean) / std with the running mean and population variance of each feature;
// 0 while a feature's variance is 0. Categorical features pass through.
class StandardScaler final : public Transformer {
 public:
  static std::unique_ptr<Transformer> make(ParamSet& params);
  explicit StandardScaler(bool with_std = true) : with_std_(with_std) {}

  std::string_view kind() const override { return "standard_scaler"; }
  void transform(const Features& in, Features& out, const Schema& schema) const override;
  void learn(const Features& in, Schema& schema) override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;
  // Averages each feature's mean and variance; its count stays this replica's own (it
  // sets how fast the mean moves with what this replica learns next).
  bool average(double own_weight, const std::vector<Replica<Transformer>>& others) override;

 private:
  struct Stat {
    double n = 0, mean = 0, var = 0;
    double inv_std = 0;  // cached 1/sqrt(var), 0 when var is 0
  };
  bool with_std_;
  std::vector<Stat> stats_;  // by feature index
};

// (x - min) / (max - min) with the running min and max of each feature; 0 while a
// feature has a single value. Categorical features pass through.
class MinMaxScaler final : public Transformer {
 public:
  static std::unique_ptr<Transformer> make(ParamSet& params);

  std::string_view kind() const override { return "min_max_scaler"; }
  void transform(const Features& in, Features& out, const Schema& schema) const override;
  void learn(const Features& in, Schema& schema) override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;

 private:
  std::vector<double> min_, max_;  // by feature index; +inf/-inf before any value
};

}  // namespace rtml
