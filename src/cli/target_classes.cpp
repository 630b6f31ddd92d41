#include "target_classes.h"

#include <algorithm>
#include <string>
#include <vector>

#include "rtml/core/error.h"
#include "rtml/core/excerpt.h"
#include "rtml/stream/byte_source.h"

namespace rtml::cli {
namespace {

bool less_as_values(const std::string& a, const std::string& b) {
  double x, y;
  if (parse_number(a, x) && parse_number(b, y)) return x < y;
  return a < b;
}

// The target's distinct text values, up to three, in the rows read ahead.
std::vector<std::string> values_ahead(LookaheadSource& source, const std::string& target) {
  std::vector<std::string> seen;
  size_t column = SIZE_MAX, known = 0;
  while (seen.size() < 3 && source.held_rows() < kClassLookaheadRows &&
         source.held_bytes() < kClassLookaheadBytes) {
    const Row* row;
    try {
      row = source.read_ahead();
    } catch (const ReadStopped&) {
      break;  // a stop was requested: decide from the rows already held
    }
    if (row == nullptr) break;
    const auto& columns = source.columns();
    if (column == SIZE_MAX && columns.size() != known) {  // JSON Lines learns columns
      known = columns.size();
      for (size_t i = 0; i < columns.size(); ++i) {
        if (columns[i].name == target) column = i;
      }
    }
    if (column >= row->values.size()) continue;
    const Value& v = row->values[column];
    if (v.kind != ValueKind::kText) continue;
    if (std::find(seen.begin(), seen.end(), v.text) == seen.end()) seen.emplace_back(v.text);
  }
  return seen;
}

}  // namespace

bool decide_classes(LookaheadSource& source, const EvalConfig& config, Pipeline& pipeline) {
  bool binary_model = pipeline.task() == Task::kBinary;
  Labels& labels = pipeline.labels();
  if (labels.size() > 0) return binary_model || labels.size() == 2;  // loaded with the model
  std::vector<std::string> seen = values_ahead(source, config.target);
  if (binary_model && seen.size() > 2) {
    throw Error("target '" + config.target + "' has more than two values ('" +
                excerpt(seen[0], 60) + "', '" + excerpt(seen[1], 60) + "', '" +
                excerpt(seen[2], 60) + "', ...), but " + std::string(pipeline.model().kind()) +
                " is a binary classifier: use softmax_regression or gaussian_nb");
  }
  bool binary = binary_model || seen.size() == 2;
  if (config.positive) {
    if (seen.size() == 2 && (seen[0] == *config.positive || seen[1] == *config.positive)) {
      labels.set_binary(seen[0] == *config.positive ? seen[1] : seen[0], *config.positive);
    } else if (seen.size() == 2) {
      throw Error("--positive " + *config.positive + ": the target '" + config.target +
                  "' has the values '" + excerpt(seen[0], 100) + "' and '" + excerpt(seen[1], 100) +
                  "'");
    } else {
      labels.set_positive(*config.positive);
    }
  } else if (seen.size() == 2) {
    if (less_as_values(seen[0], seen[1])) {
      labels.set_binary(seen[0], seen[1]);
    } else {
      labels.set_binary(seen[1], seen[0]);
    }
  }
  return binary;
}

}  // namespace rtml::cli
