#include "rtml/learn/optim/weight_table.h"

#include <bit>

#include "rtml/core/error.h"

namespace rtml {

WeightTable::WeightTable(size_t state) {
  if (state > 3) throw Error("WeightTable: at most 3 optimizer values per weight");
  shift_ = state == 0 ? 0 : state == 1 ? 1 : 2;
}

void WeightTable::resize(size_t n) {
  if (n <= size_) return;
  // Capacity in powers of two: new indices one at a time (an encoder's) still cost O(1)
  // each, and hashed indices, all below 2^bits, never reserve past the hashed space as
  // doubling from just under it would (twice the memory, measured on 2^20 weights).
  data_.reserve(std::bit_ceil(n) << shift_);
  data_.resize(n << shift_, 0.0);
  size_ = n;
}

std::vector<double> WeightTable::column(size_t k) const {
  std::vector<double> v(size_);
  for (size_t i = 0; i < size_; ++i) v[i] = row(i)[k];
  return v;
}

void WeightTable::set_column(size_t k, const std::vector<double>& v) {
  resize(v.size());
  for (size_t i = 0; i < v.size(); ++i) row(i)[k] = v[i];
}

}  // namespace rtml
