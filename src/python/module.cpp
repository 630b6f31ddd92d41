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

// A method bound through its object's Python handle: called on an instance whose
// __init__ failed or never ran, it raises TypeError (pybind11 would hand the method
// uninitialised memory).
template <class C, class R, class... A>
auto checked(R (C::*f)(A...)) {
  return [f](py::handle self, A... a) -> R {
    return (constructed<C>(self).*f)(std::forward<A>(a)...);
  };
}
template <class C, class R, class... A>
auto checked(R (C::*f)(A...) const) {
  return [f](py::handle self, A... a) -> R {
    return (constructed<C>(self).*f)(std::forward<A>(a)...);
  };
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
          .def("learn_one", checked(&PyModel::learn_one), py::arg("x"), py::arg("y") = py::none())
          .def("predict_one", checked(&PyModel::predict_one), py::arg("x"))
          .def("predict_proba_one", checked(&PyModel::predict_proba_one), py::arg("x"))
          .def("score_one", checked(&PyModel::score_one), py::arg("x"))
          .def("_learn_transforms_one", checked(&PyModel::learn_transforms_one))
          .def("_transform_one", checked(&PyModel::transform_one))
          .def("_learn_many", checked(&PyModel::learn_many))
          .def("_predict_many", checked(&PyModel::predict_many))
          .def("_predict_proba_many", checked(&PyModel::predict_proba_many))
          .def("_save", checked(&PyModel::save), py::arg("path"))
          .def("_to_bytes", checked(&PyModel::to_bytes))
          .def_property_readonly("description", checked(&PyModel::description))
          .def_property_readonly("task", checked(&PyModel::task))
          .def_property_readonly("is_anomaly_detector", checked(&PyModel::is_anomaly_detector))
          .def_property_readonly("is_clusterer", checked(&PyModel::is_clusterer))
          .def_property_readonly("classes", checked(&PyModel::classes))
          .def_property_readonly("n_learned", checked(&PyModel::learned))
          .def("recommend", checked(&PyModel::recommend), py::arg("user"), py::arg("k") = 10)
          .def("_forecast", checked(&PyModel::forecast), py::arg("horizon"))
          .def("predict_interval_one", checked(&PyModel::predict_interval_one), py::arg("x"));
  m.def("load", &PyModel::load, py::arg("path"));

  auto csv_class =
      py::class_<PyCsvStream>(m, "CsvStream")
          .def(py::init<const std::string&, std::optional<std::string>,
                        const std::vector<std::string>&, py::dict>(),
               py::arg("path"), py::arg("target"), py::arg("drop"), py::arg("converters"))
          .def("__iter__", [](py::object self) { return self; })
          .def("__next__",
               [](py::handle self) {
                 py::object next = constructed<PyCsvStream>(self).next();
                 if (!next) throw py::stop_iteration();
                 return next;
               })
          .def_property_readonly("skipped", checked(&PyCsvStream::skipped))
          .def_property_readonly("yielded", checked(&PyCsvStream::yielded));

  auto metric_class =
      py::class_<PyMetric>(m, "Metric")
          .def(py::init([](const std::string& kind, py::object pos_val) {
                 return PyMetric(metric_kind(kind), pos_val);
               }),
               py::arg("kind"), py::arg("pos_val") = py::none())
          .def("update", checked(&PyMetric::update), py::arg("y_true"), py::arg("y_pred"))
          .def("get", checked(&PyMetric::get))
          .def_property_readonly("requires_labels", checked(&PyMetric::requires_labels))
          .def_property_readonly("bigger_is_better", checked(&PyMetric::bigger_is_better))
          .def("__repr__", checked(&PyMetric::repr))
          .def("__str__", checked(&PyMetric::repr));

  add_fast_methods(model_class, metric_class, csv_class);

  m.def("progressive_val_score", &progressive_val_score, py::arg("dataset"), py::arg("model"),
        py::arg("metric"), py::arg("delay") = 0, py::arg("print_every") = 0);

  py::class_<PyFeatureStore>(m, "FeatureStore")
      .def(py::init<std::optional<std::string>, const std::string&, const std::vector<std::string>&,
                    const std::map<std::string, double>&, bool>(),
           py::arg("dir") = py::none(), py::arg("fsync") = "every=10ms",
           py::arg("aggregates") = std::vector<std::string>{},
           py::arg("ttl") = std::map<std::string, double>{}, py::arg("read_only") = false)
      .def("put", checked(&PyFeatureStore::put), py::arg("key"), py::arg("features"),
           py::arg("time") = py::none())
      .def("delete", checked(&PyFeatureStore::remove), py::arg("key"), py::arg("names"))
      .def("get", checked(&PyFeatureStore::get), py::arg("key"), py::arg("names"))
      .def("get_many", checked(&PyFeatureStore::get_many), py::arg("keys"), py::arg("names"))
      .def("apply_event", checked(&PyFeatureStore::apply_event), py::arg("key"), py::arg("fields"),
           py::arg("time") = py::none(), py::arg("id") = py::none())
      .def("snapshot", checked(&PyFeatureStore::snapshot))
      .def("items", checked(&PyFeatureStore::items))
      .def("__len__", checked(&PyFeatureStore::size))
      .def_property_readonly("recovery", checked(&PyFeatureStore::recovery))
      .def("close", checked(&PyFeatureStore::close));
}
