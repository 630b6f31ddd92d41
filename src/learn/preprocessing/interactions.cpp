#include "rtml/learn/preprocessing/interactions.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <string>

#include "rtml/core/params.h"

namespace rtml {

namespace {

// The index feature_name() gives name for: a schema name, or "#index" (a hashed slot).
std::optional<uint32_t> index_of(const Schema& schema, std::string_view name) {
  if (auto index = schema.find(name)) return index;
  uint32_t n = 0;
  if (name.size() < 2 || name[0] != '#') return std::nullopt;
  auto [end, ec] = std::from_chars(name.data() + 1, name.data() + name.size(), n);
  if (ec != std::errc() || end != name.data() + name.size()) return std::nullopt;
  return n;
}

}  // namespace

std::unique_ptr<Transformer> PairwiseInteractions::make(ParamSet&) {
  return std::make_unique<PairwiseInteractions>();
}

void PairwiseInteractions::transform(const Features& in, Features& out, const Schema&) const {
  out.clear();
  auto xs = in.numbers();
  for (const auto& f : xs) out.add(f.index, f.value);
  for (size_t i = 0; i < xs.size(); ++i) {
    for (size_t j = i + 1; j < xs.size(); ++j) {
      auto it =
          pairs_.find(key(std::min(xs[i].index, xs[j].index), std::max(xs[i].index, xs[j].index)));
      if (it != pairs_.end()) out.add(it->second, xs[i].value * xs[j].value);
    }
  }
  out.add_categories_of(in);
}

void PairwiseInteractions::learn(const Features& in, Schema& schema) {
  auto xs = in.numbers();
  for (size_t i = 0; i < xs.size(); ++i) {
    for (size_t j = i + 1; j < xs.size(); ++j) {
      uint32_t a = std::min(xs[i].index, xs[j].index);
      uint32_t b = std::max(xs[i].index, xs[j].index);
      if (pairs_.count(key(a, b))) continue;
      pairs_.emplace(key(a, b),
                     schema.intern(feature_name(schema, a) + "*" + feature_name(schema, b)));
    }
  }
}

void PairwiseInteractions::restore(const Schema& schema) {
  // Every "a*b" in the schema whose a and b are names is the pair learn() interned (or
  // a feature of that very name, which intern() would have returned for the pair).
  pairs_.clear();
  for (uint32_t index = 0; index < schema.size(); ++index) {
    const std::string& name = schema.name(index);
    for (size_t star = name.find('*'); star != std::string::npos; star = name.find('*', star + 1)) {
      auto a = index_of(schema, std::string_view(name).substr(0, star));
      auto b = index_of(schema, std::string_view(name).substr(star + 1));
      if (a && b && *a < *b) pairs_.emplace(key(*a, *b), index);
    }
  }
}

}  // namespace rtml
