#include "rtml/runtime/model_channel.h"

#include <hiredis/hiredis.h>
#include <poll.h>

#include <cstring>

#include "rtml/core/error.h"

namespace rtml::runtime {

ModelPublisher::ModelPublisher(const store::RedisOptions& redis, std::string key)
    : redis_(redis), key_(std::move(key)) {}

uint64_t ModelPublisher::publish(const Pipeline& pipeline) {
  store::RedisReplyPtr r = redis_.checked({"INCR", key_ + ":version"}, "count model versions");
  const auto version = static_cast<uint64_t>(r->integer);
  value_.assign(reinterpret_cast<const char*>(&version), 8);
  value_ += pipeline.to_bytes();
  const std::string v = std::to_string(version);
  redis_.append({"SET", key_ + ":model", value_});
  redis_.append({"PUBLISH", key_, v});
  store::RedisReplyPtr set = redis_.reply();
  store::RedisReplyPtr pub = redis_.reply();
  for (const auto* e : {set.get(), pub.get()}) {
    if (e->type == REDIS_REPLY_ERROR) {
      throw Error(redis_.where() + "cannot publish model version " + v + " to '" + key_ +
                  "': " + std::string(e->str, e->len));
    }
  }
  return version;
}

ModelFollower::ModelFollower(const store::RedisOptions& redis, std::string key)
    : options_(redis), key_(std::move(key)) {
  reads_ = std::make_unique<store::RedisConnection>(options_);
  subscription_ = std::make_unique<store::RedisConnection>(options_);
  // Subscribed before the first read: a version published in between is announced.
  subscription_->append({"SUBSCRIBE", key_});
  store::RedisReplyPtr r = subscription_->reply();
  if (r->type == REDIS_REPLY_ERROR) {
    throw Error(subscription_->where() + "cannot subscribe to '" + key_ +
                "': " + std::string(r->str, r->len));
  }
  load();
  thread_ = std::thread([this] { run(); });
}

ModelFollower::~ModelFollower() {
  stop_ = true;
  thread_.join();
}

void ModelFollower::load() {
  try {
    store::RedisReplyPtr r = reads_->command({"GET", key_ + ":model"});
    if (r->type != REDIS_REPLY_STRING || r->len < 8) return;  // none published yet
    uint64_t version;
    std::memcpy(&version, r->str, 8);
    {
      std::lock_guard lock(mu_);
      if (version <= last_version_) return;
    }
    auto p = std::make_unique<Pipeline>(Pipeline::from_bytes(
        std::string(r->str + 8, r->len - 8), key_ + ":model v" + std::to_string(version)));
    std::lock_guard lock(mu_);
    ready_ = std::move(p);
    ready_version_ = last_version_ = version;
    fresh_ = true;
    ++loaded_;
  } catch (const Error& e) {
    std::lock_guard lock(mu_);
    error_ = e.what();
  }
}

void ModelFollower::run() {
  redisContext* c = subscription_->raw();
  while (!stop_) {
    // Waits for an announcement with a timeout, so that the destructor is not kept waiting.
    pollfd p{c->fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    if (redisBufferRead(c) != REDIS_OK) {
      std::lock_guard lock(mu_);
      error_ = subscription_->where() + "the subscription ended: " + c->errstr;
      return;
    }
    bool announced = false;
    void* raw = nullptr;
    while (redisGetReplyFromReader(c, &raw) == REDIS_OK && raw) {
      store::RedisReplyPtr m(static_cast<redisReply*>(raw));
      announced = announced || (m->type == REDIS_REPLY_ARRAY && m->elements == 3);
      raw = nullptr;
    }
    // Several announcements read at once: the newest version is the one to load.
    if (announced) load();
  }
}

std::unique_ptr<Pipeline> ModelFollower::take(uint64_t* version) {
  if (!fresh_.load(std::memory_order_acquire)) return nullptr;
  std::lock_guard lock(mu_);
  fresh_ = false;
  if (version) *version = ready_version_;
  return std::move(ready_);
}

std::string ModelFollower::last_error() const {
  std::lock_guard lock(mu_);
  return error_;
}

}  // namespace rtml::runtime
