// rtml bench scale: rtml run workers of one consumer group on a Redis stream.
#pragma once

#include <cstdint>
#include <vector>

namespace rtml::cli {

struct BenchScaleOptions {
  uint64_t events = 200000;        // in the stream before the workers start
  std::vector<int> workers{1, 2};  // a row for each count
  bool checkpoint = false;         // workers checkpoint every second (else ack per 100 ms)
  bool json = false;
};

// For each worker count: starts a redis-server on loopback, adds `events` events (8
// numeric features and a label, as JSON in the field "event") to rtml:events, starts that
// many `rtml run` workers of one group (standard_scaler | logistic_regression,
// predictions to rtml:predictions) and times them until every event has its prediction.
// Prints events/s, the CPU Redis and the workers took (shares of one core), and Redis's
// own counts per event (commands, bytes in and out): the per-event costs an estimate
// past one machine starts from. Returns the exit code.
int run_bench_scale(const BenchScaleOptions& options);

}  // namespace rtml::cli
