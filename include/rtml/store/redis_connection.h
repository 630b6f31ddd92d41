// RedisConnection: one authenticated connection to Redis, shared by everything in rtml
// that talks to it (the Redis feature store, stream sources and sinks).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rtml/store/redis_store.h"

struct redisContext;
struct redisReply;

namespace rtml::store {

// Frees a hiredis reply.
struct RedisReplyDeleter {
  void operator()(redisReply* r) const;
};
using RedisReplyPtr = std::unique_ptr<redisReply, RedisReplyDeleter>;

// A connection made from RedisOptions (host, port, credentials, database, timeout):
// connects, sends AUTH once (a refused password is an operator's mistake that no retry
// mends), SELECTs the database and checks with PING. Commands are argument vectors
// (binary-safe), sent one at a time or pipelined (append, then one reply per command).
// A connection that failed (timeout, reset) stays failed: every later call throws.
// Not thread-safe: one connection per thread.
class RedisConnection {
 public:
  // Throws Error naming host:port if Redis does not answer, refuses the credentials or
  // asks for credentials none were given for. The message never shows the password.
  explicit RedisConnection(const RedisOptions& options);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Sends args and waits for the reply. Throws Error (naming the server) if the
  // connection fails; a Redis error reply is returned as it is (REDIS_REPLY_ERROR).
  RedisReplyPtr command(const std::vector<std::string_view>& args);
  // The same, for a reply that must not be an error: throws Error naming the server,
  // what (the command's purpose) and Redis's message.
  RedisReplyPtr checked(const std::vector<std::string_view>& args, std::string_view what);
  // Queues args without waiting; each queued command's reply is read with reply(), in
  // order.
  void append(const std::vector<std::string_view>& args);
  // The reply to the oldest queued command. Throws Error if the connection fails.
  RedisReplyPtr reply();

  // "redis HOST:PORT: ", to start a message about this server.
  std::string where() const;
  const RedisOptions& options() const { return options_; }
  redisContext* raw() { return c_; }

 private:
  RedisOptions options_;
  redisContext* c_ = nullptr;
};

}  // namespace rtml::store
