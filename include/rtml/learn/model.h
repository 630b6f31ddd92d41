// Transformer and Model: the two roles a pipeline step plays. A pipeline of
// transformers ending in a model is itself usable as a model (see Pipeline).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rtml/core/binary_io.h"
#include "rtml/core/features.h"
#include "rtml/core/schema.h"
#include "rtml/core/target.h"
#include "rtml/learn/workspace.h"

namespace rtml {

// How many categories per column a pipeline keeps when nothing says otherwise (one_hot's
// max_categories, a tree's or forest's columns): enough for every column of the data sets
// rtml is measured on (the CTR set's largest has 30,748), and a bound on what a column of
// ids that never repeat can cost (about 100 bytes a category in the schema, more in the
// steps that keep per-category state).
inline constexpr size_t kDefaultMaxCategories = 100000;

// What a model says about one event. Storage is reused across events.
struct Prediction {
  // Regression: the predicted value. Binary classification: P(class 1).
  double value = 0.0;
  // Classification: the probability of each class index the model knows (it may know
  // fewer classes than the target has shown so far).
  std::vector<double> proba;
  // Classification: the most probable class; valid only when has_label is true (a
  // model that has learned nothing has no opinion).
  uint32_t label = 0;
  bool has_label = false;
  // Regression with a prediction interval (conformal): the value lies in [lower, upper]
  // with the interval's nominal confidence. Pipeline::predict clears has_interval before
  // the model predicts; only a model that gives intervals sets it.
  bool has_interval = false;
  double lower = 0.0, upper = 0.0;
};

// Another replica of a step, for averaging replicas of one pipeline that learned from
// different parts of a stream (Pipeline::average): the step (of the same kind as the one
// averaging), its weight (the events it learned from), and, for each feature index of the
// averaging pipeline's schema, the index of the same feature in the replica's schema
// (-1 where the replica has not seen it).
// The schemas let a step match categories by name too (a category's id is the order in
// which each replica met it).
template <typename Step>
struct Replica {
  const Step* step = nullptr;
  double weight = 0;
  const std::vector<int64_t>* index = nullptr;
  const Schema* own_schema = nullptr;  // the averaging pipeline's
  const Schema* schema = nullptr;      // the replica's
};

// One number averaged over a step (own, weighing own_weight) and its replicas (each
// weighing its events), get(step) reading it from a replica's step; own if nothing
// weighs anything.
template <typename Step, typename Get>
double replica_mean(double own, double own_weight, const std::vector<Replica<Step>>& others,
                    Get get) {
  double sum = own_weight * own, w = own_weight;
  for (const auto& r : others) {
    sum += r.weight * get(*r.step);
    w += r.weight;
  }
  return w > 0 ? sum / w : own;
}

// A step that maps features to features: a scaler, an encoder, a hasher.
//
// learn() is the only call that changes the step (its statistics, and the names it adds
// to the schema: an encoder's feature per category); transform() only reads, so a step
// that has stopped learning (a published snapshot) transforms on many threads at once.
// A name transform() has not been taught by learn() is left out: a category never
// learned has no weight to read anyway. Not thread-safe while learning.
class Transformer {
 public:
  virtual ~Transformer() = default;
  // The name the registry knows this step by, e.g. "standard_scaler".
  virtual std::string_view kind() const = 0;
  // Writes the transformed in to out (cleared first). Changes nothing.
  virtual void transform(const Features& in, Features& out, const Schema& schema) const = 0;
  // Updates the statistics this step keeps from one event, before it is transformed, and
  // adds to schema the names the event's transformation needs.
  virtual void learn(const Features& in, Schema& schema) {
    (void)in;
    (void)schema;
  }
  // Called once after load(), with the loaded schema: a step rebuilds the tables that
  // lead to names kept in the schema (not in its own file).
  virtual void restore(const Schema& schema) { (void)schema; }
  virtual void save(BinaryWriter& out) const { (void)out; }
  virtual void load(BinaryReader& in) { (void)in; }
  // Replaces this step's statistics by their average with others', weighted (own_weight
  // for this one's): see Replica. Returns false, changing nothing, for a step that cannot
  // be averaged; a step without statistics has nothing to do and returns true.
  virtual bool average(double own_weight, const std::vector<Replica<Transformer>>& others) {
    (void)own_weight;
    (void)others;
    return true;
  }
};

// A step that predicts and learns: the last step of a pipeline.
// Contract: predict() changes nothing in the model; learn() does.
// Thread safety: one thread drives a model (learn(), load(), predict(x, out)); while
// nothing learns, any number of threads may call predict(x, out, workspace) at once,
// each with its own workspace.
class Model {
 public:
  virtual ~Model() = default;
  virtual std::string_view kind() const = 0;
  // kBinary models need classes 0 and 1; kMulticlass ones take any class index.
  virtual Task task() const = 0;
  // Predicts for x with the caller's scratch (see Workspace).
  virtual void predict(const Features& x, Prediction& out, Workspace& workspace) const = 0;
  // Predicts for x with the model's own workspace: for the thread that drives the model.
  void predict(const Features& x, Prediction& out) { predict(x, out, own_workspace_); }
  // Learns from one event with its target and a sample weight.
  virtual void learn(const Features& x, const Target& y, double weight) = 0;
  virtual void save(BinaryWriter& out) const = 0;
  virtual void load(BinaryReader& in) = 0;
  // False for a model that learns without labels (an anomaly detector): rtml eval can
  // then run it without --target, writing a score per event.
  virtual bool needs_target() const { return true; }
  // True if the model reads categorical features itself (the recommenders), so that a
  // pipeline ending in it needs no encoder step.
  virtual bool uses_categories() const { return false; }
  // For a model that reads categories itself: how many categories per column the pipeline
  // keeps for it (Pipeline::add_category); later new ones are left out and counted.
  // kDefaultMaxCategories unless the model says otherwise: the recommenders keep every
  // user and item (SIZE_MAX: they are what it learns), models that ignore categories none
  // (0: nothing is kept, nothing counted).
  virtual size_t max_categories() const { return kDefaultMaxCategories; }
  // How many models this one holds once built out (1 for a single one; an ensemble its
  // members', built now or at its first event): the bound on what an expression may build
  // (ModelRecipe::check_members).
  virtual uint64_t members() const { return 1; }
  // Called by the pipeline once its schema exists (after building and after loading), so
  // that a model configured with column names resolves them to feature indices.
  virtual void bind(Schema& schema) { (void)schema; }
  // For a forecaster (a model of one time series, learned one value at a time as a
  // regression target: holt_winters, snarimax): writes the next `horizon` values of the
  // series to out (resized), one step ahead first, as they stand after the values learned
  // so far. Returns false, leaving out alone, for any other model. Changes nothing: like
  // predict(x, out, workspace), safe on many threads, each with its own workspace.
  virtual bool forecast(size_t horizon, std::vector<double>& out, Workspace& workspace) const {
    (void)horizon;
    (void)out;
    (void)workspace;
    return false;
  }
  // The same with the model's own workspace: for the thread that drives the model.
  bool forecast(size_t horizon, std::vector<double>& out) {
    return forecast(horizon, out, own_workspace_);
  }
  // Replaces the model's parameters by their average with others', weighted (see
  // Replica). Returns false, changing nothing, for a model whose parameters cannot be
  // averaged (the default: trees and forests grow different structures).
  virtual bool average(double own_weight, const std::vector<Replica<Model>>& others) {
    (void)own_weight;
    (void)others;
    return false;
  }

 protected:
  // The workspace of predict(x, out): a model may keep there what learn() can reuse from
  // the prediction just made on the same event (the forest does).
  Workspace& own_workspace() { return own_workspace_; }

 private:
  Workspace own_workspace_;
};

// Turns a binary probability into out's fields (label = 1 when p > 0.5).
void set_binary_prediction(double p_positive, Prediction& out);
// Sets out.label to the most probable class of out.proba (first one on ties).
void set_argmax_label(Prediction& out);
// Turns class votes (weights >= 0) in out.proba into probabilities and sets the label and
// value (P(class 1) for two classes, else the winner's probability); with no vote at all,
// no opinion (proba cleared, has_label false).
void set_votes_prediction(Prediction& out);

}  // namespace rtml
