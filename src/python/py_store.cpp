#include "python/py_store.h"

#include <cmath>
#include <shared_mutex>

#include "rtml/core/error.h"
#include "rtml/core/excerpt.h"
#include "rtml/features/aggregate_spec.h"
#include "rtml/runtime/store_aggregates.h"

namespace rtml::python {
namespace {

[[noreturn]] void os_error(const std::string& what) {
  PyErr_SetString(PyExc_OSError, what.c_str());
  throw py::error_already_set();
}

}  // namespace

PyFeatureStore::PyFeatureStore(std::optional<std::string> dir, const std::string& fsync,
                               const std::vector<std::string>& aggregates,
                               const std::map<std::string, double>& ttl, bool read_only) {
  store::StoreOptions o;
  o.dir = dir.value_or("");
  o.read_only = read_only;
  try {
    o.fsync = store::FsyncSetting::parse(fsync);
    for (const auto& [group, seconds] : ttl) {
      if (!(seconds >= 0) || seconds > 4e9) {
        throw Error("ttl of group '" + excerpt(group) + "': expected seconds >= 0");
      }
      o.group_ttl_seconds[group] = static_cast<uint32_t>(seconds);
    }
    if (!aggregates.empty()) {
      std::string text;
      for (const auto& a : aggregates) text += a + "\n";
      o.computed = std::make_shared<runtime::StoreAggregates>(
          features::parse_aggregates(text, "aggregates"));
    }
  } catch (const Error& e) {
    throw py::value_error(e.what());
  }
  try {
    py::gil_scoped_release release;
    store_ = store::EmbeddedStore::open(std::move(o));
  } catch (const Error& e) {
    os_error(e.what());
  }
}

store::EmbeddedStore& PyFeatureStore::open_store() {
  if (!store_) throw py::value_error("the feature store is closed");
  return *store_;
}

store::EntityKey PyFeatureStore::key_of(py::handle key) {
  if (PyUnicode_Check(key.ptr())) {
    Py_ssize_t n = 0;
    const char* text = PyUnicode_AsUTF8AndSize(key.ptr(), &n);
    if (!text) throw py::error_already_set();  // UnicodeEncodeError, a ValueError
    return store::EntityKey(std::string(text, static_cast<size_t>(n)));
  }
  if (PyLong_Check(key.ptr()) && !PyBool_Check(key.ptr())) {
    const unsigned long long id = PyLong_AsUnsignedLongLong(key.ptr());
    if (PyErr_Occurred()) {
      PyErr_Clear();
      throw py::value_error("an int key is in [0, 2**64)");
    }
    return store::EntityKey(static_cast<uint64_t>(id));
  }
  throw py::value_error("a key is a str or an int, not a " + type_name(key));
}

py::object PyFeatureStore::value_of(const store::FeatureValue& v) {
  if (!v.present) return py::none();
  switch (v.type) {
    case store::FeatureType::kNumber:
      return py::float_(v.number);
    case store::FeatureType::kCategory:
      return py::str(v.text);
    case store::FeatureType::kVector: {
      py::list out;
      for (float f : v.vector) out.append(py::float_(f));
      return out;
    }
  }
  return py::none();
}

void PyFeatureStore::put(py::handle key, py::handle features, std::optional<double> time) {
  std::shared_lock held(mu_);
  auto& s = open_store();
  if (!PyDict_Check(features.ptr())) {
    throw py::type_error("the features are a dict of name to value, not a " + type_name(features));
  }
  store::Update u;
  u.key = key_of(key);
  u.time = time.value_or(0.0);
  for (auto item : py::reinterpret_borrow<py::dict>(features)) {
    std::string name = py::str(item.first).cast<std::string>();
    py::handle v = item.second;
    if (v.is_none()) {
      u.del.push_back(std::move(name));
    } else if (PyUnicode_Check(v.ptr())) {
      u.set.emplace_back(std::move(name), store::FeatureValue::of_category(v.cast<std::string>()));
    } else if (PyList_Check(v.ptr()) || PyTuple_Check(v.ptr()) || type_name(v) == "ndarray") {
      std::vector<float> vec;
      for (auto e : py::reinterpret_borrow<py::iterable>(v)) {
        double d = PyFloat_AsDouble(e.ptr());
        if (d == -1.0 && PyErr_Occurred()) {
          PyErr_Clear();
          throw py::value_error("feature '" + excerpt(name) + "': a vector holds numbers only");
        }
        vec.push_back(static_cast<float>(d));
      }
      u.set.emplace_back(std::move(name), store::FeatureValue::of_vector(std::move(vec)));
    } else {
      double d = PyFloat_AsDouble(v.ptr());
      if (d == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        throw py::value_error("feature '" + excerpt(name) + "' is a " + type_name(v) +
                              "; a feature is a number, a str, a list of numbers or None");
      }
      u.set.emplace_back(std::move(name), store::FeatureValue::of_number(d));
    }
  }
  Status st;
  {
    py::gil_scoped_release release;
    st = s.apply(u);
  }
  if (!st) throw py::value_error(st.why());
}

void PyFeatureStore::remove(py::handle key, const std::vector<std::string>& names) {
  std::shared_lock held(mu_);
  auto& s = open_store();
  store::Update u;
  u.key = key_of(key);
  u.del = names;
  Status st;
  {
    py::gil_scoped_release release;
    st = s.apply(u);
  }
  if (!st) throw py::value_error(st.why());
}

py::dict PyFeatureStore::get(py::handle key, const std::vector<std::string>& names) {
  std::shared_lock held(mu_);
  auto& s = open_store();
  const store::EntityKey k = key_of(key);
  std::vector<store::FeatureValue> out(names.size());
  {
    py::gil_scoped_release release;
    s.get(k, names, out);
  }
  py::dict d;
  for (size_t i = 0; i < names.size(); ++i) d[py::str(names[i])] = value_of(out[i]);
  return d;
}

py::list PyFeatureStore::get_many(const py::list& keys, const std::vector<std::string>& names) {
  std::shared_lock held(mu_);
  auto& s = open_store();
  std::vector<store::EntityKey> ks;
  ks.reserve(keys.size());
  for (auto k : keys) ks.push_back(key_of(k));
  std::vector<store::FeatureValue> out(ks.size() * names.size());
  {
    py::gil_scoped_release release;
    s.get_many(ks, names, out);
  }
  std::vector<py::str> name_objects(names.begin(), names.end());
  py::list result(ks.size());
  for (size_t r = 0; r < ks.size(); ++r) {
    py::dict d;
    for (size_t i = 0; i < names.size(); ++i)
      d[name_objects[i]] = value_of(out[r * names.size() + i]);
    result[r] = d;
  }
  return result;
}

void PyFeatureStore::apply_event(py::handle key, py::handle fields, std::optional<double> time,
                                 std::optional<std::string> id) {
  std::shared_lock held(mu_);
  auto& s = open_store();
  const store::EntityKey k = key_of(key);
  // A reader of this call's own: another thread may apply an event meanwhile (reading a
  // value can run Python code, which lets it in).
  FieldReader reader;
  const auto& f = reader.read(fields);
  Status st = s.apply_event(k, time.value_or(0.0), f, id.value_or(""));
  if (!st) throw py::value_error(st.why());
}

std::string PyFeatureStore::snapshot() {
  std::shared_lock held(mu_);
  auto& s = open_store();
  try {
    py::gil_scoped_release release;
    return s.snapshot();
  } catch (const Error& e) {
    os_error(e.what());
  }
}

py::list PyFeatureStore::items() {
  std::shared_lock held(mu_);
  auto& s = open_store();
  py::list out;
  s.for_each([&](const store::EntityKey& key,
                 const std::vector<std::pair<std::string, store::FeatureValue>>& features) {
    py::dict d;
    for (const auto& [name, v] : features) d[py::str(name)] = value_of(v);
    py::object k = key.is_int() ? py::object(py::int_(key.id())) : py::object(py::str(key.text()));
    out.append(py::make_tuple(k, d));
  });
  return out;
}

size_t PyFeatureStore::size() {
  std::shared_lock held(mu_);
  return open_store().entity_count();
}

py::dict PyFeatureStore::recovery() {
  std::shared_lock held(mu_);
  const auto& r = open_store().recovery();
  py::dict d;
  d["entities"] = r.entities;
  d["replayed"] = r.replayed;
  d["snapshot"] = r.snapshot;
  d["seconds"] = r.seconds;
  py::list w;
  for (const auto& s : r.warnings) w.append(py::str(s));
  d["warnings"] = w;
  return d;
}

void PyFeatureStore::close() {
  py::gil_scoped_release release;
  std::unique_lock held(mu_);  // waits for calls working without the GIL
  store_.reset();
}

}  // namespace rtml::python
