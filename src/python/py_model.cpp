#include "python/py_model.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <deque>
#include <optional>

#include "rtml/core/error.h"
#include "rtml/core/excerpt.h"
#include "rtml/runtime/settle_prediction.h"

namespace rtml::python {
namespace {

[[noreturn]] void refuse(const Status& s) { throw py::value_error(s.why()); }

const char* class_type_name(ClassType t) {
  switch (t) {
    case ClassType::kBool:
      return "bool";
    case ClassType::kInteger:
      return "int";
    case ClassType::kFloat:
      return "float";
    case ClassType::kText:
      break;
  }
  return "str";
}

// Refuses a label of another type than the classes the model has learned: a model
// hands back the type it was given, so it must be given one.
void check_type(Labels& labels, ClassType t) {
  if (labels.size() == 0) {
    labels.set_class_type(t);
    return;
  }
  if (labels.class_type() == t) return;
  throw py::value_error(std::string("the label is a ") + class_type_name(t) +
                        ", but the model's classes are " + class_type_name(labels.class_type()) +
                        " (such as '" + excerpt(labels.name(0), 40) +
                        "'): give the labels of one model one type");
}

}  // namespace

// The rows of a batch: numeric columns read in place from their arrays (no GIL needed),
// object columns converted up front (with the GIL, which then stays held).
struct PyModel::Batch {
  struct Col {
    const char* base = nullptr;  // float64 column
    py::ssize_t stride = 0;
    std::vector<Value> cells;  // object column, texts pointing into its str objects
    bool object = false;
  };
  std::vector<Column> columns;
  std::vector<Col> cols;
  std::vector<py::object> keep;  // the arrays, alive while the batch is
  size_t rows = 0;
  bool numeric = true;

  void fill(size_t i, Row& row) const {
    for (size_t j = 0; j < cols.size(); ++j) {
      const Col& c = cols[j];
      if (c.object) {
        row.values[j] = c.cells[i];
      } else {
        double v;
        std::memcpy(&v, c.base + static_cast<py::ssize_t>(i) * c.stride, sizeof v);
        row.values[j] = std::isfinite(v) ? Value{ValueKind::kNumber, v, {}} : Value{};
      }
    }
  }
};

namespace {

// A batch's labels: a numeric array read in place, or values converted up front.
struct LabelColumn {
  enum Kind { kNone, kFloat64, kInt64, kBool, kValues } kind = kNone;
  const char* base = nullptr;
  py::ssize_t stride = 0;
  bool regression = false;
  std::vector<Value> values;
  std::deque<std::string> texts;  // storage of converted class names

  // The label of row i; buf (32 bytes) holds a class name made here.
  Value at(size_t i, char* buf) const {
    const char* p = base + static_cast<py::ssize_t>(i) * stride;
    switch (kind) {
      case kNone:
        return Value{};
      case kValues:
        return values[i];
      case kFloat64: {
        double v;
        std::memcpy(&v, p, sizeof v);
        if (regression) return Value{ValueKind::kNumber, v, {}};
        if (!std::isfinite(v)) return Value{};  // refused as missing
        return Value{ValueKind::kText, 0, {buf, python_float_text(v, buf)}};
      }
      case kInt64: {
        int64_t v;
        std::memcpy(&v, p, sizeof v);
        if (regression) return Value{ValueKind::kNumber, static_cast<double>(v), {}};
        return Value{ValueKind::kText,
                     0,
                     {buf, static_cast<size_t>(std::to_chars(buf, buf + 32, v).ptr - buf)}};
      }
      case kBool: {
        const bool v = *p != 0;
        if (regression) return Value{ValueKind::kNumber, v ? 1.0 : 0.0, {}};
        return Value{ValueKind::kText, 0, v ? "True" : "False"};
      }
    }
    return Value{};
  }
};

}  // namespace

PyModel::PyModel(const std::string& expression) : PyModel(Pipeline(expression)) {}

PyModel::PyModel(Pipeline pipeline) : pipeline_(std::make_unique<Pipeline>(std::move(pipeline))) {
  runtime::Runtime::Options options;
  runtime_ = std::make_unique<runtime::Runtime>(*pipeline_, std::move(options));
  runtime_->set_binary(pipeline_->task() == Task::kBinary);
}

std::unique_ptr<PyModel> PyModel::from_bytes(const py::bytes& state) {
  return std::unique_ptr<PyModel>(
      new PyModel(Pipeline::from_bytes(std::string(state), "the pickled rtml model")));
}

std::unique_ptr<PyModel> PyModel::load(const std::string& path) {
  try {
    return std::unique_ptr<PyModel>(new PyModel(Pipeline::load(path)));
  } catch (const Error& e) {
    PyErr_SetString(PyExc_OSError, e.what());
    throw py::error_already_set();
  }
}

ModelLock PyModel::lock() {
  if (owner_.load(std::memory_order_relaxed) == std::this_thread::get_id()) {
    throw py::value_error(
        "the model is busy with a call of this thread: it was called again from inside that "
        "call (by a value's __float__, __str__ or __del__)");
  }
  if (!mu_.try_lock()) {
    // Another thread works on a batch without the GIL: wait without it too.
    py::gil_scoped_release release;
    mu_.lock();
  }
  owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  return ModelLock(mu_, owner_);
}

py::object PyModel::class_object(uint32_t c) {
  const Labels& labels = pipeline_->labels();
  if (c >= labels.size() || labels.name(c).empty()) return py::none();
  if (class_objects_.size() <= c) class_objects_.resize(labels.size());
  if (!class_objects_[c]) class_objects_[c] = class_value(labels.name(c), labels.class_type());
  return class_objects_[c];
}

void PyModel::check_class_type(ClassType type) { check_type(pipeline_->labels(), type); }

const Value& PyModel::read_label(py::handle y) {
  const bool regression = pipeline_->task() == Task::kRegression;
  ClassType type;
  const Value& v = label_.read(y, regression, type);
  if (!regression) check_type(pipeline_->labels(), type);
  return v;
}

void PyModel::learn_one(py::handle x, py::handle y) {
  auto held = lock();
  const auto& fields = fields_.read(x);
  static const Value kNoLabel;
  const Value& label = pipeline_->model().needs_target() ? read_label(y) : kNoLabel;
  if (Status s = runtime_->learn_fields(fields, label); !s) refuse(s);
  ++learned_;
}

py::object PyModel::predict_one(py::handle x) {
  auto held = lock();
  if (is_anomaly_detector()) {
    throw py::value_error("'" + std::string(pipeline_->model().kind()) +
                          "' is an anomaly detector: score_one(x) gives its score");
  }
  if (Status s = runtime_->predict_fields(fields_.read(x), out_); !s) refuse(s);
  if (pipeline_->task() == Task::kRegression) return py::float_(out_.value);
  if (!out_.has_label) return py::none();
  if (is_clusterer()) return py::int_(out_.label);
  return class_object(out_.label);
}

py::object PyModel::predict_interval_one(py::handle x) {
  auto held = lock();
  if (pipeline_->task() != Task::kRegression) {
    throw py::value_error("'" + std::string(pipeline_->model().kind()) +
                          "' is not a regressor: intervals are for regressors (conformal)");
  }
  if (Status s = runtime_->predict_fields(fields_.read(x), out_); !s) refuse(s);
  if (!out_.has_interval) return py::none();
  return py::make_tuple(out_.lower, out_.upper);
}

py::dict PyModel::predict_proba_one(py::handle x) {
  auto held = lock();
  if (pipeline_->task() == Task::kRegression || is_anomaly_detector()) {
    throw py::value_error("'" + std::string(pipeline_->model().kind()) + "' is not a classifier: " +
                          (is_anomaly_detector() ? "score_one(x)" : "predict_one(x)") +
                          " gives its prediction");
  }
  if (Status s = runtime_->predict_fields(fields_.read(x), out_); !s) refuse(s);
  py::dict d;
  const size_t n = std::min(out_.proba.size(), pipeline_->labels().size());
  for (uint32_t c = 0; c < n; ++c) {
    py::object k = class_object(c);
    if (!k.is_none()) d[k] = py::float_(out_.proba[c]);
  }
  return d;
}

double PyModel::score_one(py::handle x) {
  auto held = lock();
  if (!is_anomaly_detector()) {
    throw py::value_error("'" + std::string(pipeline_->model().kind()) +
                          "' is not an anomaly detector: predict_one(x) gives its prediction");
  }
  if (Status s = runtime_->predict_fields(fields_.read(x), out_); !s) refuse(s);
  return pipeline_->reported_probability(out_);
}

void PyModel::learn_transforms_one(py::handle x) {
  auto held = lock();
  if (Status s = runtime::featurize_fields(*pipeline_, fields_.read(x), x_); !s) refuse(s);
  pipeline_->learn_transforms(x_);
  ++learned_;
}

py::dict PyModel::transform_one(py::handle x) {
  auto held = lock();
  if (Status s = runtime::featurize_known_fields(*pipeline_, fields_.read(x), x_); !s) refuse(s);
  const Features& out = pipeline_->transform(x_);
  py::dict d;
  const Schema& schema = pipeline_->schema();
  for (const Feature& v : out.numbers()) d[py::str(feature_name(schema, v.index))] = v.value;
  for (const Category& c : out.categories()) {
    d[py::str(schema.name(c.column))] = py::str(schema.category_name(c.column, c.id));
  }
  return d;
}

PyModel::Batch PyModel::read_batch(const py::list& names, const py::list& columns) {
  if (names.size() != columns.size()) {
    throw py::value_error("a batch needs one name per column: " + std::to_string(names.size()) +
                          " names, " + std::to_string(columns.size()) + " columns");
  }
  Batch b;
  for (size_t j = 0; j < columns.size(); ++j) {
    const std::string name = py::str(names[j]).cast<std::string>();
    if (!py::isinstance<py::array>(columns[j])) {
      throw py::type_error("column '" + excerpt(name) + "' is a " + type_name(columns[j]) +
                           ", not a numpy array");
    }
    auto a = py::reinterpret_borrow<py::array>(columns[j]);
    if (a.ndim() != 1) throw py::value_error("column '" + excerpt(name) + "' is not 1-D");
    const size_t n = static_cast<size_t>(a.shape(0));
    if (j == 0) b.rows = n;
    if (n != b.rows) {
      throw py::value_error("column '" + excerpt(name) + "' has " + std::to_string(n) +
                            " rows, the first has " + std::to_string(b.rows));
    }
    Batch::Col c;
    Column column{name, ColumnType::kNumeric};
    const char kind = a.dtype().kind();
    if (kind == 'f' && a.itemsize() == 8) {
      c.base = static_cast<const char*>(a.data());
      c.stride = a.strides(0);
    } else if (kind == 'O') {
      c.object = true;
      b.numeric = false;
      c.cells.resize(n);
      for (size_t i = 0; i < n; ++i) {
        py::handle v(*reinterpret_cast<PyObject* const*>(
            static_cast<const char*>(a.data()) + static_cast<py::ssize_t>(i) * a.strides(0)));
        if (v.is_none()) continue;
        if (PyUnicode_Check(v.ptr())) {
          Py_ssize_t len = 0;
          const char* s = PyUnicode_AsUTF8AndSize(v.ptr(), &len);
          if (!s) throw py::error_already_set();
          c.cells[i] = Value{ValueKind::kText, 0, {s, static_cast<size_t>(len)}};
          column.type = ColumnType::kCategorical;
          continue;
        }
        double d = PyFloat_AsDouble(v.ptr());
        if (d == -1.0 && PyErr_Occurred()) {
          PyErr_Clear();
          throw py::value_error("column '" + excerpt(name) + "', row " + std::to_string(i) +
                                ": a " + type_name(v) +
                                "; a feature is a number, a str (a category), a bool or None");
        }
        if (std::isfinite(d)) c.cells[i] = Value{ValueKind::kNumber, d, {}};
      }
    } else {
      throw py::type_error("column '" + excerpt(name) + "' has dtype " +
                           py::str(a.dtype()).cast<std::string>() +
                           "; a batch's columns are float64 or object");
    }
    b.keep.push_back(a);
    b.cols.push_back(std::move(c));
    b.columns.push_back(std::move(column));
  }
  return b;
}

void PyModel::learn_many(const py::list& names, const py::list& columns, py::handle y) {
  Batch b = read_batch(names, columns);
  const bool regression = pipeline_->task() == Task::kRegression;
  LabelColumn labels;
  labels.regression = regression;
  py::object y_keep;
  if (pipeline_->model().needs_target()) {
    if (!py::isinstance<py::array>(y)) throw py::type_error("the labels are not a numpy array");
    auto a = py::reinterpret_borrow<py::array>(y);
    y_keep = a;
    if (a.ndim() != 1 || static_cast<size_t>(a.shape(0)) != b.rows) {
      throw py::value_error("the labels must be 1-D with one per row (" + std::to_string(b.rows) +
                            " rows)");
    }
    const char kind = a.dtype().kind();
    labels.base = static_cast<const char*>(a.data());
    labels.stride = a.strides(0);
    auto held = lock();  // the classes' type is the model's
    Labels& known = pipeline_->labels();
    if (kind == 'f' && a.itemsize() == 8) {
      labels.kind = LabelColumn::kFloat64;
      if (!regression) check_type(known, ClassType::kFloat);
    } else if (kind == 'i' && a.itemsize() == 8) {
      labels.kind = LabelColumn::kInt64;
      if (!regression) check_type(known, ClassType::kInteger);
    } else if (kind == 'b' && a.itemsize() == 1) {
      labels.kind = LabelColumn::kBool;
      if (!regression) check_type(known, ClassType::kBool);
    } else if (kind == 'O') {
      labels.kind = LabelColumn::kValues;
      b.numeric = false;
      labels.values.resize(b.rows);
      for (size_t i = 0; i < b.rows; ++i) {
        py::handle v(*reinterpret_cast<PyObject* const*>(labels.base + static_cast<py::ssize_t>(i) *
                                                                           labels.stride));
        const Value& read = read_label(v);
        labels.values[i] = read;
        if (read.kind == ValueKind::kText) {
          labels.texts.emplace_back(read.text);
          labels.values[i].text = labels.texts.back();
        }
      }
    } else {
      throw py::type_error("the labels have dtype " + py::str(a.dtype()).cast<std::string>() +
                           "; they are float64, int64, bool or object");
    }
  }

  auto held = lock();
  bind_columns(b);
  std::string refused;
  size_t at = 0;
  {
    std::optional<py::gil_scoped_release> release;
    if (b.numeric) release.emplace();
    Row row;
    row.values.resize(b.cols.size());
    char buf[32];
    for (; at < b.rows; ++at) {
      b.fill(at, row);
      const Value label = labels.at(at, buf);
      if ((regression && label.kind == ValueKind::kNumber && !std::isfinite(label.number)) ||
          (labels.kind == LabelColumn::kFloat64 && label.kind == ValueKind::kMissing)) {
        refused = "the label is not a finite number";
        break;
      }
      if (Status s = runtime_->learn_row(row, label); !s) {
        refused = s.why();
        break;
      }
      ++learned_;
    }
  }
  if (!refused.empty()) {
    throw py::value_error("row " + std::to_string(at) + ": " + refused + " (the " +
                          std::to_string(at) + " rows before it were learned)");
  }
}

void PyModel::bind_columns(const Batch& b) {
  // Batches named alike (a stream of them) bind their columns once.
  if (std::equal(
          b.columns.begin(), b.columns.end(), batch_columns_.begin(), batch_columns_.end(),
          [](const Column& p, const Column& q) { return p.name == q.name && p.type == q.type; })) {
    return;
  }
  try {
    runtime_->reset_columns(b.columns);
    batch_columns_ = b.columns;
  } catch (const Error& e) {
    batch_columns_.clear();
    throw py::value_error(e.what());
  }
}

template <class OnRow>
void PyModel::score_batch(const Batch& b, OnRow on_row) {
  bind_columns(b);
  std::string refused;
  {
    std::optional<py::gil_scoped_release> release;
    if (b.numeric) release.emplace();
    Row row;
    row.values.resize(b.cols.size());
    for (size_t i = 0; i < b.rows; ++i) {
      b.fill(i, row);
      if (Status s = runtime_->score(row, 0, out_); !s) {
        refused = "row " + std::to_string(i) + ": " + s.why();
        break;
      }
      on_row(i, out_);
    }
  }
  if (!refused.empty()) throw py::value_error(refused);
}

py::object PyModel::predict_many(const py::list& names, const py::list& columns) {
  if (is_anomaly_detector()) {
    throw py::value_error("'" + std::string(pipeline_->model().kind()) +
                          "' is an anomaly detector: score_many(X) gives its scores");
  }
  Batch b = read_batch(names, columns);
  auto held = lock();
  if (pipeline_->task() == Task::kRegression) {
    py::array_t<double> values(static_cast<py::ssize_t>(b.rows));
    double* v = values.mutable_data();
    score_batch(b, [&](size_t i, const Prediction& p) { v[i] = p.value; });
    return values;
  }
  std::vector<int64_t> classes(b.rows, -1);
  score_batch(b, [&](size_t i, const Prediction& p) {
    if (p.has_label) classes[i] = p.label;
  });
  py::list out(b.rows);
  const bool clusters = is_clusterer();  // a cluster id is no learned class: an int
  for (size_t i = 0; i < b.rows; ++i) {
    out[i] = classes[i] < 0 ? py::none()
             : clusters     ? py::int_(classes[i])
                            : class_object(static_cast<uint32_t>(classes[i]));
  }
  return out;
}

py::array_t<double> PyModel::predict_proba_many(const py::list& names, const py::list& columns) {
  if (pipeline_->task() == Task::kRegression) {
    throw py::value_error("'" + std::string(pipeline_->model().kind()) +
                          "' is a regressor: predict_many(X) gives its values");
  }
  Batch b = read_batch(names, columns);
  auto held = lock();
  const bool detector = is_anomaly_detector();
  // The classes as they stand before the batch: predicting learns none.
  const size_t k = detector ? 1 : pipeline_->labels().size();
  py::array_t<double> out({static_cast<py::ssize_t>(b.rows), static_cast<py::ssize_t>(k)});
  double* p = out.mutable_data();
  score_batch(b, [&](size_t i, const Prediction& pred) {
    double* r = p + i * k;
    if (detector) {
      r[0] = pipeline_->reported_probability(pred);
      return;
    }
    for (size_t c = 0; c < k; ++c) r[c] = c < pred.proba.size() ? pred.proba[c] : 0.0;
  });
  return out;
}

void PyModel::save(const std::string& path) {
  auto held = lock();
  try {
    pipeline_->save(path);
  } catch (const Error& e) {
    PyErr_SetString(PyExc_OSError, e.what());
    throw py::error_already_set();
  }
}

py::bytes PyModel::to_bytes() {
  auto held = lock();
  return py::bytes(pipeline_->to_bytes());
}

py::list PyModel::classes() {
  auto held = lock();
  py::list out;
  if (pipeline_->task() == Task::kRegression || is_anomaly_detector()) return out;
  for (uint32_t c = 0; c < pipeline_->labels().size(); ++c) out.append(class_object(c));
  return out;
}

std::vector<double> PyModel::forecast(size_t horizon) {
  auto held = lock();
  if (horizon > 100000) throw py::value_error("forecast: horizon at most 100000");
  std::vector<double> out;
  if (!pipeline_->model().forecast(horizon, out)) {
    throw py::value_error("forecast: '" + std::string(pipeline_->model().kind()) +
                          "' is not a forecaster (holt_winters and snarimax are)");
  }
  return out;
}

std::vector<std::pair<std::string, double>> PyModel::recommend(const std::string& user, size_t k) {
  auto held = lock();
  try {
    return pipeline_->recommend(user, k);
  } catch (const Error& e) {
    throw py::value_error(e.what());
  }
}

}  // namespace rtml::python
