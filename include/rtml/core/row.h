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

// One named field of an event: the one type an event's field has wherever it is taken
// by name (the store's aggregates, its log, the runtime's store updates). The name and
// a text value are views, valid as long as what they were read from (a decoder's
// buffer, a log record, a parsed JSON line): copy them out to keep them longer.
struct EventField {
  std::string_view name;
  Value value;
  bool is_number() const { return value.kind == ValueKind::kNumber; }
  // A field of a number, or of a text.
  static EventField of_number(std::string_view name, double number) {
    return {name, {ValueKind::kNumber, number, {}}};
  }
  static EventField of_text(std::string_view name, std::string_view text) {
    return {name, {ValueKind::kText, 0.0, text}};
  }
};

// A decoded row: values[i] belongs to the source's column i. line is the 1-based
// line of the input where the row starts (or the event number for generators).
struct Row {
  std::vector<Value> values;
  uint64_t line = 0;
};

}  // namespace rtml
