// Kafka for rtml run: a consumer group's records read as JSON Lines, offsets committed
// only once their effects are durable, and predictions or dead letters produced to a
// topic, through librdkafka (DESIGN.md, "Scale-out").
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "rtml/runtime/group_source.h"

typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_topic_partition_list_s rd_kafka_topic_partition_list_t;

namespace rtml::runtime {

// Where the brokers are and how to reach them: `settings` are librdkafka's own
// (security.protocol, sasl.mechanism, sasl.username, ssl.ca.location, ...), passed as
// they are, after rtml's, so that they win.
struct KafkaOptions {
  std::string brokers;  // bootstrap.servers
  std::map<std::string, std::string> settings;
};

struct TopicReadOptions {
  KafkaOptions kafka;
  std::string topic;
  std::string group = "rtml";
  std::string consumer;  // client.id, for the brokers' logs
  // A worker silent this long leaves the group (session.timeout.ms) and its partitions
  // go to the others.
  double session_seconds = 30;
  int stop_fd = -1;  // readable once a stop is requested: read() throws ReadStopped
  // Called about every 100 ms while no record comes; every line given before has then
  // been handled (as RedisStreamReader's).
  std::function<void()> on_idle;
  // Called when partitions are taken from this worker (a rebalance), before they go:
  // every line given before has been handled, and the worker makes its effects durable
  // and acknowledges them now (take_through, ack), or the partitions' next owner would
  // handle those records again.
  std::function<void()> on_revoke;
  // The worker has checkpoints it can go back to: when partitions leave with records it
  // handled but could not commit (the group refused, the session was lost), read()
  // throws RestartFromCheckpoint so that it forgets them. Without, those records are
  // handled again by their next owner (at least once).
  bool restart_when_unacknowledged = false;
};

// The records of a topic, as seen by one member of a consumer group: partitions are
// assigned by the group (and move on a rebalance); each record's value is one line
// (a JSON object). Offsets are committed only through ack(), synchronously: what
// take_through() gave is "partition:next offset" per partition. The group rebalances
// incrementally (cooperative-sticky, unless kafka.settings say otherwise): a worker keeps
// its partitions while others join or leave, and gives one up, committed, only once the
// group is settled, when brokers accept the commit. Not thread-safe.
class KafkaReader final : public GroupSource {
 public:
  // Creates the consumer and subscribes. Throws Error for a setting librdkafka refuses.
  explicit KafkaReader(TopicReadOptions options);
  ~KafkaReader() override;

  size_t read(char* buf, size_t n) override;
  std::string entry_of(uint64_t line) const override;
  void take_through(uint64_t line, std::vector<std::string>& done) override;
  // Commits the offsets (retrying for up to 10 s while the coordinator is away); false if
  // refused because the group is rebalancing (kept, and committed with the next ack or
  // when partitions are revoked).
  bool ack(const std::vector<std::string>& done) override;
  bool acks_can_be_refused() const override { return true; }
  bool settle(double seconds) override;
  // Nothing to do: a checkpoint is promoted only once its offsets are committed, so the
  // group already stands where it says (Checkpointer::write's hold).
  void resume(const std::vector<std::string>&) override {}

  uint64_t records() const override { return records_; }
  uint64_t claimed() const override { return rebalances_; }
  uint64_t acked() const override { return acked_; }

  // Called by librdkafka's rebalance callback (from inside read()).
  void rebalance(int error, rd_kafka_topic_partition_list_t* partitions);

 private:
  struct Line {
    uint64_t line;
    int32_t partition;
    int64_t offset;
  };
  TopicReadOptions o_;
  rd_kafka_t* rk_ = nullptr;
  std::string out_;
  size_t out_at_ = 0;
  uint64_t line_ = 0;
  std::deque<Line> lines_;
  // Commits uncommitted_, retrying for up to seconds while the coordinator is away;
  // returns false if refused for a rebalance (kept), throws Error past the time.
  bool commit_uncommitted(double seconds);

  std::string restart_;                     // why read() must throw RestartFromCheckpoint, or ""
  std::map<int32_t, int64_t> uncommitted_;  // acknowledged, not yet committed
  std::string last_refusal_;                // why the last commit was refused (a rebalance)
  std::map<int32_t, int64_t> handled_;      // partition -> next offset, since assigned
  uint64_t records_ = 0, acked_ = 0, taken_ = 0, rebalances_ = 0;
};

// Whether the consumer group `group` has committed exactly the offsets of topic that done
// (as KafkaReader::take_through gives them) holds: a worker killed between a checkpoint
// and its commit asks this at start to know which of its checkpoints the group
// acknowledged. Throws Error if the group's offsets cannot be read within 10 s.
bool kafka_offsets_committed(const KafkaOptions& kafka, const std::string& topic,
                             const std::string& group, const std::vector<std::string>& done);

// Produces records to a topic, each a JSON object of its fields, keyed (partitioned) by
// the key given. add() queues; flush() waits until the brokers have every record (the
// producer retries on its own meanwhile). Not thread-safe.
class KafkaWriter final : public RecordSink {
 public:
  KafkaWriter(const KafkaOptions& kafka, std::string topic);
  ~KafkaWriter() override;
  void add(std::string_view key, Fields fields) override;
  // Throws Error naming the topic if a record could not be delivered within 30 s.
  void flush() override;

  // Set by the delivery report callback.
  void failed(const std::string& why) {
    if (error_.empty()) error_ = why;
  }

 private:
  rd_kafka_t* rk_ = nullptr;
  std::string topic_;
  std::string value_;
  std::string error_;
};

}  // namespace rtml::runtime
