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

// A model given as a parameter of another step (an ensemble's model=, a selector's
// models=[...]): one model step, parsed and checked once, built whenever its owner needs a
// fresh one (a member replaced after a drift, a model loaded from a file).
class ModelRecipe {
 public:
  // Parses text as one model step ("hoeffding_tree(grace_period=100)"). Throws Error,
  // prefixed with owner, for anything else (a transform, a pipeline, an unknown step).
  ModelRecipe(std::string_view text, const std::string& owner);
  // A new model as the recipe says, untrained.
  std::unique_ptr<Model> make() const;
  // The step with every parameter written out, defaults included.
  const std::string& canonical() const { return canonical_; }
  // The task, and whether it reads categories, of what make() builds.
  Task task() const { return task_; }
  const StepSpec& spec() const { return spec_; }

  // Throws Error, prefixed with owner, if n copies of what make() builds would hold more
  // than 100,000 models (Model::members()), so that ensembles of ensembles cannot exhaust
  // memory when they are built or at their first event.
  void check_members(const std::string& owner, uint64_t n) const;
  // Models what make() builds holds (Model::members()).
  uint64_t members() const { return members_; }

  // Throws Error, prefixed with owner, unless the model learns from labels (a clusterer
  // or an anomaly detector has nothing to bag, select or calibrate by).
  void require_labels(const std::string& owner) const;

  // Parameter `name` of params as a model recipe (fallback when not given); params'
  // canonical text gets the recipe's.
  static ModelRecipe from_param(ParamSet& params, const std::string& name,
                                const std::string& fallback);
  // Parameter `name` as a list of at least two recipes, "[a, b(x=1), c]".
  static std::vector<ModelRecipe> list_from_param(ParamSet& params, const std::string& name);

 private:
  StepSpec spec_;
  std::string canonical_;
  Task task_ = Task::kRegression;
  bool needs_target_ = true;
  uint64_t members_ = 1;
};

// While one is alive on a thread (the outermost counts; Pipeline's constructors hold one),
// the models ModelRecipe::make() builds there are counted, and past 100,000 it throws
// Error: an expression of ensembles of ensembles cannot exhaust memory as it is built.
class ModelBudget {
 public:
  ModelBudget();
  ~ModelBudget();
  ModelBudget(const ModelBudget&) = delete;
  ModelBudget& operator=(const ModelBudget&) = delete;

 private:
  bool outer_;
  uint64_t left_ = 0;
};

// Every registered step, sorted by name.
const std::vector<ComponentInfo>& components();
// The step called name; throws Error listing the valid names if there is none.
const ComponentInfo& find_component(std::string_view name);

}  // namespace rtml
