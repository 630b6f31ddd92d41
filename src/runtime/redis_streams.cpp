#include "rtml/runtime/redis_streams.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "rtml/core/error.h"
#include "rtml/runtime/json_text.h"

namespace rtml::runtime {
namespace {

using Clock = std::chrono::steady_clock;

std::string_view text_of(const redisReply* r) {
  return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)
             ? std::string_view(r->str, r->len)
             : std::string_view();
}

// The entries of an XREADGROUP reply ([[stream, [entry, ...]]]), or nullptr for none.
const redisReply* entries_of(const redisReply* r) {
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1) return nullptr;
  const redisReply* s = r->element[0];
  if (s->type != REDIS_REPLY_ARRAY || s->elements < 2) return nullptr;
  const redisReply* e = s->element[1];
  return e->type == REDIS_REPLY_ARRAY ? e : nullptr;
}

// Whether v is a number as JSON writes one (-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?):
// such a field value is a number; "007" or "1." stays text.
bool json_number(std::string_view v) {
  size_t i = 0;
  auto digits = [&] {
    const size_t from = i;
    while (i < v.size() && v[i] >= '0' && v[i] <= '9') ++i;
    return i > from;
  };
  if (i < v.size() && v[i] == '-') ++i;
  if (i < v.size() && v[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < v.size() && v[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < v.size() && (v[i] == 'e' || v[i] == 'E')) {
    ++i;
    if (i < v.size() && (v[i] == '+' || v[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == v.size();
}

}  // namespace

RedisStreamReader::RedisStreamReader(StreamReadOptions options)
    : GroupSource("redis stream " + options.stream), o_(std::move(options)), redis_(o_.redis) {
  if (o_.consumer.empty()) throw Error("a Redis stream reader needs a consumer name");
  block_ms_ = "100";
  count_ = std::to_string(std::max<size_t>(1, o_.batch));
  claim_idle_ms_ = std::to_string(static_cast<uint64_t>(std::llround(o_.claim_idle_seconds * 1e3)));
  streams_.push_back(o_.stream);
  if (!o_.second_stream.empty()) streams_.push_back(o_.second_stream);
  for (const auto& stream : streams_) {
    // From the stream's start: entries added before the first worker came count too.
    store::RedisReplyPtr r =
        redis_.command({"XGROUP", "CREATE", stream, o_.group, "0", "MKSTREAM"});
    if (r->type == REDIS_REPLY_ERROR &&
        std::string_view(r->str, r->len).substr(0, 9) != "BUSYGROUP") {
      throw Error(redis_.where() + "cannot create the consumer group '" + o_.group +
                  "' of stream '" + stream + "': " + std::string(r->str, r->len));
    }
  }
  // The first claim comes soon: a worker that starts may be the one that replaces a dead one.
  next_claim_ = Clock::now();
}

RedisStreamReader::~RedisStreamReader() = default;

void RedisStreamReader::add_entry(const redisReply* entry, size_t k) {
  if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 2) return;
  const std::string_view id = text_of(entry->element[0]);
  const redisReply* fields = entry->element[1];
  if (fields->type != REDIS_REPLY_ARRAY) {
    // Deleted from the stream while it was pending: nothing to handle, nothing to wait for.
    ack({std::string(id) + (k ? "@" + std::to_string(k) : "")});
    return;
  }
  const size_t begin = out_.size();
  // The entry's JSON object, if it holds one.
  for (size_t i = 0; i + 1 < fields->elements; i += 2) {
    if (text_of(fields->element[i]) == o_.field) {
      std::string_view json = text_of(fields->element[i + 1]);
      out_ += json.empty() ? std::string_view("{}") : json;
      // One entry, one line: a raw line break in JSON can only be white space.
      for (size_t k = begin; k < out_.size(); ++k) {
        if (out_[k] == '\n' || out_[k] == '\r') out_[k] = ' ';
      }
      break;
    }
  }
  if (out_.size() == begin) {  // one field per feature
    out_ += '{';
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
      if (i) out_ += ',';
      append_json_text(out_, text_of(fields->element[i]));
      out_ += ':';
      const std::string_view v = text_of(fields->element[i + 1]);
      if (json_number(v)) {
        out_ += v;
      } else {
        append_json_text(out_, v);
      }
    }
    out_ += '}';
  }
  out_ += '\n';
  Line l{++line_, 0, 0, k};
  const size_t dash = id.find('-');
  std::from_chars(id.data(), id.data() + std::min(dash, id.size()), l.ms);
  if (dash != std::string_view::npos)
    std::from_chars(id.data() + dash + 1, id.data() + id.size(), l.seq);
  lines_.push_back(l);
  ++entries_;
}

size_t RedisStreamReader::add_reply(const redisReply* r, bool claimed_reply, size_t k) {
  size_t n = 0;
  if (!r || r->type != REDIS_REPLY_ARRAY) return 0;
  if (claimed_reply) {  // XCLAIM: the entries themselves
    for (size_t i = 0; i < r->elements; ++i, ++n) add_entry(r->element[i], k);
    return n;
  }
  // XREADGROUP: [[stream, [entry, ...]], ...]
  for (size_t s = 0; s < r->elements; ++s) {
    const redisReply* st = r->element[s];
    if (st->type != REDIS_REPLY_ARRAY || st->elements < 2) continue;
    const std::string_view name = text_of(st->element[0]);
    size_t index = 0;
    while (index + 1 < streams_.size() && streams_[index] != name) ++index;
    const redisReply* entries = st->element[1];
    if (entries->type != REDIS_REPLY_ARRAY) continue;
    for (size_t i = 0; i < entries->elements; ++i, ++n) add_entry(entries->element[i], index);
  }
  return n;
}

void RedisStreamReader::fetch() {
  auto fail = [&](const store::RedisReplyPtr& r, const char* what, const std::string& stream) {
    if (r->type == REDIS_REPLY_ERROR) {
      throw Error(redis_.where() + what + " stream '" + stream + "' (group '" + o_.group +
                  "'): " + std::string(r->str, r->len));
    }
  };
  if (own_pending_stream_ < streams_.size()) {
    // What this consumer was given before and never acknowledged: a restarted worker
    // handles it first, in order, before anything new, one stream after the other.
    const std::string& stream = streams_[own_pending_stream_];
    store::RedisReplyPtr r = redis_.command({"XREADGROUP", "GROUP", o_.group, o_.consumer, "COUNT",
                                             count_, "STREAMS", stream, own_pending_from_});
    fail(r, "cannot read its own pending entries of", stream);
    const redisReply* entries = entries_of(r.get());
    if (!entries || entries->elements == 0) {
      ++own_pending_stream_;
      own_pending_from_ = "0";
    } else {
      own_pending_from_ = text_of(entries->element[entries->elements - 1]->element[0]);
      add_reply(r.get(), false, own_pending_stream_);
    }
    return;
  }
  if (Clock::now() >= next_claim_) {
    // Entries other consumers have held too long, in pages. Not XAUTOCLAIM: it would also
    // hand this consumer back its own entries when it is slow to acknowledge them (a long
    // checkpoint), and they would be handled twice. XCLAIM checks the idle time again, so
    // an entry another worker took meanwhile stays with it.
    const std::string& stream = streams_[claim_stream_];
    store::RedisReplyPtr r = redis_.command(
        {"XPENDING", stream, o_.group, "IDLE", claim_idle_ms_, claim_cursor_, "+", count_});
    fail(r, "cannot list the pending entries of", stream);
    std::vector<std::string> ids;
    const size_t listed = r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
    for (size_t i = 0; i < listed; ++i) {
      const redisReply* e = r->element[i];
      if (e->type != REDIS_REPLY_ARRAY || e->elements < 2) continue;
      if (text_of(e->element[1]) != o_.consumer) ids.emplace_back(text_of(e->element[0]));
      if (i + 1 == listed) claim_cursor_ = "(" + std::string(text_of(e->element[0]));
    }
    if (!ids.empty()) {
      std::vector<std::string_view> args = {"XCLAIM", stream, o_.group, o_.consumer,
                                            claim_idle_ms_};
      args.insert(args.end(), ids.begin(), ids.end());
      store::RedisReplyPtr c = redis_.command(args);
      fail(c, "cannot claim idle entries of", stream);
      claimed_ += add_reply(c.get(), true, claim_stream_);
    }
    // A full pass over this stream's pending entries: the next stream, and after the
    // last one a pause.
    if (listed < o_.batch) {
      claim_cursor_ = "-";
      if (++claim_stream_ == streams_.size()) {
        claim_stream_ = 0;
        next_claim_ = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(
                                         std::clamp(o_.claim_idle_seconds * 250, 100.0, 5000.0)));
      }
    }
    return;
  }
  std::vector<std::string_view> args = {"XREADGROUP", "GROUP", o_.group,  o_.consumer, "COUNT",
                                        count_,       "BLOCK", block_ms_, "STREAMS"};
  for (const auto& stream : streams_) args.push_back(stream);
  for (size_t i = 0; i < streams_.size(); ++i) args.push_back(">");
  store::RedisReplyPtr r = redis_.command(args);
  fail(r, "cannot read", o_.stream);
  if (add_reply(r.get(), false, 0) == 0) {
    if (o_.on_idle) o_.on_idle();
    if (stop_requested(o_.stop_fd)) throw ReadStopped();
  }
}

size_t RedisStreamReader::read(char* buf, size_t n) {
  if (stop_requested(o_.stop_fd)) throw ReadStopped();
  while (out_at_ == out_.size()) {
    out_.clear();
    out_at_ = 0;
    fetch();
  }
  const size_t k = std::min(n, out_.size() - out_at_);
  std::copy_n(out_.data() + out_at_, k, buf);
  out_at_ += k;
  return k;
}

std::string RedisStreamReader::entry_of(uint64_t line) const {
  if (lines_.empty() || line < lines_.front().line || line > lines_.back().line) return {};
  const Line& l = lines_[line - lines_.front().line];
  const std::string id = std::to_string(l.ms) + "-" + std::to_string(l.seq);
  return l.stream ? streams_[l.stream] + "/" + id : id;
}

size_t RedisStreamReader::stream_of(uint64_t line) const {
  if (lines_.empty() || line < lines_.front().line || line > lines_.back().line) return 0;
  return lines_[line - lines_.front().line].stream;
}

void RedisStreamReader::take_through(uint64_t line, std::vector<std::string>& ids) {
  while (!lines_.empty() && lines_.front().line <= line) {
    const Line& l = lines_.front();
    ids.push_back(std::to_string(l.ms) + "-" + std::to_string(l.seq) +
                  (l.stream ? "@" + std::to_string(l.stream) : ""));
    lines_.pop_front();
  }
}

bool RedisStreamReader::ack(const std::vector<std::string>& ids) {
  constexpr size_t kPerCommand = 1000;
  // Ids by stream: "<ms>-<seq>" for the first, "<ms>-<seq>@<k>" for stream k.
  std::vector<std::vector<std::string_view>> by_stream(streams_.size());
  for (const auto& id : ids) {
    std::string_view v = id;
    size_t k = 0;
    if (const size_t at = v.find('@'); at != std::string_view::npos) {
      std::from_chars(v.data() + at + 1, v.data() + v.size(), k);
      v = v.substr(0, at);
      if (k >= streams_.size()) continue;  // of a stream this worker no longer reads
    }
    by_stream[k].push_back(v);
  }
  std::vector<std::string_view> args;
  size_t commands = 0;
  for (size_t k = 0; k < streams_.size(); ++k) {
    const auto& list = by_stream[k];
    for (size_t i = 0; i < list.size(); i += kPerCommand) {
      args.assign({"XACK", streams_[k], o_.group});
      for (size_t j = i; j < std::min(list.size(), i + kPerCommand); ++j) args.push_back(list[j]);
      redis_.append(args);
      ++commands;
    }
  }
  std::string error;
  for (size_t i = 0; i < commands; ++i) {
    store::RedisReplyPtr r = redis_.reply();
    if (r->type == REDIS_REPLY_ERROR && error.empty()) error.assign(r->str, r->len);
    if (r->type == REDIS_REPLY_INTEGER) acked_ += static_cast<uint64_t>(r->integer);
  }
  if (!error.empty()) {
    throw Error(redis_.where() + "cannot acknowledge entries of stream '" + o_.stream +
                "': " + error);
  }
  return true;
}

RedisStreamWriter::RedisStreamWriter(const store::RedisOptions& redis, std::string stream,
                                     uint64_t max_length)
    : redis_(redis), stream_(std::move(stream)), max_length_(std::to_string(max_length)) {}

RedisStreamWriter::~RedisStreamWriter() = default;

void RedisStreamWriter::add(std::string_view, Fields fields) {
  args_.assign({"XADD", stream_, "MAXLEN", "~", max_length_, "*"});
  for (const auto& [f, v] : fields) {
    args_.push_back(f);
    args_.push_back(v);
  }
  redis_.append(args_);
  ++outstanding_;
  ++added_;
  // Replies are read in batches: one round trip for many entries.
  if (outstanding_ >= 1024) drain(0);
}

void RedisStreamWriter::flush() { drain(0); }

void RedisStreamWriter::drain(size_t keep) {
  if (outstanding_ <= keep) return;
  const size_t n = outstanding_ - keep;
  outstanding_ = keep;
  if (std::string error = redis_.discard_replies(n); !error.empty()) {
    throw Error(redis_.where() + "cannot add to stream '" + stream_ + "': " + error);
  }
}

}  // namespace rtml::runtime
