#include "rtml/store/redis_connection.h"

#include <hiredis/hiredis.h>

#include <cmath>

#include "rtml/core/error.h"

namespace rtml::store {

void RedisReplyDeleter::operator()(redisReply* r) const {
  if (r) freeReplyObject(r);
}

RedisConnection::RedisConnection(const RedisOptions& options) : options_(options) {
  timeval tv{static_cast<time_t>(options_.timeout_seconds),
             static_cast<suseconds_t>(std::fmod(options_.timeout_seconds, 1.0) * 1e6)};
  c_ = redisConnectWithTimeout(options_.host.c_str(), options_.port, tv);
  const std::string at = "redis at " + options_.host + ":" + std::to_string(options_.port) + ": ";
  if (!c_ || c_->err) {
    std::string why = c_ ? c_->errstr : "out of memory";
    if (c_) redisFree(c_);
    c_ = nullptr;
    throw Error(at + "cannot connect: " + why);
  }
  redisSetTimeout(c_, tv);
  auto fail = [&](const std::string& why) {
    redisFree(c_);
    c_ = nullptr;
    throw Error(at + why);
  };
  auto error_of = [&](const RedisReplyPtr& r) -> std::string {
    if (!r) return c_->errstr[0] ? c_->errstr : "no answer";
    if (r->type == REDIS_REPLY_ERROR) return std::string(r->str, r->len);
    return {};
  };
  auto send = [&](const std::vector<std::string_view>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (auto a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    return RedisReplyPtr(static_cast<redisReply*>(
        redisCommandArgv(c_, static_cast<int>(argv.size()), argv.data(), lens.data())));
  };
  if (!options_.password.empty()) {
    // Once: a refused password is the operator's mistake, which no retry mends (and
    // retries would look like a guessing attack to the server's ACL log).
    RedisReplyPtr r = options_.user.empty() ? send({"AUTH", options_.password})
                                            : send({"AUTH", options_.user, options_.password});
    if (std::string e = error_of(r); !e.empty()) {
      fail("authentication failed" +
           (options_.user.empty() ? std::string(" (password only, the default user)")
                                  : " for user '" + options_.user + "'") +
           ": " + e);
    }
  }
  if (options_.db != 0) {
    const std::string db = std::to_string(options_.db);
    if (std::string e = error_of(send({"SELECT", db})); !e.empty()) {
      fail("cannot select database " + db + ": " + e);
    }
  }
  if (std::string e = error_of(send({"PING"})); !e.empty()) {
    if (e.rfind("NOAUTH", 0) == 0) {
      fail(
          "the server asks for credentials: give them in the URL "
          "(redis://user:password@host:port)");
    }
    fail("no answer to PING: " + e);
  }
}

RedisConnection::~RedisConnection() {
  if (c_) redisFree(c_);
}

std::string RedisConnection::where() const {
  return "redis " + options_.host + ":" + std::to_string(options_.port) + ": ";
}

void RedisConnection::append(const std::vector<std::string_view>& args) {
  if (c_->err) throw Error(where() + c_->errstr);
  // Small vectors on the stack: commands are short, and this is on the per-event path.
  constexpr size_t kInline = 16;
  const char* argv_inline[kInline];
  size_t lens_inline[kInline];
  std::vector<const char*> argv_heap;
  std::vector<size_t> lens_heap;
  const char** argv = argv_inline;
  size_t* lens = lens_inline;
  if (args.size() > kInline) {
    argv_heap.resize(args.size());
    lens_heap.resize(args.size());
    argv = argv_heap.data();
    lens = lens_heap.data();
  }
  for (size_t i = 0; i < args.size(); ++i) {
    argv[i] = args[i].data();
    lens[i] = args[i].size();
  }
  if (redisAppendCommandArgv(c_, static_cast<int>(args.size()), argv, lens) != REDIS_OK) {
    throw Error(where() + c_->errstr);
  }
}

RedisReplyPtr RedisConnection::reply() {
  redisReply* raw = nullptr;
  if (redisGetReply(c_, reinterpret_cast<void**>(&raw)) != REDIS_OK || !raw) {
    throw Error(where() + (c_->errstr[0] ? c_->errstr : "no answer"));
  }
  return RedisReplyPtr(raw);
}

RedisReplyPtr RedisConnection::command(const std::vector<std::string_view>& args) {
  append(args);
  return reply();
}

RedisReplyPtr RedisConnection::checked(const std::vector<std::string_view>& args,
                                       std::string_view what) {
  RedisReplyPtr r = command(args);
  if (r->type == REDIS_REPLY_ERROR) {
    throw Error(where() + "cannot " + std::string(what) + ": " + std::string(r->str, r->len));
  }
  return r;
}

}  // namespace rtml::store
