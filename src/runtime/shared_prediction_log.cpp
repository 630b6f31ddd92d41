#include "rtml/runtime/shared_prediction_log.h"

#include <hiredis/hiredis.h>

#include <cmath>

#include "rtml/core/error.h"

namespace rtml::runtime {

SharedPredictionLog::SharedPredictionLog(const store::RedisOptions& redis, double seconds)
    : redis_(redis),
      prefix_(redis.prefix),
      seconds_(std::to_string(std::max<long long>(1, std::llround(seconds)))) {}

const std::string& SharedPredictionLog::key(std::string_view id) {
  // The id as a hash tag: on a Redis Cluster, each entry goes to its own slot's master.
  key_.assign(prefix_);
  key_ += ":log:{";
  key_ += id;
  key_ += '}';
  return key_;
}

void SharedPredictionLog::put(std::string_view id, std::string_view record) {
  redis_.append({"SET", key(id), record, "EX", seconds_});
  if (++outstanding_ >= 1024) drain(256);
}

std::optional<std::string> SharedPredictionLog::get(std::string_view id) {
  flush();
  store::RedisReplyPtr r = redis_.command({"GET", key(id)});
  if (r->type == REDIS_REPLY_ERROR) {
    throw Error(redis_.where() + "cannot read the prediction log: " + std::string(r->str, r->len));
  }
  if (r->type != REDIS_REPLY_STRING) return std::nullopt;
  return std::string(r->str, r->len);
}

void SharedPredictionLog::drain(size_t keep) {
  if (outstanding_ <= keep) return;
  const size_t n = outstanding_ - keep;
  outstanding_ = keep;
  if (std::string error = redis_.discard_replies(n); !error.empty()) {
    throw Error(redis_.where() + "cannot keep a prediction for its label: " + error);
  }
}

void SharedPredictionLog::flush() { drain(0); }

}  // namespace rtml::runtime
