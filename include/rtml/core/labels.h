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

// Maps class values (any text: "UP", "1", "true") to class indices.
// For a binary task the positive class is index 1 and the negative one index 0:
// set_binary() fixes which value is which. Otherwise indices follow first appearance.
// Not thread-safe.
class Labels {
 public:
  // Declares a binary target whose classes are negative and positive.
  void set_binary(std::string_view negative, std::string_view positive);
  // Declares only the positive class of a binary target; the other value that
  // appears becomes the negative class.
  void set_positive(std::string_view positive);

  // Returns the index of a class value, adding it if new. For a binary target whose
  // two classes are already known, a third value yields nothing.
  std::optional<uint32_t> intern(std::string_view value, bool binary);
  std::optional<uint32_t> find(std::string_view value) const;
  const std::string& name(uint32_t index) const { return names_[index]; }
  size_t size() const { return names_.size(); }

  void save(BinaryWriter& out) const;
  void load(BinaryReader& in);

 private:
  StringIndex index_;
  std::vector<std::string> names_;
  std::optional<std::string> pending_positive_;
};

}  // namespace rtml
