// LocalRedis: a redis-server of our own, on a free loopback port, for the tests and for
// `rtml bench store`, stopped when the object goes.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace rtml::store {

// Starts `redis-server` (from PATH) bound to 127.0.0.1 on a free port, without
// persistence, and waits up to 5 s until it accepts connections. Throws Error if it
// does not. Not copyable; the destructor stops the server (SIGTERM) and reaps it.
class LocalRedis {
 public:
  // args: more of redis-server's options, as on its command line (ACL users, say:
  // {"--user", "default", "off", "--user", "w", "on", ">secret", "~*", "&*", "+@all"}).
  explicit LocalRedis(std::vector<std::string> args = {});
  ~LocalRedis();
  LocalRedis(const LocalRedis&) = delete;
  LocalRedis& operator=(const LocalRedis&) = delete;

  int port() const { return port_; }

 private:
  void stop();
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace rtml::store
