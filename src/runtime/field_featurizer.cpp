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
  for (const EventField& f : fields) {
    if (f.value.kind == ValueKind::kMissing) continue;
    if (f.value.kind == ValueKind::kText && !pipeline.encodes_categories()) {
      return no_encoder(f.name);
    }
    auto index = schema.find(f.name);
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
