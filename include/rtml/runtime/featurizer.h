// Featurizer: a decoded row as the pipeline's Features and Target.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "rtml/core/error.h"
#include "rtml/core/excerpt.h"
#include "rtml/core/features.h"
#include "rtml/core/row.h"
#include "rtml/core/target.h"
#include "rtml/learn/pipeline.h"

namespace rtml::runtime {

// Turns decoded rows into Features and a Target: column names and classes interned in
// the pipeline's schema and labels, categories as the pipeline reads them
// (Pipeline::add_category: hashed from their bytes, or interned up to a limit). Runs on
// the learning thread only.
class Featurizer {
 public:
  // Which fields are not features.
  struct Roles {
    std::string target;          // the label's field ("" if the model needs none)
    std::set<std::string> drop;  // fields left out
  };

  Featurizer(Roles roles, Pipeline& pipeline)
      : spec_(std::move(roles)),
        pipeline_(pipeline),
        regression_(pipeline.task() == Task::kRegression) {}

  // Whether a classification target has two classes (a binary classifier's): a value
  // beyond the first two is refused, the row learned from nothing.
  void set_binary(bool binary) { binary_ = binary; }

  // Takes the columns past those it knows: their roles, and their names in the schema.
  // Throws Error for a categorical column that nothing in the pipeline reads.
  void sync_columns(const std::vector<Column>& columns) {
    for (size_t i = roles_.size(); i < columns.size(); ++i) {
      const Column& c = columns[i];
      Role r;
      if (c.name == spec_.target) {
        r.kind = Role::kTarget;
      } else if (spec_.drop.count(c.name)) {
        r.kind = Role::kDropped;
      } else {
        r.kind = Role::kFeature;
        r.index = pipeline_.schema().intern(c.name);
        pipeline_.input_types()[c.name] = c.type;
        if (c.type == ColumnType::kCategorical && !pipeline_.encodes_categories()) {
          throw Error("column '" + excerpt(c.name) +
                      "' is categorical, and the pipeline has no step that encodes categories: "
                      "add one_hot or feature_hasher, pass --numeric " +
                      excerpt(c.name) + " if it holds numbers, or --drop it");
        }
      }
      roles_.push_back(r);
    }
  }

  // After the pipeline was replaced by another (a model snapshot reloaded): the columns'
  // names interned again in the new pipeline's schema.
  void rebind(const std::vector<Column>& columns) {
    roles_.clear();
    regression_ = pipeline_.task() == Task::kRegression;
    sync_columns(columns);
  }

  // What a row's target field held.
  enum class TargetState { kPresent, kMissing, kBad };

  // Writes row's features to x (all of them, whatever the target), and keeps where its
  // target is for target(). Says whether the row has a target value (kPresent, not yet
  // checked) or none (kMissing; reason then says so). A featurizer without a target
  // field says kPresent: a model that needs no label ignores it.
  [[gnu::always_inline]] TargetState featurize(const Row& row, Features& x, std::string& reason) {
    x.clear();
    target_ = nullptr;
    for (size_t i = 0; i < row.values.size(); ++i) {
      const Value& v = row.values[i];
      const Role& r = roles_[i];
      if (r.kind == Role::kFeature) {
        if (v.kind == ValueKind::kNumber) {
          x.add(r.index, v.number);
        } else if (v.kind == ValueKind::kText) {
          pipeline_.add_category(x, r.index, v.text);
        }
      } else if (r.kind == Role::kTarget && v.kind != ValueKind::kMissing) {
        target_ = &v;
      }
    }
    if (target_ || spec_.target.empty()) return TargetState::kPresent;
    reason = "missing target '" + spec_.target + "'";
    return TargetState::kMissing;
  }

  // The target of the row featurize() read last (the row must still be alive) into y,
  // or why it is unusable. A class is learned here, after the event's prediction: no
  // prediction knows its own event's class (an untrained model's tie would otherwise
  // name the class just learned). Without a target field, class 0.
  [[gnu::always_inline]] TargetState target(Target& y, std::string& reason) {
    if (spec_.target.empty()) {
      y = Target::of_class(0);
      return TargetState::kPresent;
    }
    if (!target_) {
      reason = "missing target '" + spec_.target + "'";
      return TargetState::kMissing;
    }
    return target_of(*target_, y, reason);
  }

  // Reads a label value (not missing) as the target: a number for regression, a class
  // otherwise (a binary target refuses a third value).
  TargetState target_of(const Value& v, Target& y, std::string& reason) {
    if (regression_) {
      if (v.kind != ValueKind::kNumber) {
        reason = target_name() + " is not a number";
        return TargetState::kBad;
      }
      y = Target::of_value(v.number);
      return TargetState::kPresent;
    }
    auto label = pipeline_.labels().intern(v.text, binary_);
    if (!label) {
      reason = target_name() + " has the value '" + excerpt(v.text, 100) +
               "' beyond its two classes " + two_classes() +
               ", but the model is a binary classifier (softmax_regression, gaussian_nb and "
               "the trees take more)";
      return TargetState::kBad;
    }
    y = Target::of_class(*label);
    return TargetState::kPresent;
  }

 private:
  // The target, for a refusal: its field, or the label given apart (a batch's, Python's).
  std::string target_name() const {
    return spec_.target.empty() ? std::string("the label") : "target '" + spec_.target + "'";
  }
  // The two classes a binary target has taken, for a refusal.
  std::string two_classes() const {
    const Labels& l = pipeline_.labels();
    std::string out;
    for (uint32_t c = 0; c < l.size(); ++c) {
      const bool unseen = l.name(c).empty() && l.named_positive();
      out += (out.empty() ? "'" : " and '") +
             excerpt(unseen ? *l.named_positive() : l.name(c), 60) + "'";
      if (unseen) out += " (the positive class, not seen yet)";
    }
    return out;
  }

  struct Role {
    enum Kind { kFeature, kTarget, kDropped } kind = kDropped;
    uint32_t index = 0;
  };

  Roles spec_;
  Pipeline& pipeline_;
  bool regression_;
  bool binary_ = false;
  std::vector<Role> roles_;
  const Value* target_ = nullptr;  // in the row featurize() read last
};

}  // namespace rtml::runtime
