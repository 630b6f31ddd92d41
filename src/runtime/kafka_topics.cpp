#include "rtml/runtime/kafka_topics.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <thread>

#include "rtml/core/error.h"
#include "rtml/runtime/json_text.h"

namespace rtml::runtime {
namespace {

// A librdkafka configuration: rtml's settings, then the user's (which win). Throws Error
// naming the setting librdkafka refuses.
rd_kafka_conf_t* make_conf(const KafkaOptions& k,
                           const std::vector<std::pair<std::string, std::string>>& ours) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  auto set = [&](const std::string& key, const std::string& value, const char* whose) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw Error(std::string("kafka: ") + whose + " setting '" + key + "': " + err);
    }
  };
  set("bootstrap.servers", k.brokers, "the");
  // A broker that dies without closing its connections (a power loss, a partition) holds
  // requests until this passes: librdkafka's 60 s would outlast a sink's flush (30 s).
  set("socket.timeout.ms", "10000", "the");
  for (const auto& [key, value] : ours) set(key, value, "the");
  for (const auto& [key, value] : k.settings) set(key, value, "the kafka.settings");
  return conf;
}

void rebalance_cb(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                  void* opaque) {
  static_cast<KafkaReader*>(opaque)->rebalance(static_cast<int>(err), parts);
}

void delivery_cb(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  if (m->err) {
    static_cast<KafkaWriter*>(opaque)->failed(rd_kafka_err2str(m->err));
  }
}

}  // namespace

namespace {

// librdkafka before 2.3.0 aborts the process in its cooperative-sticky assignor when a
// member's group state is reset before the assignor has any (rd_kafka_sticky_assignor_state_destroy
// asserts; librdkafka#4312, fixed in 2.3.0), which a broker failure or a rebalance storm
// can cause: seen on Debian 12's 2.0.2 as a worker dying mid-run. There the eager
// protocol is used instead: a rebalance revokes every partition (committed first, as
// ever, or handled again by the next owner from the last acknowledged checkpoint).
const char* assignment_strategy() {
  return rd_kafka_version() >= 0x020300ff ? "cooperative-sticky" : "roundrobin";
}

}  // namespace

KafkaReader::KafkaReader(TopicReadOptions options)
    : GroupSource("kafka topic " + options.topic), o_(std::move(options)) {
  const auto session_ms = static_cast<int64_t>(std::llround(o_.session_seconds * 1e3));
  rd_kafka_conf_t* conf = make_conf(
      o_.kafka, {{"group.id", o_.group},
                 {"client.id", o_.consumer.empty() ? "rtml" : o_.consumer},
                 // Offsets move only when the worker says its effects are durable.
                 {"enable.auto.commit", "false"},
                 {"enable.auto.offset.store", "false"},
                 {"auto.offset.reset", "earliest"},
                 {"session.timeout.ms", std::to_string(session_ms)},
                 {"heartbeat.interval.ms", std::to_string(std::max<int64_t>(100, session_ms / 10))},
                 {"enable.partition.eof", "false"},
                 // Partitions move one by one, committed once the group is settled (see
                 // rebalance()), where librdkafka's cooperative assignor can be trusted.
                 {"partition.assignment.strategy", assignment_strategy()}});
  rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
  rd_kafka_conf_set_opaque(conf, this);
  char err[512];
  rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  if (!rk_) {
    rd_kafka_conf_destroy(conf);
    throw Error(std::string("kafka: cannot create a consumer: ") + err);
  }
  rd_kafka_poll_set_consumer(rk_);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, o_.topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t e = rd_kafka_subscribe(rk_, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (e) {
    rd_kafka_destroy(rk_);
    throw Error("kafka: cannot subscribe to topic '" + o_.topic + "': " + rd_kafka_err2str(e));
  }
}

KafkaReader::~KafkaReader() {
  // Leaves the group at once (its partitions go to the others now, not after the
  // session timeout). Its revocation finds nothing left to acknowledge: a run
  // acknowledges everything before it ends.
  o_.on_revoke = nullptr;
  o_.restart_when_unacknowledged = false;
  // librdkafka 2.0 aborts when a cooperative consumer is closed after joining its group
  // but before its first assignment (rd_kafka_sticky_assignor_state_destroy asserts; later
  // releases check): that assignment is waited for first, records fetched meanwhile
  // dropped (never committed, they go to the partitions' next owner).
  const auto end =
      std::chrono::steady_clock::now() + std::chrono::duration<double>(o_.session_seconds + 5);
  for (;;) {
    char* member = rd_kafka_memberid(rk_);
    const bool joined = member && *member;
    if (member) rd_kafka_mem_free(rk_, member);
    if (!joined || rebalances_ > 0 || std::chrono::steady_clock::now() > end) break;
    if (rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 100)) rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk_);
  rd_kafka_destroy(rk_);
}

bool KafkaReader::settle(double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (!uncommitted_.empty() && restart_.empty()) {
    // Polled, so that the rebalance runs its course; a record fetched here is not handled,
    // never committed, and comes again to whoever holds its partition next.
    if (rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 100)) rd_kafka_message_destroy(m);
    if (commit_uncommitted(1) || std::chrono::steady_clock::now() > end) break;
  }
  return uncommitted_.empty() && restart_.empty();
}

void KafkaReader::rebalance(int error, rd_kafka_topic_partition_list_t* parts) {
  const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk_), "COOPERATIVE") == 0;
  if (error == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    ++rebalances_;
    if (cooperative) {
      if (rd_kafka_error_t* e = rd_kafka_incremental_assign(rk_, parts)) {
        restart_ = std::string("cannot take assigned partitions: ") + rd_kafka_error_string(e);
        rd_kafka_error_destroy(e);
      }
    } else {
      rd_kafka_assign(rk_, parts);
    }
    return;
  }
  // Revoked (or lost): what was handled is made durable and committed while the
  // partitions are still ours; what was given and not handled cannot exist (see
  // on_revoke). Cooperatively, this happens once the group is settled, when the
  // coordinator accepts the commit; eagerly, the group is rebalancing already, and a
  // broker may refuse it (librdkafka's mock always does).
  const bool lost = rd_kafka_assignment_lost(rk_);
  if (o_.on_revoke) o_.on_revoke();
  if (!commit_uncommitted(10)) {
    std::string why = "offsets of partitions " + std::string(lost ? "lost" : "revoked") +
                      " not committed (" + last_refusal_ + ")";
    if (o_.restart_when_unacknowledged) {
      restart_ = why + ": their next owner handles those records again";
    } else {
      std::fprintf(stderr, "rtml: kafka topic '%s': %s\n", o_.topic.c_str(), why.c_str());
    }
    uncommitted_.clear();
  }
  for (int i = 0; i < parts->cnt; ++i) {
    handled_.erase(parts->elems[i].partition);
    uncommitted_.erase(parts->elems[i].partition);
  }
  lines_.clear();
  if (cooperative) {
    if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk_, parts)) rd_kafka_error_destroy(e);
  } else {
    rd_kafka_assign(rk_, nullptr);
  }
}

size_t KafkaReader::read(char* buf, size_t n) {
  while (out_at_ == out_.size()) {
    if (stop_requested(o_.stop_fd)) throw ReadStopped();
    out_.clear();
    out_at_ = 0;
    // One record per poll, and a poll only once every line given before is handled: a
    // rebalance happens inside a poll, and partitions revoked there must not have records
    // given out but not yet handled (their next owner would handle them too).
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 100);
    if (!restart_.empty()) {
      if (m) rd_kafka_message_destroy(m);
      throw RestartFromCheckpoint("kafka topic '" + o_.topic + "': " + restart_);
    }
    if (!m) {
      if (o_.on_idle) o_.on_idle();
      continue;
    }
    if (m->err) {
      const std::string why = rd_kafka_message_errstr(m);
      const bool fatal = m->err == RD_KAFKA_RESP_ERR__FATAL ||
                         m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                         m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
                         m->err == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED;
      rd_kafka_message_destroy(m);
      // Anything else (a broker away, a timeout) librdkafka mends by itself.
      if (fatal) throw Error("kafka topic '" + o_.topic + "': " + why);
      continue;
    }
    if (m->len == 0) {
      out_ += "{}";
    } else {
      out_.append(static_cast<const char*>(m->payload), m->len);
      for (char& ch : out_) {
        if (ch == '\n' || ch == '\r') ch = ' ';
      }
    }
    out_ += '\n';
    lines_.push_back({++line_, m->partition, m->offset});
    ++records_;
    rd_kafka_message_destroy(m);
  }
  const size_t k = std::min(n, out_.size() - out_at_);
  std::copy_n(out_.data() + out_at_, k, buf);
  out_at_ += k;
  return k;
}

std::string KafkaReader::entry_of(uint64_t line) const {
  if (lines_.empty() || line < lines_.front().line || line > lines_.back().line) return {};
  const Line& l = lines_[line - lines_.front().line];
  return o_.topic + "/" + std::to_string(l.partition) + "/" + std::to_string(l.offset);
}

void KafkaReader::take_through(uint64_t line, std::vector<std::string>& done) {
  while (!lines_.empty() && lines_.front().line <= line) {
    int64_t& at = handled_[lines_.front().partition];
    at = std::max(at, lines_.front().offset + 1);
    lines_.pop_front();
    ++taken_;
  }
  // Every partition this worker holds, not only those read since the last time: a
  // checkpoint must say where each stands, whichever commits went through.
  for (const auto& [partition, offset] : handled_) {
    done.push_back(std::to_string(partition) + ":" + std::to_string(offset));
  }
}

namespace {

// "partition:offset" lines into a map; throws Error for anything else.
std::map<int32_t, int64_t> offsets_of(const std::vector<std::string>& done) {
  std::map<int32_t, int64_t> out;
  for (const auto& d : done) {
    const size_t colon = d.find(':');
    if (colon == std::string::npos) throw Error("kafka: not a 'partition:offset': '" + d + "'");
    out[std::stoi(d.substr(0, colon))] = std::stoll(d.substr(colon + 1));
  }
  return out;
}

}  // namespace

namespace {

// A commit refused because the group is rebalancing: the partitions may not be ours any
// more, or will be committed again when they are revoked.
bool rebalancing(rd_kafka_resp_err_t e) {
  return e == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS ||
         e == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION || e == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID ||
         e == RD_KAFKA_RESP_ERR__STATE;
}

}  // namespace

bool KafkaReader::commit_uncommitted(double seconds) {
  if (uncommitted_.empty()) return true;
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  for (const auto& [partition, offset] : uncommitted_) {
    rd_kafka_topic_partition_list_add(list, o_.topic.c_str(), partition)->offset = offset;
  }
  rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  for (;;) {
    e = rd_kafka_commit(rk_, list, 0);
    if (!e || rebalancing(e) || std::chrono::steady_clock::now() > end) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // a coordinator away
  }
  rd_kafka_topic_partition_list_destroy(list);
  if (!e) {
    uncommitted_.clear();
    return true;
  }
  if (rebalancing(e)) {
    last_refusal_ = rd_kafka_err2str(e);
    return false;
  }
  throw Error("kafka topic '" + o_.topic + "': cannot commit offsets for " +
              std::to_string(static_cast<int>(seconds)) + " s: " + rd_kafka_err2str(e));
}

bool KafkaReader::ack(const std::vector<std::string>& done) {
  for (const auto& [partition, offset] : offsets_of(done)) {
    int64_t& at = uncommitted_[partition];
    at = std::max(at, offset);
  }
  acked_ += taken_;
  taken_ = 0;
  // Refused during a rebalance: kept, and committed with the next ack or when the
  // partitions are revoked.
  return commit_uncommitted(10);
}

bool kafka_offsets_committed(const KafkaOptions& kafka, const std::string& topic,
                             const std::string& group, const std::vector<std::string>& done) {
  const std::map<int32_t, int64_t> want = offsets_of(done);
  if (want.empty()) return true;
  rd_kafka_conf_t* conf = make_conf(kafka, {{"group.id", group}, {"enable.auto.commit", "false"}});
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    throw Error(std::string("kafka: cannot create a consumer: ") + err);
  }
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  for (const auto& [partition, offset] : want) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), partition);
  }
  rd_kafka_resp_err_t e = rd_kafka_committed(rk, list, 10000);
  bool same = !e;
  for (int i = 0; same && i < list->cnt; ++i) {
    const auto& p = list->elems[i];
    same = !p.err && p.offset == want.at(p.partition);
  }
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  if (e) {
    throw Error("kafka topic '" + topic + "': cannot read the committed offsets of group '" +
                group + "': " + rd_kafka_err2str(e));
  }
  return same;
}

KafkaWriter::KafkaWriter(const KafkaOptions& kafka, std::string topic) : topic_(std::move(topic)) {
  rd_kafka_conf_t* conf = make_conf(kafka, {{"linger.ms", "5"}});
  rd_kafka_conf_set_dr_msg_cb(conf, delivery_cb);
  rd_kafka_conf_set_opaque(conf, this);
  char err[512];
  rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (!rk_) {
    rd_kafka_conf_destroy(conf);
    throw Error(std::string("kafka: cannot create a producer: ") + err);
  }
}

KafkaWriter::~KafkaWriter() {
  rd_kafka_flush(rk_, 5000);
  rd_kafka_destroy(rk_);
}

void KafkaWriter::add(std::string_view key, Fields fields) {
  if (!error_.empty()) throw Error("kafka topic '" + topic_ + "': " + error_);
  value_ = "{";
  for (const auto& [name, value] : fields) {
    if (value_.size() > 1) value_ += ',';
    append_json_text(value_, name);
    value_ += ':';
    append_json_text(value_, value);
  }
  value_ += '}';
  for (;;) {
    rd_kafka_resp_err_t e =
        rd_kafka_producev(rk_, RD_KAFKA_V_TOPIC(topic_.c_str()),
                          RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
                          RD_KAFKA_V_VALUE(value_.data(), value_.size()),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(rk_, 100);  // wait for deliveries to make room
      continue;
    }
    if (e) throw Error("kafka topic '" + topic_ + "': cannot produce: " + rd_kafka_err2str(e));
    break;
  }
  rd_kafka_poll(rk_, 0);  // delivery reports
}

void KafkaWriter::flush() {
  rd_kafka_resp_err_t e = rd_kafka_flush(rk_, 30000);
  if (e) {
    throw Error("kafka topic '" + topic_ +
                "': records not delivered within 30 s: " + rd_kafka_err2str(e));
  }
  if (!error_.empty()) throw Error("kafka topic '" + topic_ + "': " + error_);
}

}  // namespace rtml::runtime
