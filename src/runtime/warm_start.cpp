#include "warm_start.h"

#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "rtml/runtime/runtime.h"
#include "rtml/runtime/training_log.h"

namespace rtml::runtime::detail {

uint64_t warm_start(const std::string& dir, Pipeline& pipeline, Featurizer::Roles roles) {
  roles.drop.insert("_time");
  Runtime warm(pipeline, {roles, {}});
  warm.set_binary(pipeline.task() == Task::kBinary);
  std::vector<Column> columns;
  std::map<std::string, size_t, std::less<>> index;
  std::vector<std::string> texts;
  Row row;
  Prediction p;
  Target y;
  uint64_t learned = 0;
  TrainingLog::read(dir, [&](std::string_view line) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return;
    bool grew = false;
    for (const auto& [k, v] : j.items()) {
      if (index.count(k)) continue;
      index.emplace(k, columns.size());
      columns.push_back(Column{k, v.is_number() ? ColumnType::kNumeric : ColumnType::kCategorical});
      grew = true;
    }
    if (grew) warm.sync_columns(columns);
    row.values.assign(columns.size(), Value{});
    texts.assign(columns.size(), std::string());
    for (const auto& [k, v] : j.items()) {
      size_t i = index.find(k)->second;
      if (v.is_number()) {
        row.values[i].kind = ValueKind::kNumber;
        row.values[i].number = v.get<double>();
      } else if (v.is_string()) {
        texts[i] = v.get<std::string>();
        row.values[i].kind = ValueKind::kText;
        row.values[i].text = texts[i];
      }
    }
    if (warm.predict_then_learn(row, p, y)) ++learned;
  });
  return learned;
}

}  // namespace rtml::runtime::detail
