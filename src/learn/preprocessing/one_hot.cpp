#include "rtml/learn/preprocessing/one_hot.h"

#include <algorithm>
#include <string>

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

void OneHotEncoder::transform(const Features& in, Features& out, const Schema&) const {
  out.clear();
  for (const auto& f : in.numbers()) out.add(f.index, f.value);
  for (const auto& c : in.categories()) {
    if (c.column >= index_.size()) continue;
    const auto& table = index_[c.column];
    if (c.id >= table.size() || table[c.id] == 0) continue;
    out.add(table[c.id] - 1, 1.0);
  }
  // Hashed categories are a feature_hasher's: a later one reads them.
  for (uint64_t h : in.hashed_categories()) out.add_hashed_category(h);
}

void OneHotEncoder::learn(const Features& in, Schema& schema) {
  for (const auto& c : in.categories()) {
    if (c.id >= max_categories_) {
      ++dropped_;
      continue;
    }
    if (c.column >= index_.size()) index_.resize(c.column + 1);
    auto& table = index_[c.column];
    if (c.id >= table.size()) table.resize(c.id + 1, 0);
    uint32_t& slot = table[c.id];
    if (slot == 0)
      slot = schema.intern(feature_name(schema, c.column) + '=' +
                           schema.category_name(c.column, c.id)) +
             1;
  }
}

void OneHotEncoder::restore(const Schema& schema) {
  // A category's feature exists if it was learned; a name is unique in the schema, so
  // finding "column=value" is finding what learn() interned.
  index_.clear();
  std::string name;
  for (uint32_t column = 0; column < schema.size(); ++column) {
    const size_t n = std::min(schema.category_count(column), max_categories_);
    for (uint32_t id = 0; id < n; ++id) {
      name = schema.name(column);
      name += '=';
      name += schema.category_name(column, id);
      if (auto index = schema.find(name)) {
        if (column >= index_.size()) index_.resize(column + 1);
        auto& table = index_[column];
        if (id >= table.size()) table.resize(id + 1, 0);
        table[id] = *index + 1;
      }
    }
  }
}

}  // namespace rtml
