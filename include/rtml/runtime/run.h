// run(): replay a RunConfig's sources through the runtime, to its sinks.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "rtml/runtime/run_config.h"

namespace rtml::runtime {

// What a run did.
struct RunSummary {
  uint64_t events = 0;          // predicted
  uint64_t learned = 0;         // labels learned from (with their event or late)
  uint64_t dead_letters = 0;    // refused input, written to the dead-letter sink
  uint64_t labels_refused = 0;  // of them, labels (unknown id, expired, repeated, bad)
  uint64_t pending = 0;         // predictions still waiting for a label at the end
  uint64_t expired = 0;         // predictions whose label never came in time
  // Over the last 1,000 predictions whose label came: accuracy (classification) or mean
  // absolute error (regression); NaN before any. Updated at each progress call.
  double rolling_metric = NAN;
  bool regression = false;    // which of the two rolling_metric is
  uint64_t warm_started = 0;  // training log records learned from before the first event
  uint64_t checkpoints = 0;   // written by this process
  uint64_t resumed_at = 0;    // events read before this process, by the checkpoint it resumed
  double seconds = 0;         // of this process
  // A paced replay (source rate or speed): from an event's due time to its prediction's
  // write to the sink (flushed at once), over the events this process predicted.
  double latency_p50_ms = 0, latency_p99_ms = 0, latency_max_ms = 0;
  int signal = 0;  // the signal that stopped the run early, or 0
  // A Redis stream source: entries this process was given, of them taken over from
  // other consumers, and entries it acknowledged.
  uint64_t stream_entries = 0, stream_claimed = 0, stream_acked = 0;
  // Labels from a labels stream learned from a prediction another worker logged in Redis.
  uint64_t labels_from_log = 0;
  uint64_t model_versions = 0;  // snapshots a follower took (replicas.mode follow)
  // Times the run went back to its last acknowledged checkpoint because records it had
  // handled went to another worker unacknowledged (a Kafka rebalance): see GroupSource.
  uint64_t restarts = 0;
};

// How a run is watched and stopped.
struct RunControls {
  int stop_fd = -1;                     // readable once a stop is requested (StopSignals)
  std::function<int()> stop_requested;  // the signal that asked, or 0
  std::function<void(const RunSummary&)> progress;  // called every 4096 events
};

// Runs config: reads the events (and the labels stream, merged by event time), predicts
// on each event through one Runtime, learns from each label, writes a JSON line per
// prediction to sinks.predictions and one per refused record, with the reason, to
// sinks.dead_letters; bad input never stops the run. Saves the model at the end if
// model.save is set. With config.checkpoint, resumes from the last checkpoint if there is
// one, writes them as the config says, and writes one on the way out, a stop included: a
// run stopped by a signal then exits as it would at the end. Throws Error for what makes the run
// impossible (a missing file, a model that cannot be built or loaded, a sink that cannot be
// created).
RunSummary run(const RunConfig& config, const RunControls& controls = {});

}  // namespace rtml::runtime
