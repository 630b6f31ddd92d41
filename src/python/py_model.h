// PyModel: a pipeline as Python drives it, one event (learn_one, predict_one) or a batch
// (learn_many, predict_many) at a time, through the runtime's path for an event.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "python/py_convert.h"
#include "rtml/learn/cluster/clusterer.h"
#include "rtml/learn/pipeline.h"
#include "rtml/runtime/runtime.h"

namespace rtml::python {

// The model's lock for one call: released (and its owner forgotten) on destruction.
class ModelLock {
 public:
  ModelLock(std::mutex& mu, std::atomic<std::thread::id>& owner) : mu_(&mu), owner_(&owner) {}
  ModelLock(ModelLock&& o) noexcept : mu_(o.mu_), owner_(o.owner_) { o.mu_ = nullptr; }
  ModelLock& operator=(ModelLock&&) = delete;
  ~ModelLock() {
    if (mu_) {
      owner_->store(std::thread::id(), std::memory_order_relaxed);
      mu_->unlock();
    }
  }

 private:
  std::mutex* mu_;
  std::atomic<std::thread::id>* owner_;
};

// The object behind rtml.Pipeline and every model step class.
//
// Thread safety: the methods may be called from any Python thread. A batch releases the
// GIL while C++ works; the model's own lock then keeps other threads' calls on the same
// object waiting (without the GIL) until it is done, so they never see it half-changed.
class PyModel {
 public:
  // Builds the pipeline of expression; ValueError for an unknown step or parameter.
  explicit PyModel(const std::string& expression);
  // The pipeline to_bytes() wrote (pickle); ValueError for damaged bytes.
  static std::unique_ptr<PyModel> from_bytes(const py::bytes& state);
  // A file save() wrote, or `rtml eval --save`; OSError naming the file otherwise.
  static std::unique_ptr<PyModel> load(const std::string& path);

  // River's verbs. x is a dict of features; y a class (str, bool, int, float) or a
  // number for a regressor, None for an anomaly detector. ValueError for a bad value.
  void learn_one(py::handle x, py::handle y);
  // The most probable class (None before the model has one), a regressor's value.
  py::object predict_one(py::handle x);
  // Class to probability, for the classes the model knows (River's dict).
  py::dict predict_proba_one(py::handle x);
  // An anomaly detector's score: P(anomaly), in [0, 1].
  double score_one(py::handle x);
  // learn_one() and predict_proba_one() for a transformer-only step (Python's
  // Transformer): its statistics and its output as a dict of name to value.
  void learn_transforms_one(py::handle x);
  py::dict transform_one(py::handle x);

  // A batch as columns (1-D numpy arrays, float64 or object) named by names, and its
  // labels (a 1-D array, or None for an anomaly detector). Without a Python call per
  // row; the GIL is released when every column and the labels are numeric.
  void learn_many(const py::list& names, const py::list& columns, py::handle y);
  // Classes (a list; None where the model has no opinion) or values (float64 array).
  py::object predict_many(const py::list& names, const py::list& columns);
  // Probabilities, rows by classes() (float64 array of shape (rows, classes)); an anomaly
  // detector's scores (one column).
  py::array_t<double> predict_proba_many(const py::list& names, const py::list& columns);

  // Writes the pipeline to path atomically (the CLI's file); OSError on failure.
  void save(const std::string& path);
  py::bytes to_bytes();

  // The expression with every parameter written out.
  std::string description() const { return pipeline_->description(); }
  // "binary", "multiclass" or "regression".
  std::string task() const { return std::string(task_name(pipeline_->task())); }
  bool is_anomaly_detector() const { return !pipeline_->model().needs_target() && !is_clusterer(); }
  // A clusterer learns without labels too, but predicts: a cluster id.
  bool is_clusterer() const { return as_clusterer(pipeline_->model()) != nullptr; }
  // The classes learned so far, in their index order, as the values they were given as.
  py::list classes();
  // Events learned through this object (not counted in a saved file).
  uint64_t learned() const { return learned_; }
  // For a regressor: (lower, upper) of its prediction interval for x (conformal gives
  // one), or None while it has none.
  py::object predict_interval_one(py::handle x);
  // For a forecaster (holt_winters, snarimax): the next `horizon` values of the series.
  // Raises ValueError for any other model.
  std::vector<double> forecast(size_t horizon);
  // For a recommender: the k best items for user, as (item, score) pairs.
  std::vector<std::pair<std::string, double>> recommend(const std::string& user, size_t k);

  // For progressive_val_score: the runtime (one path for an event) and the objects it
  // reuses. The caller holds lock() while it uses them. lock() waits (without the GIL)
  // for another thread's call; called again from inside a call of the same thread (a
  // value's __float__ or __del__ that uses the model), it raises ValueError instead of
  // waiting for itself.
  runtime::Runtime& runtime() { return *runtime_; }
  Pipeline& pipeline() { return *pipeline_; }
  ModelLock lock();
  FieldReader& field_reader() { return fields_; }
  // The Python value of class index c (cached; None for a class not named yet).
  py::object class_object(uint32_t c);
  // Reads y as this model's label, checking its type against the classes'.
  const Value& read_label(py::handle y);
  // Takes type as the classes' type if the model has none yet; ValueError if its classes
  // are of another type.
  void check_class_type(ClassType type);
  void count_learned() { ++learned_; }

 private:
  explicit PyModel(Pipeline pipeline);
  // The batch's rows: values per column, numeric ones readable without the GIL.
  struct Batch;
  Batch read_batch(const py::list& names, const py::list& columns);
  // Binds the runtime to the batch's columns unless it is bound to them already.
  // ValueError for a column nothing in the pipeline can read.
  void bind_columns(const Batch& b);
  // Predicts on each row of b through the runtime, calling on_row(i, prediction); the
  // GIL is released for numeric batches. ValueError naming the first row refused.
  template <class OnRow>
  void score_batch(const Batch& b, OnRow on_row);

  std::unique_ptr<Pipeline> pipeline_;  // the runtime holds its address
  std::unique_ptr<runtime::Runtime> runtime_;
  std::mutex mu_;
  std::atomic<std::thread::id> owner_{};  // the thread holding mu_, if any
  FieldReader fields_;
  LabelReader label_;
  Prediction out_;
  Features x_;                             // a transformer step's input, reused
  std::vector<py::object> class_objects_;  // by class index
  std::vector<Column> batch_columns_;      // the columns the runtime knows
  uint64_t learned_ = 0;
};

}  // namespace rtml::python
