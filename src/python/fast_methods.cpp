#include "python/fast_methods.h"

#include <string>

#include "python/py_csv.h"
#include "python/py_metrics.h"
#include "python/py_model.h"
#include "rtml/core/error.h"

namespace rtml::python {
namespace {

namespace py = pybind11;

// The C++ object of self; nullptr (TypeError set) if its __init__ did not complete.
template <class T>
T* object_of(PyObject* self) {
  auto* inst = reinterpret_cast<py::detail::instance*>(self);
  if (inst->simple_layout && inst->simple_holder_constructed) {
    return static_cast<T*>(inst->simple_value_holder[0]);  // the common case, without a cast
  }
  try {
    return &constructed<T>(self);
  } catch (const py::type_error& e) {
    e.set_error();
  } catch (py::error_already_set& e) {
    e.restore();
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_TypeError, e.what());
  }
  return nullptr;
}

// Runs fn, turning a C++ exception into the Python one it stands for: nullptr then.
template <class Fn>
PyObject* guarded(Fn&& fn) {
  try {
    return fn();
  } catch (py::error_already_set& e) {
    e.restore();
  } catch (const py::builtin_exception& e) {
    e.set_error();
  } catch (const Error& e) {
    PyErr_SetString(PyExc_ValueError, e.what());
  } catch (const std::bad_alloc&) {
    PyErr_NoMemory();
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  }
  return nullptr;
}

// The positional and keyword arguments of a call, by the names of the parameters;
// false (TypeError set) for a missing, unknown or repeated one. Parameters from `optional`
// on may be left out (nullptr then).
template <size_t N>
bool arguments(const char* method, const char* const (&names)[N], size_t optional,
               PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames, PyObject* (&out)[N]) {
  for (auto& o : out) o = nullptr;
  if (static_cast<size_t>(nargs) > N) {
    PyErr_Format(PyExc_TypeError, "%s() takes at most %zu arguments", method, N);
    return false;
  }
  for (Py_ssize_t i = 0; i < nargs; ++i) out[i] = args[i];
  const Py_ssize_t nk = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
  for (Py_ssize_t k = 0; k < nk; ++k) {
    const char* key = PyUnicode_AsUTF8(PyTuple_GET_ITEM(kwnames, k));
    size_t i = 0;
    while (i < N && (key == nullptr || std::string_view(key) != names[i])) ++i;
    if (i == N || out[i]) {
      PyErr_Format(PyExc_TypeError, "%s() got an unexpected or repeated argument '%s'", method,
                   key ? key : "?");
      return false;
    }
    out[i] = args[nargs + k];
  }
  for (size_t i = 0; i < optional; ++i) {
    if (!out[i]) {
      PyErr_Format(PyExc_TypeError, "%s() missing its argument '%s'", method, names[i]);
      return false;
    }
  }
  return true;
}

PyObject* learn_one(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kw) {
  static const char* const names[] = {"x", "y"};
  PyObject* a[2];
  if (!arguments("learn_one", names, 1, args, nargs, kw, a)) return nullptr;
  auto* m = object_of<PyModel>(self);
  if (!m) return nullptr;
  return guarded([&] {
    m->learn_one(a[0], a[1] ? a[1] : Py_None);
    Py_RETURN_NONE;
  });
}

template <class Call>
PyObject* one_x(const char* method, PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                PyObject* kw, Call call) {
  static const char* const names[] = {"x"};
  PyObject* a[1];
  if (!arguments(method, names, 1, args, nargs, kw, a)) return nullptr;
  auto* m = object_of<PyModel>(self);
  if (!m) return nullptr;
  return guarded([&] { return call(*m, a[0]); });
}

PyObject* predict_one(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kw) {
  return one_x("predict_one", self, args, nargs, kw,
               [](PyModel& m, PyObject* x) { return m.predict_one(x).release().ptr(); });
}

PyObject* predict_proba_one(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kw) {
  return one_x("predict_proba_one", self, args, nargs, kw,
               [](PyModel& m, PyObject* x) { return m.predict_proba_one(x).release().ptr(); });
}

PyObject* score_one(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kw) {
  return one_x("score_one", self, args, nargs, kw,
               [](PyModel& m, PyObject* x) { return PyFloat_FromDouble(m.score_one(x)); });
}

PyObject* metric_update(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kw) {
  static const char* const names[] = {"y_true", "y_pred"};
  PyObject* a[2];
  if (!arguments("update", names, 2, args, nargs, kw, a)) return nullptr;
  auto* m = object_of<PyMetric>(self);
  if (!m) return nullptr;
  return guarded([&] {
    m->update(a[0], a[1]);
    Py_RETURN_NONE;
  });
}

PyObject* csv_next(PyObject* self) {
  auto* s = object_of<PyCsvStream>(self);
  if (!s) return nullptr;
  return guarded([&] { return s->next().release().ptr(); });  // nullptr at the end
}

void set_method(py::handle cls, PyMethodDef* def) {
  py::object descr = py::reinterpret_steal<py::object>(
      PyDescr_NewMethod(reinterpret_cast<PyTypeObject*>(cls.ptr()), def));
  if (!descr) throw py::error_already_set();
  if (PyObject_SetAttrString(cls.ptr(), def->ml_name, descr.ptr()) != 0) {
    throw py::error_already_set();
  }
}

#define RTML_FASTCALL(f) reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(f))

PyMethodDef model_methods[] = {
    {"learn_one", RTML_FASTCALL(learn_one), METH_FASTCALL | METH_KEYWORDS,
     "learn_one(x, y=None): learns from one event (features x, label y)"},
    {"predict_one", RTML_FASTCALL(predict_one), METH_FASTCALL | METH_KEYWORDS,
     "predict_one(x): the most probable class (None before any), or a regressor's value"},
    {"predict_proba_one", RTML_FASTCALL(predict_proba_one), METH_FASTCALL | METH_KEYWORDS,
     "predict_proba_one(x): a dict of class to probability"},
    {"score_one", RTML_FASTCALL(score_one), METH_FASTCALL | METH_KEYWORDS,
     "score_one(x): an anomaly detector's score, P(anomaly)"},
};
PyMethodDef metric_update_def = {"update", RTML_FASTCALL(metric_update),
                                 METH_FASTCALL | METH_KEYWORDS,
                                 "update(y_true, y_pred): counts one event"};

}  // namespace

void add_fast_methods(py::handle model_class, py::handle metric_class, py::handle csv_class) {
  for (auto& def : model_methods) set_method(model_class, &def);
  set_method(metric_class, &metric_update_def);
  // The iterator protocol's slot, which a for loop calls without a method lookup.
  auto* type = reinterpret_cast<PyTypeObject*>(csv_class.ptr());
  type->tp_iternext = csv_next;
  PyType_Modified(type);
}

}  // namespace rtml::python
