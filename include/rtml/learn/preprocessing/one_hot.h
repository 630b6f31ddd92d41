// One-hot encoding of categorical features.
#pragma once

#include <memory>
#include <vector>

#include "rtml/learn/model.h"

namespace rtml {

class ParamSet;

// Replaces each categorical feature column=value by a numeric feature named
// "column=value" with value 1. Numeric features pass through. A category seen for the
// first time (at prediction too) adds a name to the schema; known ones cost a lookup
// in a dense table.
class OneHotEncoder final : public Transformer {
 public:
  static std::unique_ptr<Transformer> make(ParamSet& params);

  std::string_view kind() const override { return "one_hot"; }
  void transform(const Features& in, Features& out, Schema& schema) override;

 private:
  // [column][category id] -> feature index + 1 (0 = not yet interned). Rebuilt from the
  // schema after loading, since the names themselves live there.
  std::vector<std::vector<uint32_t>> index_;
};

}  // namespace rtml
