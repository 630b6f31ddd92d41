// Row: one decoded event as named, typed fields, before it becomes Features.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rtml {

// How a column's values are read: as numbers or as categories (text).
enum class ColumnType : uint8_t { kNumeric, kCategorical };

struct Column {
  std::string name;
  ColumnType type = ColumnType::kNumeric;
};

enum class ValueKind : uint8_t { kMissing, kNumber, kText };

// One field of a row. text points into the decoder's buffer and stays valid only
// until the decoder's next call.
struct Value {
  ValueKind kind = ValueKind::kMissing;
  double number = 0.0;
  std::string_view text;
};

// A decoded row: values[i] belongs to the source's column i. line is the 1-based
// line of the input where the row starts (or the event number for generators).
struct Row {
  std::vector<Value> values;
  uint64_t line = 0;
};

}  // namespace rtml
