#include "python/py_evaluate.h"

#include <cstdio>
#include <optional>
#include <vector>

#include "python/py_csv.h"
#include "rtml/core/error.h"

namespace rtml::python {
namespace {

using MetricList = std::vector<PyMetric*>;

// "[1,000] Accuracy: 82.21%, F1: 77.71%", as River prints it.
void print_progress(uint64_t n, const MetricList& metrics) {
  std::string digits = std::to_string(n), grouped;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) grouped += ',';
    grouped += digits[i];
  }
  std::string line = "[" + grouped + "] ";
  for (size_t i = 0; i < metrics.size(); ++i) line += (i ? ", " : "") + metrics[i]->repr();
  py::print(line);
}

// The labels of the last `delay` events, by event number modulo delay, learned once
// their event is `delay` events old.
class DelayedLabels {
 public:
  explicit DelayedLabels(uint64_t delay) : delay_(delay) {}
  // Keeps event's target; learns the one that is now delay events old.
  Status add(runtime::Runtime& rt, uint64_t event, const Target& y) {
    Status s;
    if (event >= delay_) s = learn(rt, event - delay_);
    const size_t at = static_cast<size_t>(event % delay_);
    if (at == targets_.size()) {
      targets_.push_back(y);
    } else {
      targets_[at] = y;
    }
    return s;
  }
  // At the end of the stream: learns every label still waiting, oldest first.
  void finish(runtime::Runtime& rt, uint64_t events) {
    for (uint64_t e = events > delay_ ? events - delay_ : 0; e < events; ++e) (void)learn(rt, e);
  }

 private:
  Status learn(runtime::Runtime& rt, uint64_t event) {
    return rt.label(EventId::of_number(event), targets_[static_cast<size_t>(event % delay_)], 0.0);
  }
  uint64_t delay_;
  std::vector<Target> targets_;
};

// The position and type of the stream's target column, once the source knows it.
struct TargetColumn {
  size_t index = SIZE_MAX;
  ColumnType type = ColumnType::kNumeric;
  void find(const std::vector<Column>& columns, const std::string& name) {
    for (size_t i = 0; i < columns.size() && index == SIZE_MAX; ++i) {
      if (columns[i].name == name) {
        index = i;
        type = columns[i].type;
      }
    }
  }
  // The class type iter_csv gives the target's values: int for numbers.
  ClassType class_type() const {
    return type == ColumnType::kNumeric ? ClassType::kInteger : ClassType::kText;
  }
};

// Marks a stream busy while progressive_val_score reads it without the GIL.
class BusyStream {
 public:
  explicit BusyStream(PyCsvStream& s) : s_(s) { s_.set_busy(true); }
  ~BusyStream() { s_.set_busy(false); }

 private:
  PyCsvStream& s_;
};

// The stream's rows straight into the runtime, as rtml eval reads a file.
void score_rows(PyCsvStream& stream, PyModel& model, const MetricList& metrics, uint64_t delay,
                uint64_t print_every) {
  Pipeline& pipeline = model.pipeline();
  const bool labelled = pipeline.model().needs_target();
  runtime::Runtime::Options options;
  options.roles.target = stream.target();
  options.roles.drop.insert(stream.drop().begin(), stream.drop().end());
  options.log.max_entries = delay + 1;
  if (options.roles.target.empty() && (labelled || !metrics.empty())) {
    throw py::value_error("the stream has no target: iter_csv(path, target=...)");
  }
  RowSource& source = stream.source();
  BusyStream busy(stream);
  auto held = model.lock();
  const bool regression = pipeline.task() == Task::kRegression;
  TargetColumn target;
  target.find(source.columns(), stream.target());
  // The classes get the type iter_csv gives the target's values (the same model as a
  // loop over it learns); a JSON Lines source says it with its first rows.
  const bool classes = !regression && labelled;
  if (classes && target.index != SIZE_MAX) model.check_class_type(target.class_type());
  runtime::Runtime rt(pipeline, std::move(options));
  rt.set_binary(pipeline.task() == Task::kBinary);
  try {
    rt.sync_columns(source.columns());
  } catch (const Error& e) {
    throw py::value_error(e.what());
  }
  DelayedLabels delayed(delay > 0 ? delay : 1);
  Row row;
  Prediction out;
  Target y;
  bool has_target = false;
  size_t known_columns = source.columns().size();
  uint64_t event = 0;
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
            target.find(source.columns(), stream.target());
          }
          const Status st = delay == 0 ? rt.predict_then_learn(row, out, y)
                                       : rt.predict(row, EventId::of_number(event), 0.0, labelled,
                                                    out, y, has_target);
          if (!st) {
            // A row without a target is skipped, as rtml eval skips it; a target the
            // model cannot learn (a text for a regressor, a third class) is an error.
            if (target.index < row.values.size() &&
                row.values[target.index].kind != ValueKind::kMissing) {
              failure = "line " + std::to_string(row.line) + ": " + st.why();
              kind = PyExc_ValueError;
              break;
            }
            continue;
          }
          if (delay > 0) (void)delayed.add(rt, event, y);
          ++event;
          for (PyMetric* m : metrics) {
            if (labelled) {
              m->update_prediction(pipeline.labels(), out, y, regression);
            } else {
              m->update_score(pipeline.labels(), pipeline.reported_probability(out), y);
            }
          }
          model.count_learned();
          --until_print;
        }
        if (!more && delay > 0) delayed.finish(rt, event);
      } catch (const Error& e) {
        failure = e.what();
      }
    }
    if (!failure.empty()) {
      PyErr_SetString(kind, failure.c_str());
      throw py::error_already_set();
    }
    if (more && until_print == 0) print_progress(event, metrics);
  }
  if (classes && target.index != SIZE_MAX) model.check_class_type(target.class_type());
}

}  // namespace

py::object progressive_val_score(py::handle dataset, PyModel& model, py::object metric_object,
                                 uint64_t delay, uint64_t print_every) {
  // One metric, or several (River's Metrics: a list of them).
  MetricList metrics;
  if (py::isinstance<PyMetric>(metric_object)) {
    metrics.push_back(&metric_object.cast<PyMetric&>());
  } else {
    for (py::handle m : py::iter(metric_object)) {
      if (!py::isinstance<PyMetric>(m)) {
        throw py::value_error("a metric is one of rtml.metrics' (not a " + type_name(m) + ")");
      }
      metrics.push_back(&m.cast<PyMetric&>());
    }
  }
  const bool regression = model.pipeline().task() == Task::kRegression;
  const bool detector = model.is_anomaly_detector();
  for (PyMetric* metric : metrics) {
    if (detector && metric->requires_labels()) {
      throw py::value_error("'" + model.description() + "' is an anomaly detector: its score " +
                            "is measured with metrics.ROCAUC or metrics.LogLoss, not " +
                            metric->name());
    }
    if (metric->for_regression() != regression) {
      throw py::value_error("the metric " + metric->name() + " is for " +
                            (metric->for_regression() ? "regression" : "classification") +
                            ", the model '" + model.description() + "' is " +
                            (regression ? "a regressor" : "a classifier"));
    }
  }
  if (py::isinstance<PyCsvStream>(dataset)) {
    auto& stream = dataset.cast<PyCsvStream&>();
    if (stream.untouched()) {
      score_rows(stream, model, metrics, delay, print_every);
      return metric_object;
    }
  }
  Prediction out;
  uint64_t event = 0;
  DelayedLabels delayed(delay > 0 ? delay : 1);
  auto refused = [](const Status& s) { throw py::value_error(s.why()); };
  for (py::handle item : py::iter(dataset)) {
    if (!PyTuple_Check(item.ptr()) || PyTuple_GET_SIZE(item.ptr()) != 2) {
      throw py::value_error("the dataset yields " + type_name(item) +
                            "; progressive_val_score reads (x, y) pairs");
    }
    py::handle x = PyTuple_GET_ITEM(item.ptr(), 0), label = PyTuple_GET_ITEM(item.ptr(), 1);
    auto held = model.lock();
    runtime::Runtime& rt = model.runtime();
    const auto& fields = model.field_reader().read(x);
    Target y = Target::of_class(0);
    static const Value kNoLabel;
    const Value& v = detector ? kNoLabel : model.read_label(label);
    if (delay == 0) {
      // One featurization predicts and learns, as rtml eval's predict_then_learn.
      if (Status s = rt.learn_fields(fields, v, &out, &y); !s) refused(s);
    } else {
      if (Status s = rt.predict_fields(fields, out); !s) refused(s);
      if (!detector) {
        if (Status s = rt.target_of(v, y); !s) refused(s);
      }
      if (Status s = rt.log_fields(EventId::of_number(event), 0.0, fields, out); !s) refused(s);
      if (Status s = delayed.add(rt, event, y); !s) refused(s);
    }
    ++event;
    if (!detector) {
      for (PyMetric* m : metrics) {
        m->update_prediction(model.pipeline().labels(), out, y, regression);
      }
    } else if (!label.is_none()) {
      py::float_ score(model.pipeline().reported_probability(out));
      for (PyMetric* m : metrics) m->update(label, score);
    }
    model.count_learned();
    if (print_every > 0 && event % print_every == 0) print_progress(event, metrics);
  }
  if (delay > 0) {
    auto held = model.lock();
    delayed.finish(model.runtime(), event);
  }
  return metric_object;
}

}  // namespace rtml::python
