// WeightTable: a linear model's weights, each with its optimizer's state beside it.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace rtml {

// Allocates on 64-byte boundaries, so that a table's rows never straddle a cache line.
// Stateless; thread-safe as operator new is.
template <typename T>
class CacheLineAllocator {
 public:
  using value_type = T;
  static constexpr std::align_val_t kAlign{64};

  CacheLineAllocator() = default;
  template <typename U>
  CacheLineAllocator(const CacheLineAllocator<U>&) {}

  T* allocate(size_t n) {
    if (n > static_cast<size_t>(-1) / sizeof(T)) throw std::bad_array_new_length();
    return static_cast<T*>(::operator new(n * sizeof(T), kAlign));
  }
  void deallocate(T* p, size_t) noexcept { ::operator delete(p, kAlign); }
  template <typename U>
  bool operator==(const CacheLineAllocator<U>&) const {
    return true;
  }
};

// The weights of a linear model, one row per feature index: the weight, then the
// optimizer's values for it (AdaGrad's sum of squared gradients; Adam's two moments;
// FTRL's z and n). Rows are a power of two of doubles (1, 2 or 4) on 64-byte
// boundaries, so that reading a weight to predict brings in the state that learning
// from the same event updates: one cache miss per feature, where a weight array and
// state arrays of their own cost two or three. That is what hashed features, spread
// over 2^bits rows at random, spend most of their time on.
//
// Grows as feature indices appear; new rows are zero. Not thread-safe.
class WeightTable {
 public:
  // state: the optimizer's doubles per weight, 0 to 3.
  explicit WeightTable(size_t state = 0);

  // The number of rows (one past the greatest feature index seen).
  size_t size() const { return size_; }
  // Grows to at least n rows; never shrinks.
  void resize(size_t n);

  double weight(size_t i) const { return data_[i << shift_]; }
  // Row i: [0] the weight, [1..state] the optimizer's values. i < size().
  double* row(size_t i) { return data_.data() + (i << shift_); }
  const double* row(size_t i) const { return data_.data() + (i << shift_); }

  // Value k of every row (k 0: the weights), as the arrays model files have always held.
  std::vector<double> column(size_t k) const;
  // Sets value k of the first v.size() rows, growing the table to hold them.
  void set_column(size_t k, const std::vector<double>& v);

 private:
  unsigned shift_;  // log2 of the row width
  size_t size_ = 0;
  std::vector<double, CacheLineAllocator<double>> data_;
};

}  // namespace rtml
