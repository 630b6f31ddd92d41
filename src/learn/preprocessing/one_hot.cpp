#include "rtml/learn/preprocessing/one_hot.h"

#include "rtml/core/params.h"

namespace rtml {

std::unique_ptr<Transformer> OneHotEncoder::make(ParamSet&) {
  return std::make_unique<OneHotEncoder>();
}

void OneHotEncoder::transform(const Features& in, Features& out, Schema& schema) {
  out.clear();
  for (const auto& f : in.numbers()) out.add(f.index, f.value);
  for (const auto& c : in.categories()) {
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
}

}  // namespace rtml
