// The extension module `rtml._rtml`: what python/rtml/ builds River's vocabulary on.
#include <pybind11/stl.h>

#include "python/fast_methods.h"
#include "python/py_csv.h"
#include "python/py_evaluate.h"
#include "python/py_metrics.h"
#include "python/py_model.h"
#include "python/py_store.h"
#include "rtml/core/error.h"
#include "rtml/learn/registry.h"

namespace py = pybind11;
using namespace rtml::python;

namespace {

PyMetric::Kind metric_kind(const std::string& name) {
  static const std::pair<const char*, PyMetric::Kind> kinds[] = {
      {"Accuracy", PyMetric::Kind::kAccuracy}, {"F1", PyMetric::Kind::kF1},
      {"MacroF1", PyMetric::Kind::kMacroF1},   {"LogLoss", PyMetric::Kind::kLogLoss},
      {"ROCAUC", PyMetric::Kind::kRocAuc},     {"MAE", PyMetric::Kind::kMAE},
      {"RMSE", PyMetric::Kind::kRMSE},         {"R2", PyMetric::Kind::kR2}};
  for (const auto& [n, k] : kinds) {
    if (name == n) return k;
  }
  throw py::value_error("unknown metric '" + name +
                        "': Accuracy, F1, MacroF1, LogLoss, ROCAUC, MAE, RMSE or R2");
}

}  // namespace

PYBIND11_MODULE(_rtml, m) {
  m.doc() = "rtml's C++ core; use the package rtml";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const rtml::Error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });

  m.def("steps", [] {
    py::list out;
    for (const auto& c : rtml::components()) {
      out.append(py::make_tuple(c.name, c.make_model ? "model" : "transform", c.summary));
    }
    return out;
  });
  // An empty function: the floor a call into the module costs (the benchmark's reference).
  m.def("empty", [](py::handle) {});

  auto model_class =
      py::class_<PyModel>(m, "Model", py::dynamic_attr())
          .def(py::init(&PyModel::from_bytes), py::arg("state"))
          .def(py::init<const std::string&>(), py::arg("expression"))
          .def(py::init([](const std::string& path, bool) { return PyModel::load(path); }),
               py::arg("path"), py::arg("from_file"))
          .def("learn_one", &PyModel::learn_one, py::arg("x"), py::arg("y") = py::none())
          .def("predict_one", &PyModel::predict_one, py::arg("x"))
          .def("predict_proba_one", &PyModel::predict_proba_one, py::arg("x"))
          .def("score_one", &PyModel::score_one, py::arg("x"))
          .def("_learn_transforms_one", &PyModel::learn_transforms_one)
          .def("_transform_one", &PyModel::transform_one)
          .def("_learn_many", &PyModel::learn_many)
          .def("_predict_many", &PyModel::predict_many)
          .def("_predict_proba_many", &PyModel::predict_proba_many)
          .def("_save", &PyModel::save, py::arg("path"))
          .def("_to_bytes", &PyModel::to_bytes)
          .def_property_readonly("description", &PyModel::description)
          .def_property_readonly("task", &PyModel::task)
          .def_property_readonly("is_anomaly_detector", &PyModel::is_anomaly_detector)
          .def_property_readonly("classes", &PyModel::classes)
          .def_property_readonly("n_learned", &PyModel::learned)
          .def("recommend", &PyModel::recommend, py::arg("user"), py::arg("k") = 10);
  m.def("load", &PyModel::load, py::arg("path"));

  auto csv_class =
      py::class_<PyCsvStream>(m, "CsvStream")
          .def(py::init<const std::string&, std::optional<std::string>,
                        const std::vector<std::string>&, py::dict>(),
               py::arg("path"), py::arg("target"), py::arg("drop"), py::arg("converters"))
          .def("__iter__", [](py::object self) { return self; })
          .def("__next__",
               [](PyCsvStream& s) {
                 py::object next = s.next();
                 if (!next) throw py::stop_iteration();
                 return next;
               })
          .def_property_readonly("skipped", &PyCsvStream::skipped)
          .def_property_readonly("yielded", &PyCsvStream::yielded);

  auto metric_class = py::class_<PyMetric>(m, "Metric")
                          .def(py::init([](const std::string& kind, py::object pos_val) {
                                 return PyMetric(metric_kind(kind), pos_val);
                               }),
                               py::arg("kind"), py::arg("pos_val") = py::none())
                          .def("update", &PyMetric::update, py::arg("y_true"), py::arg("y_pred"))
                          .def("get", &PyMetric::get)
                          .def_property_readonly("requires_labels", &PyMetric::requires_labels)
                          .def_property_readonly("bigger_is_better", &PyMetric::bigger_is_better)
                          .def("__repr__", &PyMetric::repr)
                          .def("__str__", &PyMetric::repr);

  add_fast_methods(model_class, metric_class, csv_class);

  m.def("progressive_val_score", &progressive_val_score, py::arg("dataset"), py::arg("model"),
        py::arg("metric"), py::arg("print_every") = 0);

  py::class_<PyFeatureStore>(m, "FeatureStore")
      .def(py::init<std::optional<std::string>, const std::string&, const std::vector<std::string>&,
                    const std::map<std::string, double>&, bool>(),
           py::arg("dir") = py::none(), py::arg("fsync") = "every=10ms",
           py::arg("aggregates") = std::vector<std::string>{},
           py::arg("ttl") = std::map<std::string, double>{}, py::arg("read_only") = false)
      .def("put", &PyFeatureStore::put, py::arg("key"), py::arg("features"),
           py::arg("time") = py::none())
      .def("delete", &PyFeatureStore::remove, py::arg("key"), py::arg("names"))
      .def("get", &PyFeatureStore::get, py::arg("key"), py::arg("names"))
      .def("get_many", &PyFeatureStore::get_many, py::arg("keys"), py::arg("names"))
      .def("apply_event", &PyFeatureStore::apply_event, py::arg("key"), py::arg("fields"),
           py::arg("time") = py::none(), py::arg("id") = py::none())
      .def("snapshot", &PyFeatureStore::snapshot)
      .def("items", &PyFeatureStore::items)
      .def("__len__", &PyFeatureStore::size)
      .def_property_readonly("recovery", &PyFeatureStore::recovery)
      .def("close", &PyFeatureStore::close);
}
