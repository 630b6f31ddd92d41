// Runtime: the path of an event through rtml, the one unit every front end drives.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "rtml/core/features.h"
#include "rtml/core/row.h"
#include "rtml/core/status.h"
#include "rtml/core/target.h"
#include "rtml/learn/pipeline.h"
#include "rtml/learn/prediction_log.h"
#include "rtml/runtime/featurizer.h"
#include "rtml/runtime/field_featurizer.h"
#include "rtml/runtime/settle_prediction.h"
#include "rtml/store/embedded_store.h"

namespace rtml::runtime {

class RedisAggregates;

// Turns a decoded row into features, predicts on them, and learns: at once when the
// label comes with the event, or when it arrives later, from the features the prediction
// used (kept in a PredictionLog by event id), never from features recomputed then.
// `rtml eval` and `rtml run` drive it; `rtml serve` and the Python module are to drive
// the same unit (DESIGN.md: one path for an event).
//
// Not thread-safe: one thread drives a runtime and its pipeline.
class Runtime {
 public:
  struct Options {
    Featurizer::Roles roles;
    PredictionLog::Limits log;
  };
  // Features of the entity an event names in its field `key`, read from the store.
  struct Enrichment {
    std::string key;
    std::vector<std::string> features;
  };

  // pipeline must outlive the runtime.
  Runtime(Pipeline& pipeline, Options options);

  // Takes the source's columns past those it knows (a JSON Lines source adds columns as
  // it reads). Throws Error for a categorical column that nothing in the pipeline reads.
  void sync_columns(const std::vector<Column>& columns) {
    featurizer_.sync_columns(columns);
    columns_ = columns;
    find_enrich_columns();
  }

  // Reads the features `enrich` lists for each event, as the store held them at the
  // event's time (before the event's own update: no event sees its own future), and adds
  // them to the event's features under their names; update_store() then keeps the
  // store's aggregates up to date with the event. store must outlive the runtime.
  void use_store(store::EmbeddedStore* store, std::vector<Enrichment> enrich);
  // Reads the features `enrich` lists for each event from a store that keeps only their
  // latest values (Redis: features other writers keep), as they are when the event is
  // predicted on; update_store() then has nothing to do. store must outlive the runtime.
  // Errors of the store (Redis gone) propagate as Error.
  void read_latest_from(store::FeatureStore* store, std::vector<Enrichment> enrich);
  // Reads the features `enrich` lists that name one of aggregates' aggregates from it, as
  // they stood at the event's time (before the event's own update), and the others from
  // latest (features other writers keep; may be null if every feature is an aggregate);
  // update_store() then applies each event to aggregates, in Redis, where every worker
  // finds them. Both must outlive the runtime. Throws Error for a feature neither has.
  void share_aggregates(RedisAggregates* aggregates, store::FeatureStore* latest,
                        std::vector<Enrichment> enrich);
  // Applies the event's fields to the store's aggregates, under the event id (an event
  // applied again with the same id counts once). Refused with the store's reason; an
  // event that feeds no aggregate is not refused.
  // With dedup false the id only keys the event (an id the engine numbered, which a
  // later run would number again: not the event's identity).
  Status update_store(const Row& row, double time, std::string_view id, bool dedup = true);
  // Whether a classification target has exactly two classes (see Featurizer).
  void set_binary(bool binary) { featurizer_.set_binary(binary); }

  // An event whose label came with it (progressive validation): predicts into out, then
  // learns from y, the row's target. Refused (nothing learned) if the row has no usable
  // target. time is the event's, for enrichment. Inline: the hot path of rtml eval.
  Status predict_then_learn(const Row& row, Prediction& out, Target& y, double time = 0) {
    if (featurizer_.featurize(row, x_, reason_) != Featurizer::TargetState::kPresent) {
      return Status::error(reason_);
    }
    if (!enrich_.empty()) enrich(row, time);
    predict_features(out);
    // The target is read after the prediction (see Featurizer::target).
    if (featurizer_.target(y, reason_) != Featurizer::TargetState::kPresent) {
      return Status::error(reason_);
    }
    pipeline_.learn(x_, y);
    return Status::ok();
  }

  // Predicts into out and logs the features used under id, at event time `time`, for
  // label(). y receives the row's target if it has one (for scoring), and has_target
  // says whether it did. Refused for an unusable target, or a missing one if need_target
  // (nothing predicted), and for a repeated event id (nothing changed).
  // record (if any) is kept with the logged prediction and handed back by label().
  Status predict(const Row& row, EventId id, double time, bool need_target, Prediction& out,
                 Target& y, bool& has_target, std::string_view record = {});

  // Scores a row without logging anything: its features (enriched as predict() would)
  // are in last_features() until the next call, and nothing is learned. For a choice
  // among candidates: score each, then log_prediction() the one chosen. Refused for an
  // unusable target.
  // If y is not null it receives the row's target, and *has_target whether it had one.
  Status score(const Row& row, double time, Prediction& out, Target* y = nullptr,
               bool* has_target = nullptr) {
    featurizer_.featurize(row, x_, reason_);
    if (!enrich_.empty()) enrich(row, time);
    predict_features(out);
    Target target;
    auto state = featurizer_.target(target, reason_);
    if (state == Featurizer::TargetState::kBad) return Status::error(reason_);
    if (y) *y = target;
    if (has_target) *has_target = state == Featurizer::TargetState::kPresent;
    return Status::ok();
  }
  // Logs features x and prediction p under id at event time `time`, for label().
  // Refused for a repeated event id (nothing changed).
  Status log_prediction(EventId id, double time, const Features& x, const Prediction& p) {
    if (!log_.log(id, time, x, p)) return repeated(id);
    return Status::ok();
  }

  // An event given as named fields (a request's, see featurize_fields) and the
  // prediction p made for it elsewhere (by a published copy of the pipeline): its fields
  // are featurized here, in the learning thread's schema, and logged under id at event
  // time `time` for label(). Refused for a field the pipeline cannot read or a repeated
  // event id (nothing logged).
  Status log_fields(EventId id, double time, std::span<const EventField> fields,
                    const Prediction& p) {
    return log_fields(id, PredictionLog::hash_of(id), time, fields, p);
  }
  // As above, with id's PredictionLog::hash_of() already computed (by a caller that
  // prefetched its place in the log).
  Status log_fields(EventId id, uint64_t id_hash, double time, std::span<const EventField> fields,
                    const Prediction& p) {
    if (log_.knows(id, id_hash)) return repeated(id);
    if (Status s = featurize_fields(pipeline_, fields, x_); !s) return s;
    if (!log_.log(id, id_hash, time, x_, p)) return repeated(id);
    return Status::ok();
  }
  // Learns label for an event given as named fields, at once: predicts first into scored
  // if it is not null (progressive validation), then learns. Refused (nothing learned)
  // for a field the pipeline cannot read or an unusable label. An anomaly detector
  // learns without one (the label is ignored).
  Status learn_fields(std::span<const EventField> fields, const Value& label,
                      Prediction* scored = nullptr, Target* as_target = nullptr);
  // Predicts for an event given as named fields (Python's predict_one), changing nothing:
  // names and categories the pipeline has not learned are left out (featurize_known_fields).
  // Refused for a text field when no step reads categories.
  Status predict_fields(std::span<const EventField> fields, Prediction& out) {
    if (Status s = featurize_known_fields(pipeline_, fields, x_); !s) return s;
    predict_features(out);
    return Status::ok();
  }
  // Reads label (a class name or a number) as this runtime's target: a class is learned
  // now (a binary model refuses a third). For a front end that scores a prediction
  // before the label is learned (a simulated delay). Refused for an unusable label.
  Status target_of(const Value& label, Target& y) {
    if (label.kind == ValueKind::kMissing) return Status::error("the label is missing");
    if (featurizer_.target_of(label, y, reason_) != Featurizer::TargetState::kPresent) {
      return Status::error(reason_);
    }
    return Status::ok();
  }
  // Takes columns in place of those it knew (a batch of rows named otherwise than the
  // last): their roles and names bound again. Throws Error as sync_columns() does.
  void reset_columns(const std::vector<Column>& columns) {
    featurizer_.rebind(columns);
    columns_ = columns;
    find_enrich_columns();
  }
  // Learns label for a decoded row (a batch's, whose labels come apart from its rows),
  // without predicting. Refused (nothing learned) for an unusable label.
  // An anomaly detector learns without one (the label is ignored).
  Status learn_row(const Row& row, const Value& label, double time = 0) {
    featurizer_.featurize(row, x_, reason_);
    if (!enrich_.empty()) enrich(row, time);
    Target y;
    if (Status s = learning_target(label, y); !s) return s;
    pipeline_.learn(x_, y);
    return Status::ok();
  }

  // The label of the event logged under id, arriving at event time now: the pipeline
  // learns from the features that event was predicted with. Refused for an id with
  // nothing to learn from (unknown, expired, labelled before).
  // If scored is not null, it receives the prediction that event had and the label as
  // a Target (for a rolling metric).
  Status label(EventId id, const Target& y, double now, Prediction* scored = nullptr,
               std::string* record = nullptr);
  // The same with the label as read from a labels stream (a class name or a number).
  // A label refused for its id changes nothing (its class is not learned); an unusable
  // one (a third class for a binary model) uses its event up: that event is not learned.
  Status label(EventId id, const Value& label, double now, Prediction* scored = nullptr,
               Target* as_target = nullptr, std::string* record = nullptr);

  // Calls fn(name, value) for each enrichment feature read for the last event.
  template <class Fn>
  void for_each_enrichment(Fn&& fn) const {
    for (const auto& e : enrich_) {
      for (size_t i = 0; i < e.values.size(); ++i) fn(e.spec.features[i], e.values[i]);
    }
  }

  // The features of the last event predicted on, enrichment included.
  const Features& last_features() const { return x_; }
  const PredictionLog& log() const { return log_; }
  PredictionLog& log() { return log_; }
  Pipeline& pipeline() { return pipeline_; }
  // Called after the pipeline the runtime drives was replaced in place by another (a
  // reloaded snapshot, moved into the same object): the columns and the enrichment
  // features are bound to the new pipeline's schema. The prediction log keeps features
  // indexed in the old schema: only for a runtime that does not learn (a follower).
  void pipeline_replaced();

 private:
  // Predicts on x_ into out, settled (settle_prediction).
  [[gnu::always_inline]] void predict_features(Prediction& out) {
    pipeline_.predict(x_, out);
    if (names_classes_) settle_prediction(pipeline_, out);
  }

  struct Enricher {
    Enrichment spec;
    size_t column = SIZE_MAX;                 // of spec.key in columns_, once met
    std::vector<uint32_t> index;              // of each feature in the schema
    std::vector<store::FeatureValue> values;  // reused per event
    store::EmbeddedStore::AsOfPlan plan;      // the features, resolved once
    // share_aggregates: which features are aggregates (their indices, their positions
    // among the features) and which are read from the latest store.
    std::vector<uint32_t> aggregates, aggregate_at;
    std::vector<std::string> latest;
    std::vector<size_t> latest_at;
    std::vector<store::FeatureValue> part;  // reused per read
  };
  static Status repeated(EventId id);
  // The target an event learns from label: class 0 for an anomaly detector, which learns
  // without labels (as rtml eval has it), else target_of(label).
  Status learning_target(const Value& label, Target& y) {
    if (!pipeline_.model().needs_target()) {
      y = Target::of_class(0);
      return Status::ok();
    }
    return target_of(label, y);
  }
  // Enrichment from one of the two kinds of store (the other null).
  void set_enrichments(store::EmbeddedStore* as_of, store::FeatureStore* latest,
                       std::vector<Enrichment> enrich);
  // Learns y from a logged entry, handing back its prediction and record if asked.
  void learn_entry(const PredictionLog::Entry& e, const Target& y, Prediction* scored,
                   std::string* record);
  // Adds the enrichment features of row to x_.
  void enrich(const Row& row, double time);
  // Finds the key columns of the enrichments not found yet among columns_.
  void find_enrich_columns();

  Pipeline& pipeline_;
  bool names_classes_;  // a classifier whose class indices are its labels'
  Featurizer featurizer_;
  PredictionLog log_;
  Features x_;  // reused per event
  std::string reason_;
  std::vector<Column> columns_;
  store::EmbeddedStore* store_ = nullptr;
  store::FeatureStore* latest_ = nullptr;  // read_latest_from's store
  RedisAggregates* shared_ = nullptr;      // share_aggregates'
  std::vector<Enricher> enrich_;
  std::vector<EventField> fields_;  // reused per event
  store::EntityKey key_;            // reused per enrichment read
  store::EntityKey event_key_;      // reused per store update
};

}  // namespace rtml::runtime
