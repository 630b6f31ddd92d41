// progressive_val_score: River's test-then-train loop, run in C++.
#pragma once

#include <pybind11/pybind11.h>

#include "python/py_metrics.h"
#include "python/py_model.h"

namespace rtml::python {

// Predicts on each (x, y) of dataset, updates metric with the prediction, then learns
// from y: at once, or `delay` events later (the label arrives late: the model learns
// then from the features the event was predicted with, as `rtml eval --delay` does).
// Returns metric. print_every > 0 prints River's progress line ("[1,000] Accuracy:
// 82.21%") every so many events.
//
// An rtml.stream.iter_csv that has yielded nothing (and has no converters) is read as
// rows, without a dict per event, through the path of `rtml eval`, with the GIL
// released; any other iterable of (dict, label) pairs goes through the path of
// learn_one and predict_one. Both give `rtml eval`'s figures.
py::object progressive_val_score(py::handle dataset, PyModel& model, py::object metric,
                                 uint64_t delay, uint64_t print_every);

}  // namespace rtml::python
