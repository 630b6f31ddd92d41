// Categories that never repeat (ids) must not make memory grow for ever: a hashed space
// costs its 2^bits, one_hot and the trees keep at most a limit per column, and a tree
// stays within its max_size.
#include <gtest/gtest.h>

#include <string>

#include "rtml/core/random.h"
#include "rtml/learn/pipeline.h"
#include "rtml/learn/progressive.h"
#include "rtml/learn/tree/hoeffding_tree.h"

namespace rtml {
namespace {

// Streams n events with a numeric feature "x", a never-repeating category in column "id"
// and a label that follows x, through p by Pipeline::add_category, as rtml eval does.
void stream_unique_ids(Pipeline& p, size_t n, uint64_t seed = 3) {
  uint32_t x_col = p.schema().intern("x"), id_col = p.schema().intern("id");
  ProgressiveValidation pv(p);
  Random rng(seed);
  Features x;
  std::string id;
  for (size_t i = 0; i < n; ++i) {
    x.clear();
    double v = rng.uniform();
    x.add(x_col, v);
    id = "user-" + std::to_string(i * 7919 + 13);
    p.add_category(x, id_col, id);
    pv.process(x, Target::of_class(v + 0.3 * rng.uniform() > 0.6 ? 1 : 0));
  }
}

TEST(CategoryMemory, HashedCategoriesKeepNothingPerCategory) {
  Pipeline p("feature_hasher(bits=18) | logistic_regression");
  stream_unique_ids(p, 200000);
  EXPECT_EQ(p.schema().category_count(p.schema().intern("id")), 0u);
  EXPECT_EQ(p.schema().size(), 2u);  // x and id, nothing per category
  EXPECT_EQ(p.dropped_categories(), 0u);
}

// Hashing the bytes on the way in gives each category the slot the hasher gave it from
// the interned name: the same model, prediction for prediction.
TEST(CategoryMemory, HashedCategoriesLandInTheSlotsOfTheirNames) {
  for (const char* expr : {"feature_hasher(bits=10) | logistic_regression",
                           "feature_hasher(bits=12, seed=7, alternate_sign=true) | "
                           "standard_scaler | logistic_regression"}) {
    SCOPED_TRACE(expr);
    Pipeline hashed(expr), interned(expr);
    uint32_t col_h = hashed.schema().intern("colour"), col_i = interned.schema().intern("colour");
    Random rng(5);
    Features xh, xi;
    Prediction ph, pi;
    for (int i = 0; i < 5000; ++i) {
      std::string value = "c" + std::to_string(rng.below(300));
      Target y = Target::of_class(value.back() < '5' ? 1 : 0);
      xh.clear();
      xi.clear();
      hashed.add_category(xh, col_h, value);
      xi.add_category(col_i, interned.schema().intern_category(col_i, value));
      ASSERT_EQ(xh.hashed_categories().size(), 1u);
      hashed.predict_then_learn(xh, y, ph);
      interned.predict_then_learn(xi, y, pi);
      ASSERT_EQ(ph.value, pi.value) << "event " << i;
    }
  }
}

TEST(CategoryMemory, OneHotKeepsAtMostMaxCategoriesPerColumn) {
  Pipeline p("one_hot(max_categories=1000) | logistic_regression");
  stream_unique_ids(p, 5000);
  uint32_t id = p.schema().intern("id");
  EXPECT_EQ(p.schema().category_count(id), 1000u);
  EXPECT_EQ(p.dropped_categories(), 4000u);
  EXPECT_EQ(p.category_limit(), 1000u);
  EXPECT_EQ(p.schema().size(), 2u + 1000u);  // x, id and one feature per kept category
  // The default is kDefaultMaxCategories.
  Pipeline d("one_hot | logistic_regression");
  EXPECT_EQ(d.category_limit(), kDefaultMaxCategories);
  EXPECT_NE(d.description().find("max_categories=100000"), std::string::npos);
}

// A tree reads categories itself: the schema keeps kDefaultMaxCategories of a column, and
// the tree's own statistics stay within max_size.
TEST(CategoryMemory, ATreeOnNeverRepeatingIdsStaysWithinItsLimits) {
  Pipeline p("hoeffding_tree(max_size=5)");
  stream_unique_ids(p, 300000);
  EXPECT_EQ(p.schema().category_count(p.schema().intern("id")), kDefaultMaxCategories);
  EXPECT_EQ(p.dropped_categories(), 300000u - kDefaultMaxCategories);
  auto& tree = dynamic_cast<HoeffdingTreeClassifier&>(p.model());
  EXPECT_LE(tree.memory_bytes(), size_t{5} << 20);
}

// Models that ignore categories keep none; the recommenders keep every user and item.
TEST(CategoryMemory, ModelsThatIgnoreCategoriesKeepNone) {
  Pipeline p("min_max_scaler | half_space_trees");
  stream_unique_ids(p, 1000);
  EXPECT_EQ(p.schema().category_count(p.schema().intern("id")), 0u);
  EXPECT_EQ(p.dropped_categories(), 0u);
  Pipeline mf("biased_mf(user=id, item=x)");
  EXPECT_EQ(mf.category_limit(), SIZE_MAX);
}

}  // namespace
}  // namespace rtml
