// Task and Target: what a model predicts and what it learns from.
#pragma once

#include <cstdint>
#include <string_view>

namespace rtml {

// The kind of target a model learns. A binary model takes class 1 as the positive
// class and class 0 as the negative one; a multiclass model takes any class index.
enum class Task : uint8_t { kBinary, kMulticlass, kRegression };

std::string_view task_name(Task task);

// A label: a class index for classification (see Labels) or a value for regression.
struct Target {
  uint32_t label = 0;
  double value = 0.0;

  static Target of_class(uint32_t label) { return Target{label, 0.0}; }
  static Target of_value(double value) { return Target{0, value}; }
};

}  // namespace rtml
