// SharedPredictionLog: the records of predictions waiting for their labels, kept in Redis
// so that a label that reaches another worker than its event still teaches a model with
// the features that event was predicted with (DESIGN.md, "Scale-out").
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "rtml/store/redis_connection.h"

namespace rtml::runtime {

// One string per event id, "<prefix>:log:{<id>}", expiring seconds after it was put.
// put() is pipelined (its replies read in batches and by flush()); take() is one round
// trip. An entry stays until it expires: a label learned by a worker that dies before
// its checkpoint comes again (the labels stream delivers it again) and must find it.
// Not thread-safe.
class SharedPredictionLog {
 public:
  // Connects; throws Error naming the server.
  SharedPredictionLog(const store::RedisOptions& redis, double seconds);

  // Keeps record (the event's fields and enrichment, a JSON object) under id.
  void put(std::string_view id, std::string_view record);
  // The record kept under id, if any (flushes the puts first: a worker finds its own).
  std::optional<std::string> get(std::string_view id);
  // Returns once Redis holds every record put; throws Error if it refused one.
  void flush();

 private:
  void drain(size_t keep);
  // The key of id, built in key_ (reused: no allocation per prediction).
  const std::string& key(std::string_view id);

  store::RedisConnection redis_;
  std::string prefix_;
  std::string seconds_;
  size_t outstanding_ = 0;
  std::string key_;
};

}  // namespace rtml::runtime
