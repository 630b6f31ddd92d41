#include "rtml/runtime/runtime.h"

#include <string>

#include "rtml/core/excerpt.h"
#include "rtml/runtime/redis_aggregates.h"
#include "rtml/runtime/store_aggregates.h"

namespace rtml::runtime {
Status Runtime::repeated(EventId id) {
  return Status::error(id.text.empty() ? "event id " + std::to_string(id.number) + " repeated"
                                       : "event id '" + excerpt(id.text, 100) + "' repeated");
}

Runtime::Runtime(Pipeline& pipeline, Options options)
    : pipeline_(pipeline),
      names_classes_(names_classes(pipeline)),
      featurizer_(std::move(options.roles), pipeline),
      log_(options.log) {}

Status Runtime::predict(const Row& row, EventId id, double time, bool need_target, Prediction& out,
                        Target& y, bool& has_target, std::string_view record) {
  // Checked first, so that a repeated event changes nothing (not even the classes known).
  if (log_.knows(id)) return repeated(id);
  auto state = featurizer_.featurize(row, x_, reason_);
  if (need_target && state != Featurizer::TargetState::kPresent) return Status::error(reason_);
  if (!enrich_.empty()) enrich(row, time);
  predict_features(out);
  // The target is read after the prediction (see Featurizer::target).
  state = featurizer_.target(y, reason_);
  has_target = state == Featurizer::TargetState::kPresent;
  if (state == Featurizer::TargetState::kBad || (need_target && !has_target)) {
    return Status::error(reason_);
  }
  if (!log_.log(id, time, x_, out, record)) return repeated(id);
  return Status::ok();
}

Status Runtime::label(EventId id, const Target& y, double now, Prediction* scored,
                      std::string* record) {
  LabelRefusal why;
  const PredictionLog::Entry* e = log_.take(id, now, &why);
  if (!e) return Status::error(std::string(label_refusal_text(why)));
  learn_entry(*e, y, scored, record);
  return Status::ok();
}

void Runtime::learn_entry(const PredictionLog::Entry& e, const Target& y, Prediction* scored,
                          std::string* record) {
  if (scored) *scored = e.prediction;
  if (record) record->assign(e.record);
  pipeline_.learn(e.x, y);
}

void Runtime::use_store(store::EmbeddedStore* store, std::vector<Enrichment> enrich) {
  set_enrichments(store, nullptr, std::move(enrich));
}

void Runtime::read_latest_from(store::FeatureStore* store, std::vector<Enrichment> enrich) {
  set_enrichments(nullptr, store, std::move(enrich));
}

void Runtime::share_aggregates(RedisAggregates* aggregates, store::FeatureStore* latest,
                               std::vector<Enrichment> enrich) {
  set_enrichments(nullptr, latest, std::move(enrich));
  shared_ = aggregates;
  for (auto& e : enrich_) {
    for (size_t i = 0; i < e.spec.features.size(); ++i) {
      const std::string& name = e.spec.features[i];
      if (auto a = aggregates->index_of(name)) {
        e.aggregates.push_back(*a);
        e.aggregate_at.push_back(i);
      } else if (latest) {
        e.latest.push_back(name);
        e.latest_at.push_back(i);
      } else {
        throw Error("enrich: '" + name + "' is not one of the store's aggregates");
      }
    }
    e.part.resize(std::max(e.aggregates.size(), e.latest.size()));
  }
}

void Runtime::set_enrichments(store::EmbeddedStore* as_of, store::FeatureStore* latest,
                              std::vector<Enrichment> enrich) {
  store_ = as_of;
  latest_ = latest;
  shared_ = nullptr;
  enrich_.clear();
  for (auto& e : enrich) {
    Enricher en;
    for (const auto& f : e.features) en.index.push_back(pipeline_.schema().intern(f));
    en.values.resize(e.features.size());
    if (as_of) en.plan = as_of->plan_as_of(e.features);
    en.spec = std::move(e);
    enrich_.push_back(std::move(en));
  }
  find_enrich_columns();
}

void Runtime::pipeline_replaced() {
  names_classes_ = names_classes(pipeline_);
  featurizer_.rebind(columns_);
  for (auto& e : enrich_) {
    for (size_t i = 0; i < e.spec.features.size(); ++i) {
      e.index[i] = pipeline_.schema().intern(e.spec.features[i]);
    }
  }
}

void Runtime::find_enrich_columns() {
  for (auto& e : enrich_) {
    for (size_t i = 0; e.column == SIZE_MAX && i < columns_.size(); ++i) {
      if (columns_[i].name == e.spec.key) e.column = i;
    }
  }
}

void Runtime::enrich(const Row& row, double time) {
  for (auto& e : enrich_) {
    if (e.column >= row.values.size() || row.values[e.column].kind == ValueKind::kMissing) {
      for (auto& v : e.values) v.present = false;  // nothing read for this event
      continue;
    }
    const Value& v = row.values[e.column];
    set_entity_key(key_, v.kind == ValueKind::kNumber, v.number, v.text);
    if (store_) {
      store_->get_as_of(key_, e.plan, time, e.values);
    } else if (shared_) {
      if (!e.aggregates.empty()) {
        shared_->read_as_of(e.aggregates, key_, time,
                            std::span(e.part.data(), e.aggregates.size()));
        for (size_t j = 0; j < e.aggregates.size(); ++j) {
          std::swap(e.values[e.aggregate_at[j]], e.part[j]);
        }
      }
      if (!e.latest.empty()) {
        latest_->get(key_, e.latest, std::span(e.part.data(), e.latest.size()));
        for (size_t j = 0; j < e.latest.size(); ++j) std::swap(e.values[e.latest_at[j]], e.part[j]);
      }
    } else {
      latest_->get(key_, e.spec.features, e.values);
    }
    for (size_t i = 0; i < e.values.size(); ++i) {
      const store::FeatureValue& f = e.values[i];
      if (!f.present) continue;
      if (f.type == store::FeatureType::kNumber) {
        x_.add(e.index[i], f.number);
      } else if (f.type == store::FeatureType::kCategory) {
        pipeline_.add_category(x_, e.index[i], f.text);
      }
    }
  }
}

Status Runtime::update_store(const Row& row, double time, std::string_view id, bool dedup) {
  // A store without aggregates has nothing to learn from events.
  if (!shared_ && (!store_ || !store_->computes_features())) return Status::ok();
  size_t n = 0;
  for (size_t i = 0; i < row.values.size() && i < columns_.size(); ++i) {
    const Value& v = row.values[i];
    if (v.kind == ValueKind::kMissing) continue;
    if (n == fields_.size()) fields_.emplace_back();
    fields_[n++] = {columns_[i].name, v};
  }
  if (n == 0) return Status::ok();
  if (shared_) {
    // Every worker's events, applied where every worker finds them; an event id applied
    // before (a record delivered again after a crash) changes nothing.
    shared_->apply(time, std::span(fields_.data(), n), dedup ? id : std::string_view());
    return Status::ok();
  }
  event_key_.assign_text(id);
  Status refused = store_->apply_event(event_key_, time, std::span(fields_.data(), n),
                                       dedup ? id : std::string_view());
  if (refused || refused.why() == "no declared aggregate reads any field of this event") {
    return Status::ok();
  }
  return Status::error("store: " + refused.why());
}

Status Runtime::label(EventId id, const Value& label, double now, Prediction* scored,
                      Target* as_target, std::string* record) {
  if (label.kind == ValueKind::kMissing) return Status::error("the label is missing");
  // The entry first: a label refused for its id (unknown, expired, labelled before)
  // changes nothing, not even the classes the target has shown.
  LabelRefusal why;
  const PredictionLog::Entry* e = log_.take(id, now, &why);
  if (!e) return Status::error(std::string(label_refusal_text(why)));
  Target y;
  if (featurizer_.target_of(label, y, reason_) != Featurizer::TargetState::kPresent) {
    return Status::error(reason_);
  }
  if (as_target) *as_target = y;
  learn_entry(*e, y, scored, record);
  return Status::ok();
}

Status Runtime::learn_fields(std::span<const EventField> fields, const Value& label,
                             Prediction* scored, Target* as_target) {
  // Checked first, so that a refused event interns none of its names.
  if (label.kind == ValueKind::kMissing && pipeline_.model().needs_target()) {
    return Status::error("the label is missing");
  }
  if (Status s = featurize_fields(pipeline_, fields, x_); !s) return s;
  if (scored) predict_features(*scored);
  Target y;
  if (Status s = learning_target(label, y); !s) return s;
  if (as_target) *as_target = y;
  pipeline_.learn(x_, y);
  return Status::ok();
}

}  // namespace rtml::runtime
