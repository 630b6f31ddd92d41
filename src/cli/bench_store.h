// rtml bench store: the feature store benchmark table.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rtml::cli {

struct BenchStoreOptions {
  uint64_t entities = 1000000;
  size_t ops = 200000;  // puts per thread and row (fewer for fsync=always and Redis)
  // Embedded gets per thread and row: more than puts, since a get takes a tenth of
  // the time and a pass of 200,000 (30 ms) measured the host's noise more than the
  // store (1-thread gets 4.6-7.7 M/s in consecutive runs).
  size_t get_ops = 2000000;
  bool json = false;
  bool no_redis = false;
  bool redis_only = false;  // only the Redis rows (and redis-benchmark's)
  // Only load the entities into a memory-only store and report peak RSS per entity.
  bool memory_only = false;
};

// Prints get/put latency percentiles and throughput for the embedded store (WAL off,
// every=10ms, always) and for Redis on loopback (a redis-server it starts), with 1 and
// 2 threads, over `entities` entities of 8 numeric features.
int run_bench_store(const BenchStoreOptions& options);

}  // namespace rtml::cli
