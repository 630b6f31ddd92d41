#include "rtml/runtime/replica_averaging.h"

#include <hiredis/hiredis.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <vector>

#include "rtml/core/error.h"

namespace rtml::runtime {
namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

ReplicaAverager::ReplicaAverager(const store::RedisOptions& redis, std::string key,
                                 std::string name, double stale_seconds)
    : redis_(redis), key_(std::move(key)), name_(std::move(name)), stale_seconds_(stale_seconds) {}

size_t ReplicaAverager::merge(Pipeline& pipeline, uint64_t learned) {
  const double now = now_seconds();
  value_.assign(reinterpret_cast<const char*>(&learned), 8);
  value_.append(reinterpret_cast<const char*>(&now), 8);
  value_ += pipeline.to_bytes();
  redis_.append({"HSET", key_, name_, value_});
  redis_.append({"HGETALL", key_});
  store::RedisReplyPtr set = redis_.reply();
  store::RedisReplyPtr all = redis_.reply();
  if (set->type == REDIS_REPLY_ERROR || all->type == REDIS_REPLY_ERROR) {
    const redisReply* e = set->type == REDIS_REPLY_ERROR ? set.get() : all.get();
    throw Error(redis_.where() + "cannot exchange replicas in '" + key_ +
                "': " + std::string(e->str, e->len));
  }
  std::vector<Pipeline> replicas;
  std::vector<double> weights;
  for (size_t i = 0; all->type == REDIS_REPLY_ARRAY && i + 1 < all->elements; i += 2) {
    const redisReply* field = all->element[i];
    const redisReply* value = all->element[i + 1];
    if (std::string_view(field->str, field->len) == name_ || value->len < 16) continue;
    uint64_t n;
    double written;
    std::memcpy(&n, value->str, 8);
    std::memcpy(&written, value->str + 8, 8);
    if (now - written > stale_seconds_ || n == 0) continue;
    try {
      replicas.push_back(Pipeline::from_bytes(std::string(value->str + 16, value->len - 16),
                                              key_ + "/" + std::string(field->str, field->len)));
      weights.push_back(static_cast<double>(n));
    } catch (const Error&) {
      // Another version of rtml, or a replica of another pipeline: not one of ours.
    }
  }
  std::vector<std::pair<const Pipeline*, double>> others;
  for (size_t i = 0; i < replicas.size(); ++i) {
    if (replicas[i].description() == pipeline.description()) {
      others.emplace_back(&replicas[i], weights[i]);
    }
  }
  if (!others.empty()) pipeline.average(static_cast<double>(learned), others);
  ++merges_;
  return others.size();
}

}  // namespace rtml::runtime
