// The arithmetic the clusterers share: dense rows that widen as feature indices appear,
// distances, weighted k-means (seeding and Lloyd's iterations), and cluster ids that
// survive a reclustering. Internal to src/learn/cluster.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "rtml/core/features.h"
#include "rtml/core/random.h"

namespace rtml::cluster {

// What a clusterer's predict() keeps in its caller's Workspace: the event, dense.
struct Scratch {
  std::vector<double> x;
};

// One past the largest index among x's numbers (0 for none): the width a dense row needs.
size_t width_of(const Features& x);

// Writes x's numbers into dense[0, dim) over zeros: an absent feature counts as 0, a
// repeated index keeps its last value, an index >= dim is left out. Allocates nothing
// once dense has grown to dim.
void densify(const Features& x, size_t dim, std::vector<double>& dense);

// Rows of `from` doubles each, n of them, become rows of `to` >= from, the new columns
// set to fill (the clusterers' rows grow when a feature index appears).
void widen(std::vector<double>& rows, size_t n, size_t from, size_t to, double fill = 0.0);

inline double squared_distance(const double* a, const double* b, size_t dim) {
  // Four sums: the additions of one sum wait for each other, four do not.
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t j = 0;
  for (; j + 4 <= dim; j += 4) {
    const double d0 = a[j] - b[j], d1 = a[j + 1] - b[j + 1];
    const double d2 = a[j + 2] - b[j + 2], d3 = a[j + 3] - b[j + 3];
    s0 += d0 * d0;
    s1 += d1 * d1;
    s2 += d2 * d2;
    s3 += d3 * d3;
  }
  for (; j < dim; ++j) {
    const double d = a[j] - b[j];
    s0 += d * d;
  }
  return (s0 + s1) + (s2 + s3);
}

// sum |a - b|^p, the Minkowski distance to the power p (what ranks points as the distance
// does, without the root); p = 2 is the squared Euclidean distance.
inline double power_distance(const double* a, const double* b, size_t dim, double p) {
  if (p == 2.0) return squared_distance(a, b, dim);
  double s = 0;
  if (p == 1.0) {
    for (size_t j = 0; j < dim; ++j) s += std::abs(a[j] - b[j]);
  } else {
    for (size_t j = 0; j < dim; ++j) s += std::pow(std::abs(a[j] - b[j]), p);
  }
  return s;
}

// The row (of rows, `dim` wide, n of them) nearest to x by power_distance, and that
// distance; ties go to the lowest row. n > 0.
struct Nearest {
  size_t row = 0;
  double distance = 0;
};
Nearest nearest_row(const double* x, const double* rows, size_t n, size_t dim, double p);

// Weighted k-means over n points (rows of `dim`), distances to the power p.
//
// seed_centres: k centres by greedy k-means++ (Arthur & Vassilvitskii 2007, with the
// 2 + ln k candidates per centre of scikit-learn): each next centre drawn with probability
// proportional to weight * distance from the centres so far, the candidate that lowers
// the total most kept. Fewer distinct points than k leave repeated centres.
void seed_centres(std::span<const double> points, std::span<const double> weights, size_t dim,
                  size_t k, double p, Random& rng, std::vector<double>& centres);
// Lloyd's iterations from centres (k rows) until no point changes cluster or max_iter:
// each centre becomes the weighted mean of its points; a centre left without points moves
// to the point that costs most where it is. Writes each point's cluster to assignment and
// returns the cost (sum of weight * distance to the point's centre).
double lloyd(std::span<const double> points, std::span<const double> weights, size_t dim, size_t k,
             double p, int max_iter, std::vector<double>& centres,
             std::vector<uint32_t>& assignment);

// Pairs new centres with old ones, nearest pairs first, so that a cluster that moved a
// little keeps its id: out[i] is the id of new centre i, the index of the old centre it
// is paired with, or, for a new centre left unpaired (more new than old), the smallest
// id no pair took. Both sets are `dim` wide.
void match_centres(std::span<const double> old_centres, size_t n_old,
                   std::span<const double> new_centres, size_t n_new, size_t dim,
                   std::vector<uint32_t>& out);

// Cluster ids for the groups of a new clustering of items (micro-clusters) that had ids
// before: group[i] is item i's group (-1 for none), previous[i] its former id (-1 for
// none), weight[i] how much it counts. Each group takes the former id that carries most of
// its weight, largest overlaps first, one group per id; a group left without one takes the
// smallest id free. out[g] is group g's id (out has n_groups entries).
void carry_ids(std::span<const int32_t> group, std::span<const int32_t> previous,
               std::span<const double> weight, size_t n_groups, std::vector<int32_t>& out);

// Disjoint sets over 0..n-1 (union by size, path halving): the connected groups of
// micro-clusters.
class UnionFind {
 public:
  explicit UnionFind(size_t n) : parent_(n), size_(n, 1) {
    for (size_t i = 0; i < n; ++i) parent_[i] = i;
  }
  size_t find(size_t i) {
    while (parent_[i] != i) i = parent_[i] = parent_[parent_[i]];
    return i;
  }
  void unite(size_t a, size_t b) {
    a = find(a);
    b = find(b);
    if (a == b) return;
    if (size_[a] < size_[b]) std::swap(a, b);
    parent_[b] = a;
    size_[a] += size_[b];
  }

 private:
  std::vector<size_t> parent_, size_;
};

// Removes element i of v by moving the last one into its place (order is not kept).
template <typename T>
void swap_remove(std::vector<T>& v, size_t i) {
  v[i] = v.back();
  v.pop_back();
}
// The same for row i of rows `dim` wide.
void swap_remove_row(std::vector<double>& rows, size_t dim, size_t i);

}  // namespace rtml::cluster
