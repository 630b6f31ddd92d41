// rtml bench run: the runtime end to end, as rtml run drives it.
#pragma once

#include <cstdint>

namespace rtml::cli {

struct BenchRunOptions {
  int copies = 20;                 // Elec2 replayed this many times (45,312 events each)
  uint64_t paced_events = 300000;  // replayed at paced_rate for the latency figure
  double paced_rate = 100000;      // events per second
  bool json = false;
};

// Replays Elec2 x copies through rtml run's path (a scaler and logistic regression, one
// store read and one aggregate update per event keyed by `period`, a JSON Lines
// predictions sink): events per second as fast as it goes, then the latency from an
// event's due time to its prediction's flushed write at paced_rate. Prints a table, or
// with json one line {"events_per_second", "p99_ms_at_100k", ...}. Returns the exit code.
int run_bench_run(const BenchRunOptions& options);

}  // namespace rtml::cli
