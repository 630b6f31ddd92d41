// Helpers for the serve tests: a synchronous call into the Api, and Elec2 as JSON events.
#pragma once

#include <future>
#include <string>
#include <vector>

#include "../test_util.h"
#include "rtml/serve/api.h"
#include "rtml/stream/row_source.h"

namespace rtml::test {

// Calls the Api and waits for its answer (a learn is answered on a learning thread).
inline serve::ApiResponse call(serve::Api& api, std::string_view method, std::string_view target,
                               std::string_view body = {}, std::string_view auth = {}) {
  std::promise<serve::ApiResponse> done;
  auto answer = done.get_future();
  serve::ApiRequest r{method, target, body, auth};
  api.handle(r, [&](serve::ApiResponse resp) { done.set_value(std::move(resp)); });
  return answer.get();
}

// One row of a CSV file as {"features": {...}} and its label (the class column).
struct JsonEvent {
  std::string features;  // the JSON object of the features
  std::string label;     // the class
};

// The first n rows of the Elec2 data set as JSON events.
inline std::vector<JsonEvent> elec2_events(size_t n) {
  auto source = open_source(data_dir() + "/elec2.csv.gz");
  const auto& columns = source->columns();
  std::vector<JsonEvent> out;
  Row row;
  while (out.size() < n && source->next(row)) {
    JsonEvent e;
    e.features = "{";
    for (size_t i = 0; i < row.values.size(); ++i) {
      const Value& v = row.values[i];
      if (columns[i].name == "class") {
        e.label = std::string(v.text);
        continue;
      }
      if (v.kind != ValueKind::kNumber) continue;
      if (e.features.size() > 1) e.features += ',';
      char num[40];
      std::snprintf(num, sizeof num, "%.17g", v.number);
      e.features += "\"" + columns[i].name + "\":" + num;
    }
    e.features += "}";
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace rtml::test
