// Pairwise interactions: products of every pair of numeric features.
#pragma once

#include <memory>
#include <unordered_map>

#include "rtml/learn/model.h"

namespace rtml {

class ParamSet;

// Outputs the numeric features of an event followed by x_a * x_b for every pair a < b
// of them, named "a*b" (quadratic in the number of features per event). Categorical
// features pass through; put one_hot first to cross categories too. A pair is named in
// the schema when it is first learned; a prediction leaves out a pair not learned yet.
class PairwiseInteractions final : public Transformer {
 public:
  static std::unique_ptr<Transformer> make(ParamSet& params);

  std::string_view kind() const override { return "pairwise_interactions"; }
  void transform(const Features& in, Features& out, const Schema& schema) const override;
  void learn(const Features& in, Schema& schema) override;
  void restore(const Schema& schema) override;

 private:
  static uint64_t key(uint32_t a, uint32_t b) { return (uint64_t{a} << 32) | b; }
  std::unordered_map<uint64_t, uint32_t> pairs_;  // key(a, b), a < b -> feature index
};

}  // namespace rtml
