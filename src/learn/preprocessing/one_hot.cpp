#include "rtml/learn/preprocessing/one_hot.h"

#include "rtml/core/error.h"
#include "rtml/core/params.h"

namespace rtml {

std::unique_ptr<Transformer> OneHotEncoder::make(ParamSet& p) {
  auto max = p.integer("max_categories", static_cast<int64_t>(kDefaultMaxCategories));
  if (max < 1 || max > (int64_t{1} << 31)) {
    throw Error("one_hot: max_categories must be in [1, 2147483648]");
  }
  return std::make_unique<OneHotEncoder>(static_cast<size_t>(max));
}

void OneHotEncoder::transform(const Features& in, Features& out, Schema& schema) {
  out.clear();
  for (const auto& f : in.numbers()) out.add(f.index, f.value);
  for (const auto& c : in.categories()) {
    if (c.id >= max_categories_) {
      ++dropped_;
      continue;
    }
    if (c.column >= index_.size()) index_.resize(c.column + 1);
    auto& table = index_[c.column];
    if (c.id >= table.size()) table.resize(c.id + 1, 0);
    uint32_t& slot = table[c.id];
    if (slot == 0) {
      std::string name = schema.name(c.column);
      name += '=';
      name += schema.category_name(c.column, c.id);
      slot = schema.intern(name) + 1;
    }
    out.add(slot - 1, 1.0);
  }
  // Hashed categories are a feature_hasher's: a later one reads them.
  for (uint64_t h : in.hashed_categories()) out.add_hashed_category(h);
}

}  // namespace rtml
