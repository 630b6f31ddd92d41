// PyCsvStream: the iterator behind rtml.stream.iter_csv, River's (x, y) pairs read by
// rtml's own decoders.
#pragma once

#include <pybind11/pybind11.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rtml/stream/row_source.h"

namespace rtml::python {

namespace py = pybind11;

// Yields (x, y) for each good row of a CSV or JSON Lines file (gzipped or not, by the
// decoders' rules): x a dict of the row's features (numbers as float, texts as str,
// missing values left out), y the target's value (an integral number as int, another as
// float, a text as str, None when missing; None for every row without a target).
// Converters, by column name, are called on a value before it is yielded.
// Not thread-safe: one Python thread iterates it (under the GIL).
class PyCsvStream {
 public:
  // Opens path; OSError naming it if it cannot be read or has no header, ValueError for
  // a target or dropped column that is not in the header.
  PyCsvStream(const std::string& path, std::optional<std::string> target,
              const std::vector<std::string>& drop, py::dict converters);

  // The next (x, y), or nullptr at the end (the caller raises StopIteration).
  py::object next();

  // For progressive_val_score: whether the stream can be read as rows directly (nothing
  // yielded yet, no converter), and the source, its target and dropped columns. While
  // progressive_val_score reads it (without the GIL) the stream is busy: next() refuses.
  bool untouched() const { return yielded_ == 0 && !has_converters_ && !busy_; }
  void set_busy(bool busy) { busy_ = busy; }
  RowSource& source() { return *source_; }
  const std::string& target() const { return target_; }
  const std::vector<std::string>& drop() const { return drop_; }
  // Lines the decoder skipped (bad lines), and rows yielded.
  uint64_t skipped() const { return source_->stats().skipped; }
  uint64_t yielded() const { return yielded_; }

 private:
  py::object value_of(const Value& v, bool as_target);
  // Takes the source's columns past those known: their names, roles and converters.
  void add_columns();

  std::unique_ptr<RowSource> source_;
  std::string target_;
  std::vector<std::string> drop_;
  Row row_;
  std::vector<py::object> keys_;        // each column's name, one str object
  std::vector<uint8_t> role_;           // 0 feature, 1 target, 2 dropped
  std::vector<py::object> converters_;  // by column, None where there is none
  py::dict converter_by_name_;
  bool has_converters_ = false;
  // The target's texts (a classifier's classes) as str objects made once: the same
  // object for every event of a class, which the metrics recognise without reading it.
  std::vector<std::pair<std::string, py::object>> target_texts_;
  uint64_t yielded_ = 0;
  bool busy_ = false;  // read by progressive_val_score; changed under the GIL
};

}  // namespace rtml::python
