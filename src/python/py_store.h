// PyFeatureStore: the embedded feature store (memory, WAL, snapshots, aggregates) as
// Python's rtml.FeatureStore.
#pragma once

#include <pybind11/pybind11.h>

#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "python/py_convert.h"
#include "rtml/store/embedded_store.h"

namespace rtml::python {

// Entities (a str or an int key) with named features: numbers, str (categories) and
// lists of floats (vectors); with `aggregates`, features computed from events.
// Durable as the CLI's store is: in `dir`, every write is in the WAL before put()
// returns (on disk as `fsync` says), and a reopened folder recovers it.
//
// Thread-safe like the store beneath: reads and writes release the GIL only around
// work on the store, so Python threads may share one object. close() (or leaving a
// `with` block) releases the folder; any later call raises ValueError.
class PyFeatureStore {
 public:
  // dir None: memory only. fsync "always", "never" or "every=10ms". aggregates: one
  // declaration per item ("clicks_1h = count(item) by user over 1h every 5m"). ttl:
  // seconds by feature group. OSError if the folder cannot be used (another process holds
  // it, a damaged log), ValueError for a bad setting.
  PyFeatureStore(std::optional<std::string> dir, const std::string& fsync,
                 const std::vector<std::string>& aggregates,
                 const std::map<std::string, double>& ttl, bool read_only);

  // Sets features of key from a dict (None deletes a feature). ValueError naming the
  // feature for a bad value, or the store's reason for a refused write.
  void put(py::handle key, py::handle features, std::optional<double> time);
  // Removes features of key.
  void remove(py::handle key, const std::vector<std::string>& names);
  // The named features of key as a dict; a missing or expired one is None.
  py::dict get(py::handle key, const std::vector<std::string>& names);
  // get() for many keys, one dict per key.
  py::list get_many(const py::list& keys, const std::vector<std::string>& names);
  // Applies an event's fields to key's aggregates at event time `time` (seconds; None:
  // now). With an id, an event applied again with the same key and id counts once.
  void apply_event(py::handle key, py::handle fields, std::optional<double> time,
                   std::optional<std::string> id);
  // Writes a snapshot now; its path ("" in memory).
  std::string snapshot();
  // Every entity as (key, dict of its features).
  py::list items();
  size_t size();
  // What opening found: entities, WAL records replayed, warnings.
  py::dict recovery();
  void close();

 private:
  store::EmbeddedStore& open_store();
  static store::EntityKey key_of(py::handle key);
  static py::object value_of(const store::FeatureValue& v);

  std::shared_mutex mu_;  // shared by calls, exclusive for close()
  std::unique_ptr<store::EmbeddedStore> store_;
};

}  // namespace rtml::python
