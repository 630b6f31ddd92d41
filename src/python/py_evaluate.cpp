#include "python/py_evaluate.h"

#include <cstdio>
#include <optional>

#include "python/py_csv.h"
#include "rtml/core/error.h"

namespace rtml::python {
namespace {

// "[1,000] Accuracy: 82.21%", as River prints it.
void print_progress(uint64_t n, const PyMetric& metric) {
  std::string digits = std::to_string(n), grouped;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) grouped += ',';
    grouped += digits[i];
  }
  py::print("[" + grouped + "] " + metric.repr());
}

// The stream's rows straight into the runtime, as rtml eval reads a file.
void score_rows(PyCsvStream& stream, PyModel& model, PyMetric& metric, uint64_t print_every) {
  Pipeline& pipeline = model.pipeline();
  runtime::Runtime::Options options;
  options.roles.target = stream.target();
  options.roles.drop.insert(stream.drop().begin(), stream.drop().end());
  if (pipeline.model().needs_target() && options.roles.target.empty()) {
    throw py::value_error("the stream has no target: iter_csv(path, target=...)");
  }
  RowSource& source = stream.source();
  auto held = model.lock();
  runtime::Runtime rt(pipeline, std::move(options));
  rt.set_binary(pipeline.task() == Task::kBinary);
  try {
    rt.sync_columns(source.columns());
  } catch (const Error& e) {
    throw py::value_error(e.what());
  }
  const bool regression = pipeline.task() == Task::kRegression;
  Row row;
  Prediction out;
  Target y;
  size_t known_columns = source.columns().size();
  uint64_t n = 0;
  bool more = true;
  while (more) {
    uint64_t until_print = print_every > 0 ? print_every : UINT64_MAX;
    std::string failure;
    PyObject* kind = PyExc_OSError;
    {
      py::gil_scoped_release release;
      try {
        while (until_print > 0 && (more = source.next(row))) {
          if (source.columns().size() != known_columns) {  // JSON Lines: a new key
            kind = PyExc_ValueError;
            rt.sync_columns(source.columns());
            kind = PyExc_OSError;
            known_columns = source.columns().size();
          }
          if (!rt.predict_then_learn(row, out, y)) continue;  // no usable target: skipped
          metric.update_prediction(pipeline.labels(), out, y, regression);
          model.count_learned();
          ++n;
          --until_print;
        }
      } catch (const Error& e) {
        failure = e.what();
      }
    }
    if (!failure.empty()) {
      PyErr_SetString(kind, failure.c_str());
      throw py::error_already_set();
    }
    if (more && until_print == 0) print_progress(n, metric);
  }
}

}  // namespace

py::object progressive_val_score(py::handle dataset, PyModel& model, py::object metric_object,
                                 uint64_t print_every) {
  auto& metric = metric_object.cast<PyMetric&>();
  const bool regression = model.pipeline().task() == Task::kRegression;
  if (metric.for_regression() != regression) {
    throw py::value_error("the metric " + metric.name() + " is for " +
                          (metric.for_regression() ? "regression" : "classification") +
                          ", the model '" + model.description() + "' is " +
                          (regression ? "a regressor" : "a classifier"));
  }
  if (py::isinstance<PyCsvStream>(dataset)) {
    auto& stream = dataset.cast<PyCsvStream&>();
    if (stream.untouched()) {
      score_rows(stream, model, metric, print_every);
      return metric_object;
    }
  }
  const bool detector = model.is_anomaly_detector();
  Prediction out;
  uint64_t n = 0;
  for (py::handle item : py::iter(dataset)) {
    if (!PyTuple_Check(item.ptr()) || PyTuple_GET_SIZE(item.ptr()) != 2) {
      throw py::value_error("the dataset yields " + type_name(item) +
                            "; progressive_val_score reads (x, y) pairs");
    }
    py::handle x = PyTuple_GET_ITEM(item.ptr(), 0), label = PyTuple_GET_ITEM(item.ptr(), 1);
    auto held = model.lock();
    runtime::Runtime& rt = model.runtime();
    const auto& fields = model.field_reader().read(x);
    if (Status s = rt.predict_fields(fields, out); !s) throw py::value_error(s.why());
    if (detector) {
      static const Value kNoLabel;
      if (Status s = rt.learn_fields(fields, kNoLabel); !s) throw py::value_error(s.why());
      model.count_learned();
      continue;
    }
    const Value& v = model.read_label(label);
    Target y;
    if (Status s = rt.learn_fields(fields, v, nullptr, &y); !s) throw py::value_error(s.why());
    metric.update_prediction(model.pipeline().labels(), out, y, regression);
    model.count_learned();
    if (print_every > 0 && ++n % print_every == 0) print_progress(n, metric);
  }
  return metric_object;
}

}  // namespace rtml::python
