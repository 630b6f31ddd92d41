// A small synthetic stream for model tests: 4 numeric features and one categorical one,
// with a target for each task.
#pragma once

#include <string>
#include <vector>

#include "rtml/core/random.h"
#include "rtml/learn/pipeline.h"

namespace rtml::test {

// A stream with 4 numeric features and one categorical one.
struct Event {
  Features x;
  Target y;
};

inline std::vector<Event> stream(Pipeline& p, Task task, int n, uint64_t seed) {
  Random rng(seed);
  uint32_t cols[5];
  for (int i = 0; i < 5; ++i) cols[i] = p.schema().intern("f" + std::to_string(i));
  std::vector<Event> out;
  for (int i = 0; i < n; ++i) {
    Event e;
    double v[4];
    for (int k = 0; k < 4; ++k) e.x.add(cols[k], v[k] = rng.uniform(-1, 2));
    uint32_t cat = static_cast<uint32_t>(rng.below(4));
    e.x.add_category(cols[4], p.schema().intern_category(cols[4], "c" + std::to_string(cat)));
    if (task == Task::kRegression) {
      e.y = Target::of_value(3 * v[0] - v[2] + cat);
    } else if (task == Task::kBinary) {
      e.y = Target::of_class(v[0] + v[1] > 1 ? 1 : 0);
    } else {
      e.y = Target::of_class(static_cast<uint32_t>((v[0] + 1) / 1.01) % 3);
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace rtml::test
