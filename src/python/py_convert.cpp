#include "python/py_convert.h"

#include <charconv>
#include <cmath>

#include "rtml/core/excerpt.h"

namespace rtml::python {
namespace {

std::string_view utf8_of(PyObject* s) {
  Py_ssize_t n = 0;
  const char* p = PyUnicode_AsUTF8AndSize(s, &n);
  if (!p) throw py::error_already_set();
  return {p, static_cast<size_t>(n)};
}

// A feature's value as a number, or false for a value that is not one.
bool number_of(PyObject* v, double& out) {
  if (PyFloat_CheckExact(v)) {
    out = PyFloat_AS_DOUBLE(v);
    return true;
  }
  if (PyLong_Check(v)) {  // bool too
    out = PyLong_AsDouble(v);
    if (out == -1.0 && PyErr_Occurred()) throw py::error_already_set();
    return true;
  }
  if (PyFloat_Check(v) || (Py_TYPE(v)->tp_as_number && Py_TYPE(v)->tp_as_number->nb_float)) {
    out = PyFloat_AsDouble(v);
    if (out == -1.0 && PyErr_Occurred()) throw py::error_already_set();
    return true;
  }
  return false;
}

}  // namespace

std::string type_name(py::handle value) {
  return py::str(py::type::handle_of(value).attr("__name__")).cast<std::string>();
}

namespace {

// Whether reading v runs no Python code: then no value can change the dict, or free
// what the fields point into, while it is read.
bool plain_value(PyObject* v) {
  return v == Py_None || PyFloat_Check(v) || PyLong_Check(v) || PyUnicode_CheckExact(v);
}

}  // namespace

const std::vector<EventField>& FieldReader::read(py::handle x) {
  fields_.clear();
  if (keep_.size() > 0) keep_ = py::list();
  PyObject* dict = x.ptr();
  if (!PyDict_Check(dict)) {
    if (!PyObject_HasAttrString(dict, "keys")) {  // not a Mapping
      throw py::type_error("the features must be a dict of name to value, not a " + type_name(x));
    }
    py::dict copy(py::reinterpret_borrow<py::object>(x));
    keep_.append(copy);
    dict = copy.ptr();
  }
  // A dict of str names and plain values is read in place, in one pass. At the first
  // other name or value the pass stops and the dict's items are taken (each held), so
  // that Python code run to read one (a name's __str__, a value's __float__) can change
  // or empty the dict without pulling anything from under the fields.
  PyObject *key = nullptr, *value = nullptr;
  Py_ssize_t pos = 0;
  bool plain = true;
  while (PyDict_Next(dict, &pos, &key, &value)) {
    if (!PyUnicode_CheckExact(key) || !plain_value(value)) {
      plain = false;
      break;
    }
    add(utf8_of(key), value);
  }
  if (plain) return fields_;
  fields_.clear();
  auto items = py::reinterpret_steal<py::list>(PyDict_Items(dict));
  if (!items) throw py::error_already_set();
  keep_.append(items);
  for (Py_ssize_t k = 0; k < PyList_GET_SIZE(items.ptr()); ++k) {
    PyObject* item = PyList_GET_ITEM(items.ptr(), k);
    key = PyTuple_GET_ITEM(item, 0);
    if (PyUnicode_Check(key)) {
      add(utf8_of(key), PyTuple_GET_ITEM(item, 1));
    } else {
      py::str s(key);
      keep_.append(s);
      add(utf8_of(s.ptr()), PyTuple_GET_ITEM(item, 1));
    }
  }
  return fields_;
}

void FieldReader::add(std::string_view name, PyObject* value) {
  double number = 0;
  if (value == Py_None) {
    fields_.push_back({name, {}});
  } else if (PyUnicode_Check(value)) {
    fields_.push_back(EventField::of_text(name, utf8_of(value)));
  } else if (number_of(value, number)) {
    if (std::isfinite(number)) {
      fields_.push_back(EventField::of_number(name, number));
    } else {
      fields_.push_back({name, {}});
    }
  } else {
    throw py::value_error("feature '" + excerpt(name) + "' is a " + type_name(py::handle(value)) +
                          "; a feature is a number, a str (a category), a bool or None");
  }
}

std::optional<ClassType> class_type_of(py::handle y) {
  PyObject* v = y.ptr();
  if (PyBool_Check(v)) return ClassType::kBool;
  if (PyLong_Check(v)) return ClassType::kInteger;
  if (PyFloat_Check(v)) return ClassType::kFloat;
  if (PyUnicode_Check(v)) return ClassType::kText;
  // numpy's bools and integers, which are not Python's.
  const std::string t = type_name(y);
  if (t == "bool_") return ClassType::kBool;
  if (PyIndex_Check(v)) return ClassType::kInteger;
  if (t.rfind("float", 0) == 0) return ClassType::kFloat;
  return std::nullopt;
}

const Value& LabelReader::read(py::handle y, bool regression, ClassType& type) {
  PyObject* v = y.ptr();
  if (regression) {
    double number = 0;
    if (v == Py_None || PyUnicode_Check(v) || !number_of(v, number)) {
      throw py::value_error("the label is a " + type_name(y) +
                            "; the model is a regressor and learns numbers");
    }
    if (!std::isfinite(number)) throw py::value_error("the label is not a finite number");
    value_ = Value{ValueKind::kNumber, number, {}};
    type = ClassType::kFloat;
    return value_;
  }
  auto t = class_type_of(y);
  if (!t) {
    throw py::value_error("the label is a " + type_name(y) +
                          "; a class is a str, a bool, an int or a float");
  }
  type = *t;
  switch (*t) {
    case ClassType::kText:
      value_ = Value{ValueKind::kText, 0, utf8_of(v)};
      if (value_.text.empty()) throw py::value_error("the label is an empty str");
      return value_;
    case ClassType::kBool:
      value_ = Value{ValueKind::kText, 0, PyObject_IsTrue(v) ? "True" : "False"};
      return value_;
    case ClassType::kInteger: {
      long long n = PyLong_AsLongLong(v);
      if (n == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        text_ = py::str(y).cast<std::string>();
      } else {
        char buf[24];
        text_.assign(buf, std::to_chars(buf, buf + sizeof buf, n).ptr);
      }
      break;
    }
    case ClassType::kFloat: {
      double d = PyFloat_AsDouble(v);
      if (d == -1.0 && PyErr_Occurred()) throw py::error_already_set();
      if (!std::isfinite(d)) throw py::value_error("the label is not a finite number");
      char buf[32];
      text_.assign(buf, python_float_text(d, buf));
      break;
    }
  }
  value_ = Value{ValueKind::kText, 0, text_};
  return value_;
}

size_t python_float_text(double v, char* buf) {
  if (v == 0) v = 0.0;  // -0.0 is the class 0.0
  const auto end = std::to_chars(buf, buf + 30, v).ptr;
  size_t n = static_cast<size_t>(end - buf);
  if (std::string_view(buf, n).find_first_of(".eni") == std::string_view::npos) {
    buf[n++] = '.';
    buf[n++] = '0';
  }
  return n;
}

py::object class_value(const std::string& name, ClassType type) {
  switch (type) {
    case ClassType::kBool:
      return py::bool_(name == "True");
    case ClassType::kInteger: {
      PyObject* n = PyLong_FromString(name.c_str(), nullptr, 10);
      if (n) return py::reinterpret_steal<py::object>(n);
      PyErr_Clear();  // not a number after all (a damaged file): the text
      break;
    }
    case ClassType::kFloat:
      return py::float_(std::strtod(name.c_str(), nullptr));
    case ClassType::kText:
      break;
  }
  return py::str(name);
}

}  // namespace rtml::python
