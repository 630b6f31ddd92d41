#include "rtml/runtime/field_featurizer.h"

#include "rtml/core/excerpt.h"

namespace rtml::runtime {
namespace {

Status no_encoder(std::string_view name) {
  return Status::error("feature '" + excerpt(name) +
                       "' is a text (a category), and the model has no step that reads "
                       "categories: add one_hot or feature_hasher, or send a number");
}

}  // namespace

Status featurize_fields(Pipeline& pipeline, std::span<const EventField> fields, Features& x) {
  x.clear();
  Schema& schema = pipeline.schema();
  for (const EventField& f : fields) {
    if (f.value.kind == ValueKind::kNumber) {
      x.add(schema.intern(f.name), f.value.number);
    } else if (f.value.kind == ValueKind::kText) {
      if (!pipeline.encodes_categories()) return no_encoder(f.name);
      pipeline.add_category(x, schema.intern(f.name), f.value.text);
    }
  }
  return Status::ok();
}

Status featurize_known_fields(const Pipeline& pipeline, std::span<const EventField> fields,
                              Features& x) {
  x.clear();
  const Schema& schema = pipeline.schema();
  // The index the field at each position had in the last event this thread featurized:
  // a stream's events name the same fields in the same order, so most lookups are one
  // comparison of a short name (checked against the schema itself, so any schema may
  // come next) instead of hashing it.
  thread_local std::vector<uint32_t> last;
  if (last.size() < fields.size()) last.resize(fields.size(), UINT32_MAX);
  for (size_t k = 0; k < fields.size(); ++k) {
    const EventField& f = fields[k];
    if (f.value.kind == ValueKind::kMissing) continue;
    if (f.value.kind == ValueKind::kText && !pipeline.encodes_categories()) {
      return no_encoder(f.name);
    }
    std::optional<uint32_t> index;
    if (last[k] < schema.size() && schema.name(last[k]) == f.name) {
      index = last[k];
    } else {
      index = schema.find(f.name);
      if (index) last[k] = *index;
    }
    if (!index) continue;
    if (f.value.kind == ValueKind::kNumber) {
      x.add(*index, f.value.number);
    } else {
      pipeline.add_known_category(x, *index, f.value.text);
    }
  }
  return Status::ok();
}

}  // namespace rtml::runtime
