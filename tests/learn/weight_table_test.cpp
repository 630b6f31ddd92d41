#include "rtml/learn/optim/weight_table.h"

#include <gtest/gtest.h>

#include <cstdint>

#include "rtml/learn/optim/optimizer.h"

namespace rtml {
namespace {

// Each row lies within one 64-byte cache line, whatever the state width: the point of
// the table is that a weight and its optimizer state come in with one miss.
TEST(WeightTable, RowsNeverStraddleACacheLine) {
  for (size_t state = 0; state <= 3; ++state) {
    WeightTable w(state);
    w.resize(1000);
    for (size_t i = 0; i < 1000; ++i) {
      auto first = reinterpret_cast<uintptr_t>(w.row(i));
      auto last = reinterpret_cast<uintptr_t>(w.row(i) + state);
      EXPECT_EQ(first / 64, last / 64) << "state " << state << ", row " << i;
    }
  }
}

TEST(WeightTable, GrowsZeroFilledAndKeepsColumns) {
  WeightTable w(2);
  w.resize(3);
  w.row(2)[0] = 1.5;
  w.row(2)[2] = -4.0;
  w.resize(2);  // never shrinks
  EXPECT_EQ(w.size(), 3u);
  w.resize(5000);
  EXPECT_EQ(w.weight(2), 1.5);
  EXPECT_EQ(w.row(2)[2], -4.0);
  for (size_t i = 3; i < 5000; ++i) ASSERT_EQ(w.row(i)[1], 0.0) << i;
  auto n = w.column(2);
  ASSERT_EQ(n.size(), 5000u);
  EXPECT_EQ(n[2], -4.0);
  WeightTable copy(2);
  copy.set_column(2, n);
  EXPECT_EQ(copy.size(), 5000u);
  EXPECT_EQ(copy.row(2)[2], -4.0);
  EXPECT_EQ(copy.weight(2), 0.0);
}

TEST(WeightTable, OptimizersAskForTheirState) {
  OptimizerConfig c;
  for (auto [kind, state] : {std::pair{OptimizerKind::kSgd, 0u},
                             {OptimizerKind::kAdaGrad, 1u},
                             {OptimizerKind::kAdam, 2u},
                             {OptimizerKind::kFtrl, 2u}}) {
    c.kind = kind;
    EXPECT_EQ(Optimizer::make(c)->state_per_weight(), state);
  }
  EXPECT_THROW(WeightTable(4), std::exception);
}

}  // namespace
}  // namespace rtml
