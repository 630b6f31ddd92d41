#include "rtml/runtime/field_featurizer.h"

#include <optional>
#include <vector>

#include "rtml/core/excerpt.h"
#include "rtml/core/short_text.h"

namespace rtml::runtime {
namespace {

Status no_encoder(std::string_view name) {
  return Status::error("feature '" + excerpt(name) +
                       "' is a text (a category), and the model has no step that reads "
                       "categories: add one_hot or feature_hasher, or send a number");
}

// The index the field at each position had in the last event this thread featurized:
// a stream's events name the same fields in the same order, so most lookups are one
// comparison of a short name (checked against the schema itself, so any schema may come
// next) instead of hashing it.
class LastNames {
 public:
  // The index schema gives the k-th field's name, if the cache holds it; else nullopt.
  std::optional<uint32_t> at(const Schema& schema, size_t k, std::string_view name) {
    if (last_.size() <= k) [[unlikely]]
      grow(k);
    const uint32_t i = last_[k];
    if (i < schema.size() && same_text(schema.name(i), name)) return i;
    return std::nullopt;
  }
  void remember(size_t k, uint32_t index) { last_[k] = index; }

 private:
  [[gnu::noinline]] void grow(size_t k) { last_.resize(k + 1, UINT32_MAX); }
  std::vector<uint32_t> last_;
};

}  // namespace

namespace {

// The loop both featurizers share: resolve(name) gives a field's index (nullopt: left
// out), add_category(x, index, text) adds a text field.
template <class Resolve, class AddCategory>
Status featurize_with(const Pipeline& pipeline, std::span<const EventField> fields, Features& x,
                      LastNames& last, Resolve resolve, AddCategory add_category) {
  x.clear();
  const Schema& schema = pipeline.schema();
  for (size_t k = 0; k < fields.size(); ++k) {
    const EventField& f = fields[k];
    if (f.value.kind == ValueKind::kMissing) continue;
    if (f.value.kind == ValueKind::kText && !pipeline.encodes_categories()) {
      return no_encoder(f.name);
    }
    std::optional<uint32_t> index = last.at(schema, k, f.name);
    if (!index) {
      index = resolve(f.name);
      if (!index) continue;
      last.remember(k, *index);
    }
    if (f.value.kind == ValueKind::kNumber) {
      x.add(*index, f.value.number);
    } else {
      add_category(x, *index, f.value.text);
    }
  }
  return Status::ok();
}

}  // namespace

Status featurize_fields(Pipeline& pipeline, std::span<const EventField> fields, Features& x) {
  thread_local LastNames last;
  Schema& schema = pipeline.schema();
  return featurize_with(
      pipeline, fields, x, last,
      [&](std::string_view name) -> std::optional<uint32_t> { return schema.intern(name); },
      [&](Features& out, uint32_t index, std::string_view text) {
        pipeline.add_category(out, index, text);
      });
}

Status featurize_known_fields(const Pipeline& pipeline, std::span<const EventField> fields,
                              Features& x) {
  thread_local LastNames last;
  const Schema& schema = pipeline.schema();
  return featurize_with(
      pipeline, fields, x, last, [&](std::string_view name) { return schema.find(name); },
      [&](Features& out, uint32_t index, std::string_view text) {
        pipeline.add_known_category(out, index, text);
      });
}

}  // namespace rtml::runtime
