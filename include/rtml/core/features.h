// Features: the sparse feature vector that flows between transforms and models.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace rtml {

// One numeric feature: a dense index given by a Schema (or a hashed slot) and a value.
struct Feature {
  uint32_t index;
  double value;
};

// One categorical feature: the column's index in the Schema and the category's id
// within that column (Schema::intern_category).
struct Category {
  uint32_t column;
  uint32_t id;
};

// A sparse vector of numeric and categorical features for one event. A category comes
// either interned (column, id: Schema::intern_category) or hashed: the 64-bit hash of its
// "column=value" bytes, for a feature_hasher, so that nothing is kept per category.
// clear() keeps the capacity, so a Features that is reused across events allocates
// nothing once it has seen its largest event. Not thread-safe.
class Features {
 public:
  void clear() {
    numbers_.clear();
    categories_.clear();
    hashed_.clear();
  }
  void add(uint32_t index, double value) { numbers_.push_back({index, value}); }
  void add_category(uint32_t column, uint32_t id) { categories_.push_back({column, id}); }
  // A category as category_hash (core/hash.h) under a feature_hasher's seed; see
  // Pipeline::add_category. Only a feature_hasher reads these; other steps pass them on.
  void add_hashed_category(uint64_t hash) { hashed_.push_back(hash); }
  void reserve(size_t numbers, size_t categories) {
    numbers_.reserve(numbers);
    categories_.reserve(categories);
  }

  std::span<const Feature> numbers() const { return numbers_; }
  std::span<Feature> numbers() { return numbers_; }
  std::span<const Category> categories() const { return categories_; }
  std::span<const uint64_t> hashed_categories() const { return hashed_; }
  bool empty() const { return numbers_.empty() && categories_.empty() && hashed_.empty(); }

  // Copies other into this vector, reusing this vector's capacity.
  void assign(const Features& other) {
    numbers_.assign(other.numbers_.begin(), other.numbers_.end());
    categories_.assign(other.categories_.begin(), other.categories_.end());
    hashed_.assign(other.hashed_.begin(), other.hashed_.end());
  }
  // Appends other's categories, interned and hashed: what a step that transforms only
  // numbers passes on.
  void add_categories_of(const Features& other) {
    categories_.insert(categories_.end(), other.categories_.begin(), other.categories_.end());
    hashed_.insert(hashed_.end(), other.hashed_.begin(), other.hashed_.end());
  }

 private:
  std::vector<Feature> numbers_;
  std::vector<Category> categories_;
  std::vector<uint64_t> hashed_;
};

}  // namespace rtml
