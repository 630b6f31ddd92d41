// Field featurizer: an event given as named fields (an HTTP request's, a Python dict's)
// as the pipeline's Features.
#pragma once

#include <span>

#include "rtml/core/features.h"
#include "rtml/core/row.h"
#include "rtml/core/status.h"
#include "rtml/learn/pipeline.h"

namespace rtml::runtime {

// Writes the fields of an event to x (cleared first): a number under its name's index,
// a text as a category of its name's column, read the way the pipeline reads categories
// (Pipeline::add_category); missing values are left out. Refused, with the field named,
// for a text when no step of the pipeline reads categories.
//
// The learning thread's form interns new names and categories in the pipeline's schema.
Status featurize_fields(Pipeline& pipeline, std::span<const EventField> fields, Features& x);

// The reading form, for threads that predict from a pipeline nobody learns into (a
// published copy): a name or category the schema has not seen is left out (it has no
// weight yet). Changes nothing; safe on many threads at once.
Status featurize_known_fields(const Pipeline& pipeline, std::span<const EventField> fields,
                              Features& x);

}  // namespace rtml::runtime
