#include "python/py_csv.h"

#include <cmath>

#include "rtml/core/error.h"
#include "rtml/core/excerpt.h"

namespace rtml::python {

PyCsvStream::PyCsvStream(const std::string& path, std::optional<std::string> target,
                         const std::vector<std::string>& drop, py::dict converters)
    : target_(target.value_or("")), drop_(drop) {
  try {
    // A FIFO's writer may be slow: other threads run while the header and the rows that
    // decide the column types are read.
    py::gil_scoped_release release;
    source_ = open_source(path);
  } catch (const Error& e) {
    PyErr_SetString(PyExc_OSError, e.what());
    throw py::error_already_set();
  }
  const auto& columns = source_->columns();
  // A JSON Lines source learns its columns as it reads: nothing to check up front.
  const bool checkable = !columns.empty();
  auto has = [&](const std::string& name) {
    if (!checkable) return true;
    for (const auto& c : columns) {
      if (c.name == name) return true;
    }
    return false;
  };
  if (!target_.empty() && !has(target_)) {
    throw py::value_error(path + ": no column '" + excerpt(target_) + "' to be the target");
  }
  for (const auto& d : drop_) {
    if (!has(d)) throw py::value_error(path + ": no column '" + excerpt(d) + "' to drop");
  }
  for (auto item : converters) {
    const std::string name = py::str(item.first).cast<std::string>();
    if (!has(name)) {
      throw py::value_error(path + ": no column '" + excerpt(name) + "' to convert");
    }
  }
  converter_by_name_ = converters;
  add_columns();
}

void PyCsvStream::add_columns() {
  const auto& columns = source_->columns();
  for (size_t i = keys_.size(); i < columns.size(); ++i) {
    const std::string& name = columns[i].name;
    py::str key(name);
    PyUnicode_InternInPlace(&key.ptr());
    keys_.push_back(key);
    uint8_t role = 0;
    if (name == target_) {
      role = 1;
    } else {
      for (const auto& d : drop_) {
        if (d == name) role = 2;
      }
    }
    role_.push_back(role);
    converters_.push_back(converter_by_name_.contains(key) ? py::object(converter_by_name_[key])
                                                           : py::none());
  }
  has_converters_ = !converter_by_name_.empty();
}

py::object PyCsvStream::value_of(const Value& v, bool as_target) {
  if (v.kind == ValueKind::kText) {
    if (!as_target) return py::str(v.text.data(), v.text.size());
    for (const auto& [text, object] : target_texts_) {
      if (text == v.text) return object;
    }
    py::str s(v.text.data(), v.text.size());
    if (target_texts_.size() < 256) target_texts_.emplace_back(std::string(v.text), s);
    return s;
  }
  if (v.kind == ValueKind::kMissing) return py::none();
  // A target's whole numbers are classes (0 and 1), or counts: int, as Python has them.
  if (as_target && v.number == std::floor(v.number) && std::fabs(v.number) < 9007199254740992.0) {
    return py::int_(static_cast<long long>(v.number));
  }
  return py::float_(v.number);
}

py::object PyCsvStream::next() {
  if (busy_) {
    throw py::value_error("the stream is being read by progressive_val_score in another thread");
  }
  bool more;
  try {
    more = source_->next(row_);
  } catch (const Error& e) {
    PyErr_SetString(PyExc_OSError, e.what());
    throw py::error_already_set();
  }
  if (!more) return py::object();
  ++yielded_;
  auto x =
      py::reinterpret_steal<py::dict>(_PyDict_NewPresized(static_cast<Py_ssize_t>(keys_.size())));
  if (!x) throw py::error_already_set();
  py::object y = py::none();
  // A JSON Lines source may have grown columns with this row.
  if (source_->columns().size() != keys_.size()) add_columns();
  for (size_t i = 0; i < row_.values.size(); ++i) {
    const Value& v = row_.values[i];
    if (role_[i] == 2) continue;
    if (role_[i] == 1) {
      y = value_of(v, true);
      if (has_converters_ && !converters_[i].is_none()) y = converters_[i](y);
      continue;
    }
    if (v.kind == ValueKind::kMissing) continue;
    if (v.kind == ValueKind::kNumber && !has_converters_) {
      PyObject* f = PyFloat_FromDouble(v.number);
      if (!f || PyDict_SetItem(x.ptr(), keys_[i].ptr(), f) != 0) {
        Py_XDECREF(f);
        throw py::error_already_set();
      }
      Py_DECREF(f);
      continue;
    }
    py::object value = value_of(v, false);
    if (has_converters_ && !converters_[i].is_none()) value = converters_[i](value);
    if (PyDict_SetItem(x.ptr(), keys_[i].ptr(), value.ptr()) != 0) throw py::error_already_set();
  }
  PyObject* pair = PyTuple_New(2);
  if (!pair) throw py::error_already_set();
  PyTuple_SET_ITEM(pair, 0, x.release().ptr());
  PyTuple_SET_ITEM(pair, 1, y.release().ptr());
  return py::reinterpret_steal<py::object>(pair);
}

}  // namespace rtml::python
