#include "prediction_writer.h"

namespace rtml::serve {
PredictionWriter::PredictionWriter(const Pipeline& p)
    : pipeline_(p), classifier_(p.task() != Task::kRegression && p.model().needs_target()) {}

void PredictionWriter::prepare() {
  if (!classifier_ || !head_.empty()) return;
  const Labels& labels = pipeline_.labels();
  classes_ = labels.size();
  if (classes_ == 0) return;
  for (size_t c = 0; c < classes_; ++c) {
    // An unnamed class is left out of "proba": the general road skips it.
    if (labels.name(static_cast<uint32_t>(c)).empty()) return;
  }
  const std::string first = "\"proba\":{" + runtime::json_text(labels.name(0)) + ":";
  for (size_t c = 0; c <= classes_; ++c) {
    const std::string predicted = c < classes_
                                      ? runtime::json_text(labels.name(static_cast<uint32_t>(c)))
                                      : std::string("null");
    head_.push_back(",\"prediction\":" + predicted + "," + first);
  }
  between_.push_back("");
  for (size_t c = 1; c < classes_; ++c) {
    between_.push_back("," + runtime::json_text(labels.name(static_cast<uint32_t>(c))) + ":");
  }
}

void PredictionWriter::write(JsonWriter& out, std::string_view event_id, const Prediction& pred,
                             bool id_is_plain) const {
  write_id(out, event_id, id_is_plain);
  if (head_.empty() || pred.proba.size() < classes_) return write_general(out, pred);
  out.raw(head_[pred.has_label && pred.label < classes_ ? pred.label : classes_]);
  out.number(pred.proba[0]);
  for (size_t c = 1; c < classes_; ++c) {
    out.raw(between_[c]);
    out.number(pred.proba[c]);
  }
  out.raw("}}");
}

void PredictionWriter::write_id(JsonWriter& out, std::string_view event_id, bool id_is_plain) {
  if (id_is_plain) {
    out.raw("{\"event_id\":\"");
    out.raw(event_id);
    out.raw('"');
  } else {
    out.raw("{\"event_id\":");
    out.text(event_id);
  }
}

void PredictionWriter::write_general(JsonWriter& out, const Prediction& pred) const {
  out.raw(",\"prediction\":");
  if (!classifier_) {
    out.number(pred.value);
    if (pred.has_interval) {  // a conformal regressor's
      out.raw(",\"interval\":[");
      out.number(pred.lower);
      out.raw(',');
      out.number(pred.upper);
      out.raw(']');
    }
  } else {
    const Labels& labels = pipeline_.labels();
    if (pred.has_label && pred.label < labels.size()) {
      out.text(labels.name(pred.label));
    } else {
      out.raw("null");
    }
    out.raw(",\"proba\":{");
    bool first = true;
    for (uint32_t c = 0; c < pred.proba.size() && c < labels.size(); ++c) {
      if (labels.name(c).empty()) continue;
      if (!first) out.raw(',');
      first = false;
      out.text(labels.name(c));
      out.raw(':');
      out.number(pred.proba[c]);
    }
    out.raw('}');
  }
  out.raw('}');
}

}  // namespace rtml::serve
