// Redis Streams for rtml run: a consumer group's entries read as JSON Lines, and
// predictions or dead letters added to a capped stream. Several workers reading one group
// share its entries between them (DESIGN.md, "Scale-out").
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rtml/runtime/group_source.h"
#include "rtml/store/redis_connection.h"

namespace rtml::runtime {

// Where a RedisStreamReader reads and as whom.
struct StreamReadOptions {
  store::RedisOptions redis;
  std::string stream = "rtml:events";
  // A second stream read by the same consumer in the same group (a labels stream): its
  // entries come as lines too, and stream_of() tells them apart. "" for none.
  std::string second_stream;
  std::string group = "rtml";  // created at the stream's start (MKSTREAM) if missing
  std::string consumer;        // this worker's name in the group; required
  // An entry holding this field is that field's JSON object; any other entry is one
  // field per feature (a value that reads whole as a number is a number, else text).
  std::string field = "event";
  size_t batch = 256;  // entries asked for at a time (COUNT)
  // Entries delivered to another consumer and not acknowledged for this long are taken
  // over (XPENDING IDLE, then XCLAIM): that consumer is taken for dead. It must exceed the time a
  // live worker holds an entry before acknowledging it (its checkpoint interval).
  double claim_idle_seconds = 30;
  // Readable once a stop is requested: read() then throws ReadStopped. -1: none.
  int stop_fd = -1;
  // Called about every 100 ms while the stream has nothing new (and once before each
  // such wait): every line read() gave before has then been decoded and handled, so
  // this is where a worker acknowledges or checkpoints when its input pauses.
  std::function<void()> on_idle;
};

// The entries of a stream, as seen by one consumer of a group, turned into JSON Lines
// (one line per entry, in delivery order) for JsonLinesDecoder. First the entries this
// consumer was given before and never acknowledged (a restarted worker's), then entries
// other consumers left idle for claim_idle_seconds, then new ones, waiting for them
// (never an end of input). Line numbers count from 1 in each process and name entries:
// entry_of() and take_through() translate. An entry is acknowledged only when the
// worker says so (ack()): at-least-once delivery. Not thread-safe.
class RedisStreamReader final : public GroupSource {
 public:
  // Connects and creates the group if needed. Throws Error naming the server.
  explicit RedisStreamReader(StreamReadOptions options);
  ~RedisStreamReader() override;

  // Fills buf with whole lines (a line longer than n comes in pieces). Blocks until an
  // entry comes; throws ReadStopped once stop_fd is readable, Error if Redis fails.
  size_t read(char* buf, size_t n) override;

  // The id of the entry that line came from ("<stream>/<id>" for the second stream).
  std::string entry_of(uint64_t line) const override;
  // 0 for a line of the stream, 1 for one of the second stream.
  size_t stream_of(uint64_t line) const override;
  // Moves the entry ids of lines up to `line` into ids, in order (an id of the second
  // stream ends with "@1").
  void take_through(uint64_t line, std::vector<std::string>& ids) override;
  // Acknowledges ids (XACK), in commands of at most 1,000. Ids already acknowledged or
  // claimed away are ignored by Redis.
  bool ack(const std::vector<std::string>& ids) override;
  void resume(const std::vector<std::string>& ids) override { ack(ids); }

  uint64_t records() const override { return entries_; }
  uint64_t claimed() const override { return claimed_; }
  uint64_t acked() const override { return acked_; }

 private:
  // Appends one entry (an array [id, [field, value, ...]]) of stream k as a line to out_.
  void add_entry(const struct redisReply* entry, size_t k);
  // Adds the entries of an XREADGROUP or XCLAIM reply; returns how many.
  size_t add_reply(const struct redisReply* r, bool claimed_reply, size_t k);
  void fetch();  // one round of asking Redis for entries; may leave out_ empty

  StreamReadOptions o_;
  store::RedisConnection redis_;
  std::string out_;  // lines ready for read()
  size_t out_at_ = 0;
  uint64_t line_ = 0;  // of the last line made
  // A line not yet taken and its entry's id, "<ms>-<seq>" kept as its two numbers: no
  // string per entry on the per-event path.
  struct Line {
    uint64_t line, ms, seq;
    size_t stream;  // index in streams_
  };
  std::deque<Line> lines_;
  std::vector<std::string> streams_;  // the stream, then the second one if any
  size_t own_pending_stream_ = 0;     // own pending entries are read stream by stream
  std::string own_pending_from_ = "0";
  size_t claim_stream_ = 0;
  std::string claim_cursor_ = "-";  // where the next page of pending entries starts
  std::chrono::steady_clock::time_point next_claim_{};
  std::string block_ms_, count_, claim_idle_ms_;
  uint64_t entries_ = 0, claimed_ = 0, acked_ = 0;
};

// A capped stream that records are added to (XADD MAXLEN ~ max_length), pipelined: an
// add returns at once, and replies are read in batches; flush() waits for all. Not
// thread-safe.
class RedisStreamWriter final : public RecordSink {
 public:
  // Connects. Throws Error naming the server.
  RedisStreamWriter(const store::RedisOptions& redis, std::string stream, uint64_t max_length);
  ~RedisStreamWriter() override;

  // Adds one entry of (field, value) pairs (the key is not used: a stream is one log).
  // Throws Error if Redis refused an earlier add or the connection failed.
  void add(std::string_view key, Fields fields) override;
  // Returns once Redis has every entry added so far. Throws Error as add() does.
  void flush() override;

  const std::string& stream() const { return stream_; }
  uint64_t added() const { return added_; }

 private:
  void drain(size_t keep);  // reads replies until at most keep are outstanding

  store::RedisConnection redis_;
  std::string stream_;
  std::string max_length_;
  std::vector<std::string_view> args_;
  size_t outstanding_ = 0;
  uint64_t added_ = 0;
};

}  // namespace rtml::runtime
