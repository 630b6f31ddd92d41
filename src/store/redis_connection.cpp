#include "rtml/store/redis_connection.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <set>
#include <thread>

#include "rtml/core/error.h"

namespace rtml::store {
namespace {

constexpr size_t kSlots = 16384;

// CRC16-CCITT (XMODEM), the checksum Redis Cluster maps keys to slots with.
uint16_t crc16(std::string_view s) {
  uint16_t crc = 0;
  for (unsigned char b : s) {
    crc ^= static_cast<uint16_t>(b << 8);
    for (int i = 0; i < 8; ++i) {
      crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                           : static_cast<uint16_t>(crc << 1);
    }
  }
  return crc;
}

bool same_word(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) ==
                  std::toupper(static_cast<unsigned char>(y));
         });
}

RedisReplyPtr argv_command(redisContext* c, const std::vector<std::string_view>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (auto a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  return RedisReplyPtr(static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data())));
}

// "MOVED 3999 127.0.0.1:6381" or "ASK ...": the node's host and port.
bool redirect_target(std::string_view error, std::string& host, int& port) {
  const size_t sp = error.rfind(' ');
  const size_t colon = error.rfind(':');
  if (sp == std::string_view::npos || colon == std::string_view::npos || colon < sp) return false;
  host.assign(error.substr(sp + 1, colon - sp - 1));
  auto r = std::from_chars(error.data() + colon + 1, error.data() + error.size(), port);
  return r.ec == std::errc();
}

}  // namespace

void RedisReplyDeleter::operator()(redisReply* r) const {
  if (r) freeReplyObject(r);
}

uint16_t RedisConnection::slot_of(std::string_view key) {
  // Only the part between the first '{' and the next '}' counts, if it is not empty:
  // keys with the same tag share a slot.
  const size_t open = key.find('{');
  if (open != std::string_view::npos) {
    const size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return crc16(key) % kSlots;
}

redisContext* RedisConnection::connect(const std::string& host, int port) const {
  timeval tv{static_cast<time_t>(options_.timeout_seconds),
             static_cast<suseconds_t>(std::fmod(options_.timeout_seconds, 1.0) * 1e6)};
  redisContext* c = redisConnectWithTimeout(host.c_str(), port, tv);
  const std::string at = "redis at " + host + ":" + std::to_string(port) + ": ";
  if (!c || c->err) {
    std::string why = c ? c->errstr : "out of memory";
    if (c) redisFree(c);
    throw Error(at + "cannot connect: " + why);
  }
  redisSetTimeout(c, tv);
  auto fail = [&](const std::string& why) {
    redisFree(c);
    throw Error(at + why);
  };
  auto error_of = [&](const RedisReplyPtr& r) -> std::string {
    if (!r) return c->errstr[0] ? c->errstr : "no answer";
    if (r->type == REDIS_REPLY_ERROR) return std::string(r->str, r->len);
    return {};
  };
  if (!options_.password.empty()) {
    // Once: a refused password is the operator's mistake, which no retry mends (and
    // retries would look like a guessing attack to the server's ACL log).
    RedisReplyPtr r = options_.user.empty()
                          ? argv_command(c, {"AUTH", options_.password})
                          : argv_command(c, {"AUTH", options_.user, options_.password});
    if (std::string e = error_of(r); !e.empty()) {
      fail("authentication failed" +
           (options_.user.empty() ? std::string(" (password only, the default user)")
                                  : " for user '" + options_.user + "'") +
           ": " + e);
    }
  }
  if (options_.db != 0) {
    const std::string db = std::to_string(options_.db);
    if (std::string e = error_of(argv_command(c, {"SELECT", db})); !e.empty()) {
      fail("cannot select database " + db + ": " + e);
    }
  }
  if (std::string e = error_of(argv_command(c, {"PING"})); !e.empty()) {
    if (e.rfind("NOAUTH", 0) == 0) {
      fail(
          "the server asks for credentials: give them in the URL "
          "(redis://user:password@host:port)");
    }
    fail("no answer to PING: " + e);
  }
  return c;
}

RedisConnection::RedisConnection(const RedisOptions& options) : options_(options) {
  nodes_.push_back({options_.host, options_.port, connect(options_.host, options_.port)});
  // A cluster answers CLUSTER SLOTS; a server without cluster support says so.
  RedisReplyPtr r = argv_command(nodes_[0].c, {"CLUSTER", "SLOTS"});
  if (r && r->type == REDIS_REPLY_ARRAY) {
    if (options_.db != 0) {
      throw Error(where() + "a Redis Cluster has only database 0, not " +
                  std::to_string(options_.db));
    }
    refresh_slots();
  }
}

RedisConnection::~RedisConnection() {
  for (auto& n : nodes_) {
    if (n.c) redisFree(n.c);
  }
}

std::string RedisConnection::where(const Node& n) const {
  return "redis " + n.host + ":" + std::to_string(n.port) + ": ";
}

std::string RedisConnection::where() const { return where(nodes_[0]); }

size_t RedisConnection::masters() const {
  return std::set<uint16_t>(slots_.begin(), slots_.end()).size();
}

size_t RedisConnection::node_at(const std::string& host, int port) {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].port == port && nodes_[i].host == host) return i;
  }
  nodes_.push_back({host, port, connect(host, port)});
  return nodes_.size() - 1;
}

void RedisConnection::refresh_slots() {
  std::string why;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    RedisReplyPtr r = argv_command(nodes_[i].c, {"CLUSTER", "SLOTS"});
    if (!r || r->type != REDIS_REPLY_ARRAY) {
      why = r ? std::string(r->str ? r->str : "", r->len) : "no answer";
      continue;
    }
    std::vector<uint16_t> slots(kSlots, 0);
    std::vector<bool> covered(kSlots, false);
    // Each entry: first slot, last slot, master [host, port, id], replicas...
    for (size_t e = 0; e < r->elements; ++e) {
      const redisReply* range = r->element[e];
      if (range->type != REDIS_REPLY_ARRAY || range->elements < 3) continue;
      const redisReply* master = range->element[2];
      if (master->type != REDIS_REPLY_ARRAY || master->elements < 2) continue;
      std::string host(master->element[0]->str, master->element[0]->len);
      // An empty host means "the address you reached me at".
      if (host.empty()) host = nodes_[i].host;
      const size_t node = node_at(host, static_cast<int>(master->element[1]->integer));
      for (long long s = range->element[0]->integer; s <= range->element[1]->integer; ++s) {
        if (s >= 0 && s < static_cast<long long>(kSlots)) {
          slots[static_cast<size_t>(s)] = static_cast<uint16_t>(node);
          covered[static_cast<size_t>(s)] = true;
        }
      }
    }
    if (std::find(covered.begin(), covered.end(), false) != covered.end()) {
      why = "not every hash slot has a master (is the cluster created?)";
      continue;
    }
    slots_ = std::move(slots);
    return;
  }
  throw Error(where() + "cannot read the cluster's slot map: " + why);
}

size_t RedisConnection::route(const std::vector<std::string_view>& args) const {
  if (slots_.empty() || args.size() < 2) return 0;
  const std::string_view cmd = args[0];
  std::string_view key;
  if (same_word(cmd, "EVALSHA") || same_word(cmd, "EVAL")) {
    if (args.size() > 3 && args[2] != "0") key = args[3];
  } else if (same_word(cmd, "XREADGROUP") || same_word(cmd, "XREAD")) {
    for (size_t i = 1; i + 1 < args.size(); ++i) {
      if (same_word(args[i], "STREAMS")) {
        key = args[i + 1];
        break;
      }
    }
  } else if (same_word(cmd, "XGROUP") || same_word(cmd, "XINFO")) {
    if (args.size() > 2) key = args[2];
  } else if (same_word(cmd, "SCRIPT") || same_word(cmd, "CLUSTER") || same_word(cmd, "INFO") ||
             same_word(cmd, "PING") || same_word(cmd, "ACL") || same_word(cmd, "CONFIG")) {
    return 0;
  } else {
    key = args[1];
  }
  if (key.data() == nullptr) return 0;
  return slots_[slot_of(key)];
}

void RedisConnection::send(size_t node, const std::vector<std::string_view>& args) {
  redisContext* c = nodes_[node].c;
  if (c->err) throw Error(where(nodes_[node]) + c->errstr);
  // Small vectors on the stack: commands are short, and this is on the per-event path.
  constexpr size_t kInline = 64;
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
  if (redisAppendCommandArgv(c, static_cast<int>(args.size()), argv, lens) != REDIS_OK) {
    throw Error(where(nodes_[node]) + c->errstr);
  }
}

RedisReplyPtr RedisConnection::read(size_t node) {
  redisContext* c = nodes_[node].c;
  redisReply* raw = nullptr;
  if (redisGetReply(c, reinterpret_cast<void**>(&raw)) != REDIS_OK || !raw) {
    throw Error(where(nodes_[node]) + (c->errstr[0] ? c->errstr : "no answer"));
  }
  return RedisReplyPtr(raw);
}

void RedisConnection::append(const std::vector<std::string_view>& args) {
  if (slots_.empty()) {
    send(0, args);
    return;
  }
  const size_t node = route(args);
  send(node, args);
  if (pending_at_ == pending_.size()) {
    pending_.clear();
    pending_at_ = 0;
  }
  pending_.push_back({node, std::vector<std::string>(args.begin(), args.end())});
  unflushed_ = true;
}

RedisReplyPtr RedisConnection::reply() {
  if (slots_.empty()) return read(0);
  if (pending_at_ == pending_.size()) throw Error(where() + "a reply read with nothing sent");
  if (unflushed_) {
    // Every node's commands leave now, so that the masters work in parallel instead of
    // one after the other as each reply is read.
    for (auto& n : nodes_) {
      int done = 0;
      while (!done && n.c->obuf && sdslen(n.c->obuf) > 0) {
        if (redisBufferWrite(n.c, &done) != REDIS_OK) break;  // read() reports it
      }
    }
    unflushed_ = false;
  }
  Pending& p = pending_[pending_at_++];
  RedisReplyPtr r = read(p.node);
  if (r->type == REDIS_REPLY_ERROR) return follow(std::move(r), p.args);
  return r;
}

std::string RedisConnection::discard_replies(size_t n) {
  std::string error;
  for (; n > 0; --n) {
    RedisReplyPtr r = reply();
    if (r->type == REDIS_REPLY_ERROR && error.empty()) error.assign(r->str, r->len);
  }
  return error;
}

RedisReplyPtr RedisConnection::follow(RedisReplyPtr r, const std::vector<std::string>& args) {
  const std::vector<std::string_view> views(args.begin(), args.end());
  for (int hop = 0; hop < 5 && r->type == REDIS_REPLY_ERROR; ++hop) {
    const std::string_view e(r->str, r->len);
    std::string host;
    int port = 0;
    if (e.starts_with("MOVED ") && redirect_target(e, host, port)) {
      // The slot has a new master: the whole map is read again (others moved with it).
      ++redirects_;
      node_at(host, port);
      refresh_slots();
      const size_t node = route(views);
      send(node, views);
      r = read(node);
    } else if (e.starts_with("ASK ") && redirect_target(e, host, port)) {
      // The slot is being migrated and this key is already there: asked once, the map
      // unchanged.
      ++redirects_;
      const size_t node = node_at(host, port);
      send(node, {"ASKING"});
      send(node, views);
      RedisReplyPtr asking = read(node);
      r = read(node);
    } else if (e.starts_with("TRYAGAIN") || e.starts_with("CLUSTERDOWN")) {
      // A multi-key command during a migration, or a failover in progress.
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      const size_t node = route(views);
      send(node, views);
      r = read(node);
    } else {
      break;
    }
  }
  return r;
}

RedisReplyPtr RedisConnection::command(const std::vector<std::string_view>& args) {
  if (!slots_.empty() && args.size() >= 2 && same_word(args[0], "SCRIPT")) {
    // Scripts live per server: every master loads (or flushes) them.
    RedisReplyPtr last;
    for (size_t node : std::set<uint16_t>(slots_.begin(), slots_.end())) {
      send(node, args);
      last = read(node);
      if (last->type == REDIS_REPLY_ERROR) break;
    }
    return last;
  }
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
