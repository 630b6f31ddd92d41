// Schema: interns feature names (and categories) to dense integer indices, so that
// the per-event path works on integers rather than strings.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace rtml {

class BinaryReader;
class BinaryWriter;

// Hash and equality that let an unordered_map<std::string, T> be searched with a
// std::string_view without building a std::string.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept;
};
using StringIndex = std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>>;

// Maps names to dense indices 0, 1, 2, ... in order of first appearance. Interning a
// known name allocates nothing; a new name allocates once. Indices never change, so
// a model's weights stay valid as the schema grows. Not thread-safe.
class Schema {
 public:
  // Returns the index of name, adding it if new.
  uint32_t intern(std::string_view name);
  // Returns the index of name, or nothing if the schema has not seen it.
  std::optional<uint32_t> find(std::string_view name) const;
  const std::string& name(uint32_t index) const { return names_[index]; }
  size_t size() const { return names_.size(); }

  // Returns the id of a category (a text value) of the column with the given index,
  // adding it if new. Ids are dense per column, in the order first seen.
  uint32_t intern_category(uint32_t column, std::string_view value);
  // The same, except that a column that holds `limit` categories takes no new one:
  // nothing is returned and nothing kept. A stream of values that never repeat then
  // costs at most `limit` categories per column.
  std::optional<uint32_t> intern_category(uint32_t column, std::string_view value, size_t limit);
  // The id of a category of a column, or nothing if the schema has not seen it.
  std::optional<uint32_t> find_category(uint32_t column, std::string_view value) const;
  // The text of a category id of a column.
  const std::string& category_name(uint32_t column, uint32_t id) const;
  // How many categories a column has seen.
  size_t category_count(uint32_t column) const;

  void save(BinaryWriter& out) const;
  void load(BinaryReader& in);

 private:
  // The categories of one column: names by id, and an open-addressing table (linear
  // probing) of tag << 32 | (id + 1), 0 for empty, the tag being the hash's low 32
  // bits: a lookup loads one slot and, only on a tag match, the name. No node to follow,
  // which one_hot pays per event.
  struct CategoryTable {
    std::vector<std::string> names;
    std::vector<uint64_t> slots;
    std::optional<uint32_t> find(std::string_view value, uint64_t hash) const;
    uint32_t add(std::string_view value, uint64_t hash);  // value not in the table
  };
  StringIndex index_;
  std::vector<std::string> names_;
  std::vector<CategoryTable> categories_;  // by column index, grown on demand
};

// The name of a feature index: its schema name, or "#index" for an index that is not
// in the schema (a hashed slot).
std::string feature_name(const Schema& schema, uint32_t index);

}  // namespace rtml
