#include "cluster_math.h"

#include <algorithm>
#include <limits>
#include <tuple>

namespace rtml::cluster {
namespace {

// An index drawn with probability proportional to mass[i] (total their sum, > 0).
size_t draw(std::span<const double> mass, double total, Random& rng) {
  const double r = rng.uniform() * total;
  double sum = 0;
  size_t last = 0;
  for (size_t i = 0; i < mass.size(); ++i) {
    if (mass[i] <= 0) continue;
    sum += mass[i];
    last = i;
    if (r < sum) return i;
  }
  return last;  // rounding left r at the very top
}

}  // namespace

size_t width_of(const Features& x) {
  size_t w = 0;
  for (const Feature& f : x.numbers()) w = std::max<size_t>(w, size_t{f.index} + 1);
  return w;
}

void densify(const Features& x, size_t dim, std::vector<double>& dense) {
  dense.assign(dim, 0.0);
  for (const Feature& f : x.numbers()) {
    if (f.index < dim) dense[f.index] = f.value;
  }
}

void widen(std::vector<double>& rows, size_t n, size_t from, size_t to, double fill) {
  if (to <= from) return;
  rows.resize(n * to, fill);
  // From the last row back, so that no row is overwritten before it has moved.
  for (size_t r = n; r-- > 0;) {
    double* dst = rows.data() + r * to;
    const double* src = rows.data() + r * from;
    std::copy_backward(src, src + from, dst + from);
    std::fill(dst + from, dst + to, fill);
  }
}

Nearest nearest_row(const double* x, const double* rows, size_t n, size_t dim, double p) {
  Nearest best{0, std::numeric_limits<double>::infinity()};
  for (size_t r = 0; r < n; ++r) {
    const double d = power_distance(x, rows + r * dim, dim, p);
    if (d < best.distance) best = {r, d};
  }
  return best;
}

void seed_centres(std::span<const double> points, std::span<const double> weights, size_t dim,
                  size_t k, double p, Random& rng, std::vector<double>& centres) {
  const size_t n = weights.size();
  centres.assign(k * dim, 0.0);
  if (n == 0 || k == 0) return;
  auto copy_point = [&](size_t i, size_t c) {
    std::copy(points.begin() + i * dim, points.begin() + (i + 1) * dim, centres.begin() + c * dim);
  };
  double total_weight = 0;
  for (double w : weights) total_weight += w;
  copy_point(draw(weights, total_weight, rng), 0);
  std::vector<double> closest(n), mass(n), trial(n), best(n);
  double potential = 0;
  for (size_t i = 0; i < n; ++i) {
    closest[i] = power_distance(&points[i * dim], centres.data(), dim, p);
    potential += weights[i] * closest[i];
  }
  const int trials = 2 + static_cast<int>(std::log(static_cast<double>(k)));
  for (size_t c = 1; c < k; ++c) {
    if (!(potential > 0)) {  // every point sits on a centre: repeat one
      copy_point(draw(weights, total_weight, rng), c);
      continue;
    }
    for (size_t i = 0; i < n; ++i) mass[i] = weights[i] * closest[i];
    double best_potential = std::numeric_limits<double>::infinity();
    size_t best_point = 0;
    for (int t = 0; t < trials; ++t) {
      const size_t candidate = draw(mass, potential, rng);
      double pot = 0;
      for (size_t i = 0; i < n; ++i) {
        trial[i] = std::min(closest[i],
                            power_distance(&points[i * dim], &points[candidate * dim], dim, p));
        pot += weights[i] * trial[i];
      }
      if (pot < best_potential) {
        best_potential = pot;
        best_point = candidate;
        best.swap(trial);
      }
    }
    copy_point(best_point, c);
    closest.swap(best);
    potential = best_potential;
  }
}

double lloyd(std::span<const double> points, std::span<const double> weights, size_t dim, size_t k,
             double p, int max_iter, std::vector<double>& centres,
             std::vector<uint32_t>& assignment) {
  const size_t n = weights.size();
  assignment.assign(n, 0);
  std::vector<double> distance(n), sums(k * dim), mass(k);
  double cost = 0;
  for (int it = 0;; ++it) {
    bool changed = it == 0;
    cost = 0;
    for (size_t i = 0; i < n; ++i) {
      const Nearest c = nearest_row(&points[i * dim], centres.data(), k, dim, p);
      if (c.row != assignment[i]) changed = true;
      assignment[i] = static_cast<uint32_t>(c.row);
      distance[i] = c.distance;
      cost += weights[i] * c.distance;
    }
    if (!changed || it == max_iter) return cost;
    std::fill(sums.begin(), sums.end(), 0.0);
    std::fill(mass.begin(), mass.end(), 0.0);
    for (size_t i = 0; i < n; ++i) {
      const uint32_t c = assignment[i];
      mass[c] += weights[i];
      for (size_t j = 0; j < dim; ++j) sums[c * dim + j] += weights[i] * points[i * dim + j];
    }
    for (size_t c = 0; c < k; ++c) {
      if (mass[c] > 0) {
        for (size_t j = 0; j < dim; ++j) centres[c * dim + j] = sums[c * dim + j] / mass[c];
        continue;
      }
      // An empty centre takes the point that costs most where it is (then costs nothing).
      size_t worst = n;
      double worst_cost = 0;
      for (size_t i = 0; i < n; ++i) {
        if (weights[i] * distance[i] > worst_cost) {
          worst_cost = weights[i] * distance[i];
          worst = i;
        }
      }
      if (worst == n) continue;  // fewer distinct points than centres
      std::copy(points.begin() + worst * dim, points.begin() + (worst + 1) * dim,
                centres.begin() + c * dim);
      distance[worst] = 0;
    }
  }
}

void match_centres(std::span<const double> old_centres, size_t n_old,
                   std::span<const double> new_centres, size_t n_new, size_t dim,
                   std::vector<uint32_t>& out) {
  std::vector<std::tuple<double, uint32_t, uint32_t>> pairs;  // distance, new, old
  pairs.reserve(n_old * n_new);
  for (uint32_t i = 0; i < n_new; ++i) {
    for (uint32_t j = 0; j < n_old; ++j) {
      pairs.emplace_back(squared_distance(&new_centres[i * dim], &old_centres[j * dim], dim), i, j);
    }
  }
  std::sort(pairs.begin(), pairs.end());
  constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
  out.assign(n_new, kNone);
  std::vector<uint8_t> taken(std::max(n_old, n_new), 0);
  for (const auto& [d, i, j] : pairs) {
    if (out[i] != kNone || taken[j]) continue;
    out[i] = j;
    taken[j] = 1;
  }
  uint32_t free_id = 0;
  for (uint32_t i = 0; i < n_new; ++i) {
    if (out[i] != kNone) continue;
    while (taken[free_id]) ++free_id;
    out[i] = free_id;
    taken[free_id] = 1;
  }
}

void carry_ids(std::span<const int32_t> group, std::span<const int32_t> previous,
               std::span<const double> weight, size_t n_groups, std::vector<int32_t>& out) {
  struct Overlap {
    int32_t group, id;
    double weight;
  };
  std::vector<Overlap> overlaps;
  int32_t largest_id = -1;
  for (size_t i = 0; i < group.size(); ++i) {
    if (group[i] < 0 || previous[i] < 0) continue;
    overlaps.push_back({group[i], previous[i], weight[i]});
    largest_id = std::max(largest_id, previous[i]);
  }
  // One entry per (group, former id), its weights summed.
  std::sort(overlaps.begin(), overlaps.end(), [](const Overlap& a, const Overlap& b) {
    return std::tie(a.group, a.id) < std::tie(b.group, b.id);
  });
  size_t w = 0;
  for (size_t r = 0; r < overlaps.size(); ++r) {
    if (w > 0 && overlaps[w - 1].group == overlaps[r].group &&
        overlaps[w - 1].id == overlaps[r].id) {
      overlaps[w - 1].weight += overlaps[r].weight;
    } else {
      overlaps[w++] = overlaps[r];
    }
  }
  overlaps.resize(w);
  std::stable_sort(overlaps.begin(), overlaps.end(),
                   [](const Overlap& a, const Overlap& b) { return a.weight > b.weight; });
  out.assign(n_groups, -1);
  std::vector<uint8_t> used(static_cast<size_t>(largest_id + 1) + n_groups, 0);
  for (const Overlap& o : overlaps) {
    if (out[o.group] >= 0 || used[o.id]) continue;
    out[o.group] = o.id;
    used[o.id] = 1;
  }
  int32_t free_id = 0;
  for (size_t g = 0; g < n_groups; ++g) {
    if (out[g] >= 0) continue;
    while (used[free_id]) ++free_id;
    out[g] = free_id;
    used[free_id] = 1;
  }
}

void swap_remove_row(std::vector<double>& rows, size_t dim, size_t i) {
  if (dim == 0) return;
  const size_t n = rows.size() / dim;
  if (i + 1 < n) {
    std::copy(rows.begin() + (n - 1) * dim, rows.begin() + n * dim, rows.begin() + i * dim);
  }
  rows.resize((n - 1) * dim);
}

}  // namespace rtml::cluster
