// One-hot encoding of categorical features.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "rtml/learn/model.h"

namespace rtml {

class ParamSet;

// Replaces each categorical feature column=value by a numeric feature named
// "column=value" with value 1. Numeric features pass through. A category learned for
// the first time adds a name to the schema; known ones cost a lookup in a dense table.
// A category not learned yet is left out of a prediction (its weight would be 0).
//
// At most max_categories categories per column get a feature (default
// kDefaultMaxCategories): a column whose values never repeat (ids) would otherwise add a
// feature, and a weight, per event for ever. Past that, a new category of the column is
// left out (the event reads as if the column were missing) and counted in dropped().
// Pipeline::add_category keeps no more than that in the schema in the first place.
class OneHotEncoder final : public Transformer {
 public:
  static std::unique_ptr<Transformer> make(ParamSet& params);
  explicit OneHotEncoder(size_t max_categories = kDefaultMaxCategories)
      : max_categories_(max_categories) {}

  std::string_view kind() const override { return "one_hot"; }
  void transform(const Features& in, Features& out, const Schema& schema) const override;
  void learn(const Features& in, Schema& schema) override;
  void restore(const Schema& schema) override;
  size_t max_categories() const { return max_categories_; }
  // Categories learned from and left out because their column was full, since this
  // object was made.
  uint64_t dropped() const { return dropped_; }

 private:
  size_t max_categories_;
  uint64_t dropped_ = 0;
  // [column][category id] -> feature index + 1 (0 = not yet learned). Rebuilt from the
  // schema after loading (restore), since the names themselves live there. Ids are dense in the
  // order first seen, so the first max_categories_ categories of a column are ids below
  // max_categories_, and the table never holds more.
  std::vector<std::vector<uint32_t>> index_;
};

}  // namespace rtml
