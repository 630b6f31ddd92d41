#include "rtml/runtime/frozen_comparison.h"

#include "rolling_mean.h"
#include "rtml/core/error.h"
#include "rtml/learn/pipeline.h"
#include "rtml/runtime/runtime.h"
#include "rtml/stream/row_source.h"

namespace rtml::runtime {
namespace {}  // namespace

FrozenComparisonResult compare_with_frozen(const FrozenComparisonOptions& o,
                                           const std::function<bool()>& stop) {
  if (o.window < 1) throw Error("the rolling window must be at least 1 event");
  FrozenComparisonResult r;
  r.freeze_at = o.freeze_at;
  DecodeOptions d;
  d.types[o.target] = ColumnType::kCategorical;
  if (r.freeze_at == 0) {
    // Half the stream: count it first (a file; a live stream needs freeze_at).
    auto counting = open_source(o.source, d);
    Row row;
    uint64_t n = 0;
    while (counting->next(row)) ++n;
    r.freeze_at = n / 2;
  }
  Pipeline online_model(o.model), frozen_model(o.model);
  if (online_model.task() == Task::kRegression) {
    throw Error("the comparison scores accuracy: '" + o.model + "' is not a classifier");
  }
  Runtime::Options ro{{o.target, {}}, {}};
  Runtime online(online_model, ro), frozen(frozen_model, ro);
  online.set_binary(online_model.task() == Task::kBinary);
  frozen.set_binary(frozen_model.task() == Task::kBinary);
  auto source = open_source(o.source, d);
  online.sync_columns(source->columns());
  frozen.sync_columns(source->columns());
  detail::RollingMean online_rolling(o.window), frozen_rolling(o.window);
  uint64_t hits[3] = {};  // online before, online after, frozen after
  const uint64_t step = std::max<uint64_t>(1, r.freeze_at / 200);
  Row row;
  Prediction p, q;
  Target y, z;
  bool has_target = false;
  size_t columns = source->columns().size();
  while (source->next(row)) {
    if (source->columns().size() != columns) {
      columns = source->columns().size();
      online.sync_columns(source->columns());
      frozen.sync_columns(source->columns());
    }
    const bool after = r.events >= r.freeze_at;
    if (!online.predict_then_learn(row, p, y)) continue;  // no usable target
    const bool online_hit = p.has_label && p.label == y.label;
    // Frozen: only predicts after the freeze, predicts then learns before it.
    if (after ? !frozen.score(row, 0, q, &z, &has_target) : !frozen.predict_then_learn(row, q, z)) {
      continue;
    }
    const bool frozen_hit = q.has_label && q.label == z.label;
    ++r.events;
    online_rolling.add(online_hit);
    frozen_rolling.add(frozen_hit);
    if (after) {
      hits[1] += online_hit;
      hits[2] += frozen_hit;
    } else {
      hits[0] += online_hit;
    }
    if (r.events % step == 0) {
      r.curve_x.push_back(static_cast<double>(r.events));
      r.online_rolling.push_back(online_rolling.mean(0));
      r.frozen_rolling.push_back(frozen_rolling.mean(0));
    }
    if ((r.events & 4095) == 0 && stop && stop()) {
      r.stopped = true;
      break;
    }
  }
  const uint64_t before = std::min(r.events, r.freeze_at), after = r.events - before;
  if (before) r.online_before = static_cast<double>(hits[0]) / static_cast<double>(before);
  if (after) {
    r.online_after = static_cast<double>(hits[1]) / static_cast<double>(after);
    r.frozen_after = static_cast<double>(hits[2]) / static_cast<double>(after);
  }
  return r;
}

}  // namespace rtml::runtime
