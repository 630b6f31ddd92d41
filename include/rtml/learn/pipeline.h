// Pipeline: transformers followed by a model, with the schema and the class labels
// they share, usable as one model and saved as one file.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rtml/core/labels.h"
#include "rtml/core/row.h"
#include "rtml/core/schema.h"
#include "rtml/learn/model.h"
#include "rtml/learn/registry.h"

namespace rtml {

class FeatureHasher;

// A pipeline such as "standard_scaler | logistic_regression(lr=0.005)".
//
// Learning follows River: in learn(), each transformer first updates its statistics
// with the event and then transforms it, and the model learns from the result. In
// predict(), transformers use the statistics they have and change nothing.
//
// Only learning changes a pipeline (its statistics, and its schema as names appear):
// the const predict() with a workspace per thread may run on many threads at once while
// no thread learns, which is how a published copy (clone()) serves. Otherwise one
// thread drives a pipeline.
class Pipeline {
 public:
  // Builds the steps of expression. Throws Error for an unknown step or parameter (the
  // message lists the valid ones) or when the last step is not a model.
  explicit Pipeline(std::string_view expression);
  // The same from an expression already parsed (parse_expression), e.g. to vary one
  // parameter over several runs.
  explicit Pipeline(const std::vector<StepSpec>& steps);
  Pipeline(Pipeline&&) noexcept;
  Pipeline& operator=(Pipeline&&) noexcept;
  ~Pipeline();

  // Reads a pipeline saved by save(). Throws Error naming the file if it is missing,
  // not a pipeline file, of a newer version, corrupt or truncated.
  static Pipeline load(const std::string& path);
  // Writes the whole pipeline (steps, their state, schema, labels) atomically.
  void save(const std::string& path) const;
  // A copy that predicts and learns as this one would from here on (through save and
  // load in memory).
  Pipeline clone() const;
  // The pipeline as bytes (what save() writes, without the file's frame), and the
  // reverse: for replicas exchanging their state through a store. from_bytes throws
  // Error naming source for bytes of another format version or damaged ones.
  std::string to_bytes() const;
  static Pipeline from_bytes(std::string bytes, const std::string& source);

  // Averages this pipeline with other replicas of it (the same description), each step's
  // statistics and parameters weighted by the events each replica learned (own_weight
  // for this one); features are matched by name. Changes nothing and throws Error if a
  // step cannot be averaged (trees and forests) or the replicas differ in their steps.
  void average(double own_weight, const std::vector<std::pair<const Pipeline*, double>>& others);

  // The expression with every parameter written out, defaults included.
  const std::string& description() const { return description_; }
  // The task of the final model.
  Task task() const { return model_->task(); }
  // True if some step turns categorical features into numbers (one_hot, feature_hasher)
  // or the model reads them itself (a recommender): otherwise models see only the
  // numeric features.
  bool encodes_categories() const;

  // Adds category `value` of input column `column` to x as add_category() would, without
  // changing anything: a category the schema has not seen is left out (uncounted). For
  // threads that predict from a pipeline no thread learns into.
  void add_known_category(Features& x, uint32_t column, std::string_view value) const;
  // Adds category `value` of input column `column` (its schema index) to x, the way this
  // pipeline reads categories, decided from its steps when it was built:
  //  - hashed, when a feature_hasher is the first step to read categories: x gets
  //    category_hash(column key, value) under its seed (Features::add_hashed_category),
  //    the hash the hasher would give the category itself, and nothing is kept per category, so a
  //    hashed space costs 2^bits whatever the stream;
  //  - interned in the schema when one_hot is the first (at most its max_categories per
  //    column) or the model reads categories itself (at most Model::max_categories());
  //    a new category past the limit is left out and counted (dropped_categories());
  //  - left out, uncounted, when nothing reads categories (Model::max_categories() 0).
  // Allocates nothing for a known category, nor, hashed, once the column's longest value
  // has been seen.
  void add_category(Features& x, uint32_t column, std::string_view value);
  // New categories left out by add_category because their column was full.
  uint64_t dropped_categories() const { return dropped_categories_; }
  // The most categories per column add_category keeps (SIZE_MAX: no limit, 0 when
  // categories are hashed or ignored).
  size_t category_limit() const { return category_limit_; }

  Schema& schema() { return schema_; }
  const Schema& schema() const { return schema_; }
  Labels& labels() { return labels_; }
  const Labels& labels() const { return labels_; }
  // What a classifier's prediction reports as its probability: for a target of at most
  // two classes, that of the positive class (labels().positive(), which need not be
  // class 1: classes are numbered as they come); otherwise, and for an anomaly
  // detector's score, p.value.
  double reported_probability(const Prediction& p) const {
    if (labels_.size() > 2 || p.proba.size() != 2 || !model_->needs_target()) return p.value;
    return p.proba[labels_.positive()];
  }
  // The types of the input columns, kept with the model so that a reloaded pipeline
  // reads new data the same way.
  std::map<std::string, ColumnType, std::less<>>& input_types() { return input_types_; }

  // Predicts for x without changing anything, with the caller's scratch: safe on many
  // threads at once, each with its own workspace, while no thread learns.
  void predict(const Features& x, Prediction& out, Workspace& workspace) const;
  // The same with the pipeline's own scratch: for the thread that drives it.
  void predict(const Features& x, Prediction& out);
  void learn(const Features& x, const Target& y, double weight = 1.0);
  // predict() then learn() on one event: progressive validation's step.
  void predict_then_learn(const Features& x, const Target& y, Prediction& out, double weight = 1.0);

  // The transformers alone, for a front end that offers them as steps of their own
  // (Python's learn_one and transform_one on a scaler): learn_transforms() updates their
  // statistics from x as learn() does, without the model, and transform() only reads.
  // Both return what the model would be given, valid until the next call. For the thread
  // that drives the pipeline.
  const Features& learn_transforms(const Features& x);
  const Features& transform(const Features& x) { return run_transforms(x); }

  Model& model() { return *model_; }
  const Model& model() const { return *model_; }

  // For a pipeline ending in a recommender (funk_mf, biased_mf, fm with item=...): the k
  // items with the highest predicted rating or click probability for user (a value of
  // the model's user column), best first, as (item, score). A user the model has not
  // seen gets the items that score best without a user (their biases); its name joins
  // the schema's categories. Throws Error if the model is not a recommender.
  std::vector<std::pair<std::string, double>> recommend(std::string_view user, size_t k);

 private:
  Pipeline() = default;
  void build(const std::vector<StepSpec>& steps);
  // The pipeline as save() writes it, and the reverse (which throws Error naming source).
  void write(BinaryWriter& out) const;
  static Pipeline read(BinaryReader& in, const std::string& source);
  // Runs the transformers on x; stages_[i] is the input of step i. Returns the model's input.
  const Features& run_transforms(const Features& x);

  std::string description_;
  std::vector<std::unique_ptr<Transformer>> transformers_;
  std::unique_ptr<Model> model_;
  Schema schema_;
  Labels labels_;
  std::map<std::string, ColumnType, std::less<>> input_types_;
  std::vector<Features> stages_;  // outputs of each transformer, reused

  // How add_category reads categories (set by build()).
  // kHashedLegacy: hashed as model files before version 4 did ("column=value").
  enum class CategoryReading : uint8_t { kHashed, kHashedLegacy, kInterned, kIgnored };
  CategoryReading category_reading_ = CategoryReading::kIgnored;
  size_t category_limit_ = 0;
  // Hashed: the feature_hasher that reads categories (one of transformers_).
  const FeatureHasher* hasher_ = nullptr;
  uint64_t dropped_categories_ = 0;
  // Hashed: per column, its category_column_key, computed on first use.
  struct ColumnKey {
    uint64_t key = 0;
    bool set = false;
  };
  std::vector<ColumnKey> column_keys_;
  std::string legacy_buffer_;  // hashed the legacy way: "name=value", reused
};

}  // namespace rtml
