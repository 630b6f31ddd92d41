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
//
// Redis Cluster: a server started with cluster-enabled is found at connect (CLUSTER
// SLOTS answers), and the connection then routes each command to the master of its
// key's hash slot (CRC16 of the key, or of its {hash tag}), connecting to the other
// masters as they are needed, with the same credentials. A MOVED reply refreshes the
// slot map and sends the command again where it now belongs; an ASK reply (a slot being
// migrated) sends it once to the named node after ASKING. Every key of one command must
// be in one slot (hash tags). SCRIPT goes to every master. hiredis 0.14 has no cluster
// support of its own; this is the part of it rtml needs.
//
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
  // order. On a cluster, commands queued for several masters travel in parallel.
  void append(const std::vector<std::string_view>& args);
  // The reply to the oldest queued command. Throws Error if the connection fails.
  RedisReplyPtr reply();
  // Reads and drops the replies to the n oldest queued commands (writes pipelined for
  // throughput); returns the first error reply's message, "" if none. Throws Error if
  // the connection fails.
  std::string discard_replies(size_t n);

  // "redis HOST:PORT: ", to start a message about this server.
  std::string where() const;
  const RedisOptions& options() const { return options_; }
  // The first server's connection (for SUBSCRIBE, which any node of a cluster serves).
  redisContext* raw() { return nodes_[0].c; }

  // Whether the server is a Redis Cluster, and how many masters this connection knows.
  bool cluster() const { return !slots_.empty(); }
  size_t masters() const;
  // The number of MOVED and ASK replies followed so far.
  uint64_t redirects() const { return redirects_; }
  // The hash slot of a key (0..16383), as Redis Cluster computes it.
  static uint16_t slot_of(std::string_view key);

 private:
  struct Node {
    std::string host;
    int port = 0;
    redisContext* c = nullptr;
  };
  struct Pending {
    size_t node;
    std::vector<std::string> args;  // kept on a cluster, to send again if redirected
  };
  // A connection to host:port, authenticated and checked; throws Error.
  redisContext* connect(const std::string& host, int port) const;
  // The node at host:port, connected if new.
  size_t node_at(const std::string& host, int port);
  // Reads the slot map (CLUSTER SLOTS) from any node that answers.
  void refresh_slots();
  // The node args go to.
  size_t route(const std::vector<std::string_view>& args) const;
  void send(size_t node, const std::vector<std::string_view>& args);
  RedisReplyPtr read(size_t node);
  // Follows a MOVED or ASK reply to the command args (up to 5 times).
  RedisReplyPtr follow(RedisReplyPtr r, const std::vector<std::string>& args);
  std::string where(const Node& n) const;

  RedisOptions options_;
  std::vector<Node> nodes_;      // nodes_[0]: the server the options name
  std::vector<uint16_t> slots_;  // slot -> node; empty: not a cluster
  std::vector<Pending> pending_;
  size_t pending_at_ = 0;   // the oldest pending not yet read
  bool unflushed_ = false;  // commands appended since the last read
  uint64_t redirects_ = 0;
};

}  // namespace rtml::store
