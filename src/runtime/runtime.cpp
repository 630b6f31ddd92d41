#include "rtml/runtime/runtime.h"

#include <string>

#include "rtml/core/excerpt.h"

namespace rtml::runtime {
namespace {

Status repeated(EventId id) {
  return Status::error(id.text.empty() ? "event id " + std::to_string(id.number) + " repeated"
                                       : "event id '" + excerpt(id.text, 100) + "' repeated");
}

}  // namespace

Runtime::Runtime(Pipeline& pipeline, Options options)
    : pipeline_(pipeline), featurizer_(std::move(options.roles), pipeline), log_(options.log) {}

Status Runtime::predict(const Row& row, EventId id, double time, bool need_target, Prediction& out,
                        Target& y, bool& has_target) {
  // Checked first, so that a repeated event changes nothing (not even the classes known).
  if (log_.knows(id)) return repeated(id);
  auto state = featurizer_.featurize(row, x_, y, reason_);
  has_target = state == Featurizer::TargetState::kPresent;
  if (state == Featurizer::TargetState::kBad || (need_target && !has_target)) {
    return Status::error(reason_);
  }
  pipeline_.predict(x_, out);
  if (!log_.log(id, time, x_, out)) return repeated(id);
  return Status::ok();
}

Status Runtime::label(EventId id, const Target& y, double now) {
  LabelRefusal why;
  const PredictionLog::Entry* e = log_.take(id, now, &why);
  if (!e) return Status::error(std::string(label_refusal_text(why)));
  pipeline_.learn(e->x, y);
  return Status::ok();
}

Status Runtime::label(EventId id, const Value& label, double now) {
  if (label.kind == ValueKind::kMissing) return Status::error("the label is missing");
  Target y;
  if (featurizer_.target_of(label, y, reason_) != Featurizer::TargetState::kPresent) {
    return Status::error(reason_);
  }
  return this->label(id, y, now);
}

}  // namespace rtml::runtime
