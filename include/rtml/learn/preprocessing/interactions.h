// Pairwise interactions: products of every pair of numeric features.
#pragma once

#include <memory>
#include <unordered_map>

#include "rtml/learn/model.h"

namespace rtml {

class ParamSet;

// Outputs the numeric features of an event followed by x_a * x_b for every pair a < b
// of them, named "a*b" (quadratic in the number of features per event). Categorical
// features pass through; put one_hot first to cross categories too.
class PairwiseInteractions final : public Transformer {
 public:
  static std::unique_ptr<Transformer> make(ParamSet& params);

  std::string_view kind() const override { return "pairwise_interactions"; }
  void transform(const Features& in, Features& out, Schema& schema) override;

 private:
  std::unordered_map<uint64_t, uint32_t> pairs_;  // (a << 32 | b) -> feature index
};

}  // namespace rtml
