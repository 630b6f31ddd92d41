// Python values as rtml's: a dict of features as named fields, a label as a class or a
// number, a class name back as the Python value it was given as. Every function here
// runs with the GIL held.
#pragma once

#include <pybind11/pybind11.h>

#include <string>
#include <string_view>
#include <vector>

#include "rtml/core/labels.h"
#include "rtml/core/row.h"

namespace rtml::python {

namespace py = pybind11;

// The fields of one event read from a Python dict (River's x: str to number, str, bool
// or None), reused from event to event: once it has seen its widest event it allocates
// nothing. The names and texts point into the dict's own str objects (their cached
// UTF-8), so the fields are valid while the dict is alive and unchanged.
// Not thread-safe: one per object that reads events, used under the GIL.
class FieldReader {
 public:
  // Reads x. A number (int, float, bool, or anything with __float__, such as numpy's
  // scalars) is a number; NaN and infinities, like None, are missing values (as the
  // decoders read them); a str is a category. Raises ValueError naming the feature for
  // any other value, and TypeError if x is not a dict (a Mapping is copied once).
  const std::vector<EventField>& read(py::handle x);

 private:
  // Adds the field name = value (see read()).
  void add(std::string_view name, PyObject* value);

  std::vector<EventField> fields_;
  py::list keep_;  // str() of non-str names and a copied Mapping, alive during the call
};

// A label as rtml reads it: a number (regression) or a class named by text, in
// Python's spelling (str(True) is "True", str(3) is "3"); the text is kept here.
class LabelReader {
 public:
  // The label y for a regression (a number, bool included; ValueError otherwise or for
  // NaN) or a classification (str, bool, int or float: ValueError for another type, or
  // for a type other than `expected` once the classes have one, save an int for a
  // model whose classes are bools, or the reverse). type receives y's type.
  const Value& read(py::handle y, bool regression, ClassType& type);

 private:
  Value value_;
  std::string text_;
};

// The ClassType of a Python label (bool before int: bool is an int in Python), or
// nullopt for another type.
std::optional<ClassType> class_type_of(py::handle y);

// A class name as the Python value of type `type` ("True" as True, "3" as 3).
py::object class_value(const std::string& name, ClassType type);

// A float as Python's repr spells it, near enough for a class name to read the same
// way from learn_one and learn_many ("1.0", "0.25", "1e-05"). buf holds 32 bytes;
// returns the length written.
size_t python_float_text(double v, char* buf);

// Python's name of a value's type, for messages ("list", "numpy.ndarray").
std::string type_name(py::handle value);

}  // namespace rtml::python
