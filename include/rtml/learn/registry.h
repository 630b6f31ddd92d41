// The registry of pipeline steps by name, and the parser of pipeline expressions such
// as "standard_scaler | logistic_regression(optimizer=ftrl, l2=0.01)".
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rtml/learn/model.h"

namespace rtml {

class ParamSet;

// One step of an expression: a name and its parameters as text.
struct StepSpec {
  std::string name;
  std::map<std::string, std::string> params;
};

// Parses "a | b(k=v, k2='text') | c". Throws Error naming the column at fault.
std::vector<StepSpec> parse_expression(std::string_view expression);

// A step the registry can build.
struct ComponentInfo {
  std::string name;
  std::string summary;
  // Exactly one of these is set.
  std::function<std::unique_ptr<Transformer>(ParamSet&)> make_transformer;
  std::function<std::unique_ptr<Model>(ParamSet&)> make_model;
};

// Every registered step, sorted by name.
const std::vector<ComponentInfo>& components();
// The step called name; throws Error listing the valid names if there is none.
const ComponentInfo& find_component(std::string_view name);

}  // namespace rtml
