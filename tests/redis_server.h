// A redis-server started by a test on a free loopback port, stopped at the end.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "rtml/core/error.h"
#include "rtml/store/local_redis.h"

namespace rtml::test {

// Like store::LocalRedis, but a failure to start shows as up() == false, so that the
// test can fail with a message instead of an exception.
class RedisServer {
 public:
  // args: more of redis-server's options (see store::LocalRedis).
  explicit RedisServer(std::vector<std::string> args = {}) {
    try {
      redis_ = std::make_unique<store::LocalRedis>(std::move(args));
    } catch (const Error&) {
    }
  }
  int port() const { return redis_ ? redis_->port() : 0; }
  bool up() const { return redis_ != nullptr; }

 private:
  std::unique_ptr<store::LocalRedis> redis_;
};

}  // namespace rtml::test
