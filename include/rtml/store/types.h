// The vocabulary of the feature store: entity keys, feature types, values and updates.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace rtml::store {

// An entity key: a string (at most kMaxKeyBytes, not empty) or a 64-bit integer.
// The two kinds never collide: "42" and 42 are different entities.
class EntityKey {
 public:
  static constexpr size_t kMaxKeyBytes = 1024;
  EntityKey() = default;
  explicit EntityKey(std::string text) : text_(std::move(text)), is_int_(false) {}
  explicit EntityKey(uint64_t id) : id_(id), is_int_(true) {}

  // Reassign, reusing the text's buffer (no allocation once it is large enough).
  void assign_text(std::string_view text) {
    text_.assign(text);
    id_ = 0;
    is_int_ = false;
  }
  void assign_id(uint64_t id) {
    text_.clear();
    id_ = id;
    is_int_ = true;
  }

  bool is_int() const { return is_int_; }
  uint64_t id() const { return id_; }
  const std::string& text() const { return text_; }
  // The key's bytes as stored: the text, or the 8 bytes of the integer.
  std::string_view bytes() const {
    return is_int_ ? std::string_view(reinterpret_cast<const char*>(&id_), 8) : text_;
  }
  // Stable across runs and machines (XXH64), so a key's shard never changes.
  uint64_t hash() const;
  // "u1" or 42, as JSON would print it.
  std::string to_string() const;
  bool operator==(const EntityKey&) const = default;

 private:
  std::string text_;
  uint64_t id_ = 0;
  bool is_int_ = false;
};

enum class FeatureType : uint8_t { kNumber = 0, kCategory = 1, kVector = 2 };
std::string_view feature_type_name(FeatureType type);

// A value to write or a value read. For reads, `present` is false when the entity or
// the feature is missing or the value has expired.
struct FeatureValue {
  FeatureType type = FeatureType::kNumber;
  double number = 0.0;
  std::string text;           // kCategory
  std::vector<float> vector;  // kVector
  bool present = false;
  double written_at = 0.0;  // seconds since the Unix epoch, whole seconds

  static FeatureValue of_number(double v) {
    FeatureValue f;
    f.type = FeatureType::kNumber;
    f.number = v;
    f.present = true;
    return f;
  }
  static FeatureValue of_category(std::string v) {
    FeatureValue f;
    f.type = FeatureType::kCategory;
    f.text = std::move(v);
    f.present = true;
    return f;
  }
  static FeatureValue of_vector(std::vector<float> v) {
    FeatureValue f;
    f.type = FeatureType::kVector;
    f.vector = std::move(v);
    f.present = true;
    return f;
  }
};

// One change to one entity: features to set and features to delete.
struct Update {
  EntityKey key;
  std::vector<std::pair<std::string, FeatureValue>> set;
  std::vector<std::string> del;
  double time = 0.0;  // when the write happens (seconds since the epoch); 0 = now
};

}  // namespace rtml::store
