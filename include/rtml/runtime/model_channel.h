// Model snapshots through Redis: one worker learns and publishes versioned snapshots;
// others (servers) predict with the newest, reloaded when one is announced (pub/sub),
// between two events: predictions never pause for a load (DESIGN.md, "Scale-out").
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "rtml/learn/pipeline.h"
#include "rtml/store/redis_connection.h"

namespace rtml::runtime {

// Layout: `<key>:version` counts versions (INCR); `<key>:model` holds the newest, its
// version (8 bytes) then Pipeline::to_bytes(); each publish is announced on the channel
// `<key>` with the version as the message.

// Publishes snapshots of the learner's pipeline. Not thread-safe.
class ModelPublisher {
 public:
  // Connects. Throws Error naming the server.
  ModelPublisher(const store::RedisOptions& redis, std::string key);
  // Writes pipeline as the next version and announces it; returns the version. Throws
  // Error if Redis refuses or fails.
  uint64_t publish(const Pipeline& pipeline);

 private:
  store::RedisConnection redis_;
  std::string key_;
  std::string value_;
};

// Follows the snapshots a ModelPublisher writes: a thread of its own subscribes to the
// channel, and on each announcement reads and decodes the new version, so that taking it
// (take()) costs the predicting thread a pointer swap. Starts with the newest version
// already there, if any. Thread-safe: take() from one thread while the follower's own
// thread loads.
class ModelFollower {
 public:
  // Connects (two connections: the subscription and the reads) and starts the thread.
  // Throws Error naming the server.
  ModelFollower(const store::RedisOptions& redis, std::string key);
  ~ModelFollower();
  ModelFollower(const ModelFollower&) = delete;
  ModelFollower& operator=(const ModelFollower&) = delete;

  // The newest version decoded since the last call, or null. Never waits for Redis.
  std::unique_ptr<Pipeline> take(uint64_t* version = nullptr);
  // Versions loaded so far, and the last error the thread met ("" if none): a snapshot
  // that cannot be read is skipped and the next one waited for.
  uint64_t loaded() const { return loaded_.load(); }
  std::string last_error() const;

 private:
  void run();
  void load();  // reads <key>:model and makes it ready

  store::RedisOptions options_;
  std::string key_;
  std::unique_ptr<store::RedisConnection> reads_, subscription_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> fresh_{false};  // ready_ holds a version not taken yet
  mutable std::mutex mu_;
  std::unique_ptr<Pipeline> ready_;
  uint64_t ready_version_ = 0, last_version_ = 0;
  std::string error_;
  std::atomic<uint64_t> loaded_{0};
};

}  // namespace rtml::runtime
