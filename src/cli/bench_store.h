// rtml bench store: the feature store benchmark table.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rtml::cli {

struct BenchStoreOptions {
  uint64_t entities = 1000000;
  size_t ops = 200000;  // per thread and row (fewer for fsync=always and Redis)
  bool json = false;
  bool no_redis = false;
  // Only load the entities into a memory-only store and report peak RSS per entity.
  bool memory_only = false;
};

// Prints get/put latency percentiles and throughput for the embedded store (WAL off,
// every=10ms, always) and for Redis on loopback (a redis-server it starts), with 1 and
// 2 threads, over `entities` entities of 8 numeric features.
int run_bench_store(const BenchStoreOptions& options);

}  // namespace rtml::cli
