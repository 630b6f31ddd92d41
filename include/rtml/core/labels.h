// Labels: the classes of a classification target, as text, mapped to class indices.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rtml/core/schema.h"

namespace rtml {

class BinaryReader;
class BinaryWriter;

// How the front end that taught a model its classes gave them: as text (files, HTTP), or
// as Python values of one type, so that Python gets back the type it gave (True, not
// "True"). Classes are kept as text either way: str(value) in Python's spelling.
enum class ClassType : uint8_t { kText, kBool, kInteger, kFloat };

// Maps class values (any text: "UP", "1", "true") to class indices, learned as they
// come: nothing needs to see the stream ahead. Indices follow first appearance, except
// that a positive class named in advance (set_positive) takes index 1 in a binary task.
// Which class is the positive one of a two-class target (for F1 and the probability a
// binary prediction reports) is positive(). Not thread-safe.
class Labels {
 public:
  // Declares a binary target whose classes are negative and positive.
  void set_binary(std::string_view negative, std::string_view positive);
  // Declares only the positive class of a binary target; the other value that
  // appears becomes the negative class.
  void set_positive(std::string_view positive);
  // What --positive (or a run's model.positive) asks: set_positive() while no class is
  // known; with classes already known (a loaded model), nothing if positive is already
  // the positive class, else an Error naming the classes and the positive one: a model
  // is never silently relabelled. what names the setting, for the message.
  void name_positive(std::string_view positive, std::string_view what);

  // Returns the index of a class value, adding it if new. For a binary target whose
  // two classes are taken (seen, or one of them named positive), another value yields
  // nothing.
  std::optional<uint32_t> intern(std::string_view value, bool binary);
  std::optional<uint32_t> find(std::string_view value) const;
  const std::string& name(uint32_t index) const { return names_[index]; }
  size_t size() const { return names_.size(); }
  // The index of the positive class of a two-class target: the class named positive;
  // else, of the first two values seen, the greater (numerically when both are numbers,
  // else as text: "1" over "0", "UP" over "DOWN", "10" over "9"); 1 until both are known.
  uint32_t positive() const { return positive_index_; }
  // The positive class named in advance, if any.
  const std::optional<std::string>& named_positive() const { return positive_; }
  // See ClassType; kText unless a front end said otherwise. Saved with the classes.
  ClassType class_type() const { return class_type_; }
  void set_class_type(ClassType type) { class_type_ = type; }

  void save(BinaryWriter& out) const;
  void load(BinaryReader& in);

 private:
  void update_positive_index();
  StringIndex index_;
  std::vector<std::string> names_;  // "" marks the slot of a named positive not yet seen
  std::optional<std::string> positive_;
  uint32_t positive_index_ = 1;
  ClassType class_type_ = ClassType::kText;
};

// Whether class value a orders before b: numerically when both are numbers, else as text.
bool class_value_less(std::string_view a, std::string_view b);

}  // namespace rtml
