// The per-event methods (learn_one, predict_one, predict_proba_one, score_one,
// Metric.update, iter_csv's next) as CPython vectorcall methods, in place of pybind11's
// dispatcher: a River-style loop calls them once per event each, and the dispatcher's
// argument vectors cost an allocation and about 100 ns per call.
#pragma once

#include <pybind11/pybind11.h>

namespace rtml::python {

// The C++ object of self, an instance of a bound class or of a Python subclass of one.
// Raises TypeError if its __init__ failed or never ran.
template <class T>
T& constructed(pybind11::handle self) {
  auto* inst = reinterpret_cast<pybind11::detail::instance*>(self.ptr());
  const bool ready = inst->simple_layout ? inst->simple_holder_constructed
                                         : inst->get_value_and_holder().holder_constructed();
  if (!ready) throw pybind11::type_error("the object's __init__ did not complete");
  return self.cast<T&>();
}

// Replaces those methods of the classes already bound as Model, Metric and CsvStream.
void add_fast_methods(pybind11::handle model_class, pybind11::handle metric_class,
                      pybind11::handle csv_class);

}  // namespace rtml::python
