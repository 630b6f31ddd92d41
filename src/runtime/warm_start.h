// Warm start: a model learns from the training log before its run's first event.
// Private to the runtime module.
#pragma once

#include <cstdint>
#include <string>

#include "rtml/learn/pipeline.h"
#include "rtml/runtime/featurizer.h"

namespace rtml::runtime::detail {

// Learns, through a runtime of its own (no store: the records hold what was read from
// it), from every record of the training log in dir. Returns how many it learned from.
uint64_t warm_start(const std::string& dir, Pipeline& pipeline, Featurizer::Roles roles);

}  // namespace rtml::runtime::detail
