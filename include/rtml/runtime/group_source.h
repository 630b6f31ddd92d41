// GroupSource and RecordSink: what rtml run needs of a consumer group's source (a Redis
// stream, a Kafka topic) and of a sink that records go to (a stream, a topic), whichever
// engine is behind them.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rtml/core/error.h"
#include "rtml/stream/byte_source.h"

namespace rtml::runtime {

// The records a worker of a consumer group is given, as JSON Lines (one line per record,
// for JsonLinesDecoder), never ending. Line numbers count from 1 in each process; the
// source remembers which record each line came from until the worker says it is done
// with it. Delivery is at least once: a record is acknowledged (its group moves past it)
// only through ack(), which the worker calls once the record's effects are durable.
// Not thread-safe.
class GroupSource : public ByteSource {
 public:
  explicit GroupSource(std::string name) : ByteSource(std::move(name)) {}

  // Where the record of line came from (a stream entry id, topic/partition/offset), or
  // "" if it is not among the lines not yet taken: for dead letters.
  virtual std::string entry_of(uint64_t line) const = 0;
  // Which of the source's streams the record of line came from: 0 (the events), or 1 (a
  // second stream the same consumer reads, its labels). 0 if not among the lines taken.
  virtual size_t stream_of(uint64_t /*line*/) const { return 0; }
  // Appends to done what acknowledges every line up to `line` (each line given so far is
  // handled up to it), in a form ack() and resume() read back; those lines are then
  // forgotten.
  virtual void take_through(uint64_t line, std::vector<std::string>& done) = 0;
  // Acknowledges what take_through() gave: true once acknowledged, false if the engine
  // refused for now (a Kafka group rebalancing refuses commits) and the caller must keep
  // the effects of those records undone until a later ack() succeeds (see
  // acks_can_be_refused). Throws Error if the engine cannot be reached.
  virtual bool ack(const std::vector<std::string>& done) = 0;
  // Whether ack() can return false. A worker with checkpoints then holds each checkpoint
  // until its ack() succeeds (Checkpointer::write's hold) and, when the source says so
  // with RestartFromCheckpoint, resumes from the last acknowledged one.
  virtual bool acks_can_be_refused() const { return false; }
  // At the end of a run whose last ack() was refused: waits, for up to seconds, until
  // the engine accepts it (a rebalance over), giving no more records. True once
  // everything acknowledged is.
  virtual bool settle(double /*seconds*/) { return true; }
  // At the start of a worker resuming a checkpoint: done is what the checkpoint held and
  // the worker killed after it may not have acknowledged; it is acknowledged now (or as
  // soon as the source can), so that those records do not come again.
  virtual void resume(const std::vector<std::string>& done) = 0;

  // Records given (as lines), of them taken over from other workers, and acknowledged.
  virtual uint64_t records() const = 0;
  virtual uint64_t claimed() const = 0;
  virtual uint64_t acked() const = 0;
};

// Thrown by a GroupSource's read() when records this worker handled went to another worker
// unacknowledged (a Kafka rebalance that refused the commit, a session lost): their next
// owner handles them again, so this worker must forget their effects, by resuming from its
// last acknowledged checkpoint.
class RestartFromCheckpoint : public Error {
 public:
  using Error::Error;
};

// Where a run's records go (predictions, dead letters): each record a set of named
// text fields. add() may only queue; flush() returns once every record added is stored
// by the engine. Both throw Error naming the engine and the sink if it refused a record
// or cannot be reached. Not thread-safe.
class RecordSink {
 public:
  virtual ~RecordSink() = default;
  using Fields = std::initializer_list<std::pair<std::string_view, std::string_view>>;
  // key: what the engine partitions by, if it does (the event id).
  virtual void add(std::string_view key, Fields fields) = 0;
  virtual void flush() = 0;
};

}  // namespace rtml::runtime
