// ReplicaAverager: data-parallel learning across workers. Each worker's model replica
// learns from its own share of the stream; every so often it publishes itself to Redis
// and is replaced by the average of the latest replicas there (DESIGN.md, "Scale-out").
#pragma once

#include <cstdint>
#include <string>

#include "rtml/learn/pipeline.h"
#include "rtml/store/redis_connection.h"

namespace rtml::runtime {

// Layout: the hash `key` holds one field per replica (its name), the value the events
// it had learned from (8 bytes), the time it was written (8 bytes, seconds since the
// epoch) and the pipeline's bytes (Pipeline::to_bytes). A merge writes this replica's
// field, reads the others' (one HGETALL) and averages, weighting each replica by the
// events it learned from; replicas not written for `stale_seconds` (a worker gone) are
// left out. Asynchronous: no worker waits for another, so a merge may read a replica as
// it stood one interval ago. Not thread-safe.
class ReplicaAverager {
 public:
  // Connects. Throws Error naming the server.
  ReplicaAverager(const store::RedisOptions& redis, std::string key, std::string name,
                  double stale_seconds = 60);

  // Publishes pipeline (which learned from `learned` events) and averages it in place with
  // the other replicas. Returns how many others it averaged with. Throws Error if Redis
  // fails or the pipeline cannot be averaged (Pipeline::average); a replica whose bytes
  // cannot be read (another version) is left out.
  size_t merge(Pipeline& pipeline, uint64_t learned);

  uint64_t merges() const { return merges_; }

 private:
  store::RedisConnection redis_;
  std::string key_, name_;
  double stale_seconds_;
  std::string value_;
  uint64_t merges_ = 0;
};

}  // namespace rtml::runtime
