#include "rtml/learn/preprocessing/interactions.h"

#include <algorithm>

#include "rtml/core/params.h"

namespace rtml {

std::unique_ptr<Transformer> PairwiseInteractions::make(ParamSet&) {
  return std::make_unique<PairwiseInteractions>();
}

void PairwiseInteractions::transform(const Features& in, Features& out, Schema& schema) {
  out.clear();
  auto xs = in.numbers();
  for (const auto& f : xs) out.add(f.index, f.value);
  for (size_t i = 0; i < xs.size(); ++i) {
    for (size_t j = i + 1; j < xs.size(); ++j) {
      uint32_t a = std::min(xs[i].index, xs[j].index);
      uint32_t b = std::max(xs[i].index, xs[j].index);
      uint64_t key = (uint64_t{a} << 32) | b;
      auto it = pairs_.find(key);
      if (it == pairs_.end()) {
        it = pairs_
                 .emplace(key,
                          schema.intern(feature_name(schema, a) + "*" + feature_name(schema, b)))
                 .first;
      }
      out.add(it->second, xs[i].value * xs[j].value);
    }
  }
  out.add_categories_of(in);
}

}  // namespace rtml
