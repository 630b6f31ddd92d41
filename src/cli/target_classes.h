// How rtml eval decides the classes of a classification target.
#pragma once

#include <cstddef>

#include "eval_runner.h"
#include "rtml/learn/pipeline.h"
#include "rtml/stream/lookahead_source.h"

namespace rtml::cli {

// How far the decision reads ahead: rows, and bytes held (a guard against huge rows).
inline constexpr size_t kClassLookaheadRows = 10000;
inline constexpr size_t kClassLookaheadBytes = size_t{64} << 20;

// Decides the classes of config.target in pipeline.labels(), before the first row is
// learned, by one rule whatever the source (file, gzip, stdin, FIFO): from the rows that
// source.read_ahead() holds, so the source is never read twice.
//
// The target's distinct values among the first kClassLookaheadRows rows (fewer if they
// pass kClassLookaheadBytes, a third value shows up, or the input ends):
//  - two: a binary target; the positive class is config.positive (one of the two, else
//    an Error), or else the greater of the two, numerically when both are numbers, else
//    as text ("1" over "0", "UP" over "DOWN", "true" over "false", "10" over "9");
//  - three or more: multiclass; an Error for a binary classifier;
//  - one or none: binary only for a binary classifier: config.positive is then the
//    positive class, or else the first value seen is the negative one.
// Classes loaded with a model are kept. Returns whether the target is binary (binary
// metrics are kept). A read stopped on request (ReadStopped) ends the look-ahead there;
// other errors of the source propagate.
bool decide_classes(LookaheadSource& source, const EvalConfig& config, Pipeline& pipeline);

}  // namespace rtml::cli
