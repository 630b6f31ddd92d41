// MemoryBudget: when a Hoeffding tree measures itself against its memory limit, and
// which leaves give way when it is over. Shared by the Hoeffding trees.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "rtml/core/binary_io.h"

namespace rtml::detail {

// A tree measures itself every `period` weight of events, and also after a split
// whenever it is past half its limit or has grown by half since it last measured, so
// that a young tree cannot outgrow its budget between two periodic measurements.
// Not thread-safe.
class MemoryBudget {
 public:
  MemoryBudget(double limit_mib, double period)
      : limit_(static_cast<size_t>(limit_mib * 1024 * 1024)), period_(period) {}

  size_t limit() const { return limit_; }
  // Counts an event's weight; true when a periodic measurement is due.
  bool count(double weight) {
    seen_ += weight;
    if (seen_ - last_ < period_) return false;
    last_ = seen_;
    return true;
  }
  // True when a split that left the tree with `leaves` leaves calls for a measurement.
  bool after_split(size_t leaves) const { return near_ || 2 * leaves >= 3 * leaves_at_; }
  // False once a measurement found the tree past half its limit: structure that grows
  // without a split decision (a multiway split's branch for a new category) waits then.
  bool room_to_grow() const { return !near_; }
  // Records a measurement of `used` bytes with `leaves` leaves; true if over the limit.
  bool measured(size_t used, size_t leaves) {
    near_ = used > limit_ / 2;
    leaves_at_ = leaves;
    return used > limit_;
  }

  void save(BinaryWriter& out) const {
    out.put(seen_);
    out.put(last_);
    out.put<uint8_t>(near_);
    out.put<uint64_t>(leaves_at_);
  }
  void load(BinaryReader& in) {
    seen_ = in.get<double>();
    last_ = in.get<double>();
    near_ = in.get<uint8_t>();
    leaves_at_ = in.get<uint64_t>();
  }

 private:
  size_t limit_;
  double period_;
  double seen_ = 0, last_ = 0;
  bool near_ = false;  // the last measurement was over half the limit
  size_t leaves_at_ = 1;
};

// Sheds candidates (promise, leaf), least promising first (ties in the given order),
// until used <= limit. shed(leaf) deactivates the leaf and returns the bytes it freed.
// Returns the bytes used afterwards.
template <typename Leaf, typename Shed>
size_t shed_least_promising(std::vector<std::pair<double, Leaf>>& candidates, size_t used,
                            size_t limit, Shed shed) {
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [promise, leaf] : candidates) {
    if (used <= limit) break;
    used -= std::min(used, shed(leaf));
  }
  return used;
}

}  // namespace rtml::detail
