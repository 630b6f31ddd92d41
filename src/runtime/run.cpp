#include "rtml/runtime/run.h"

#include <fmt/core.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "rolling_mean.h"
#include "rtml/core/error.h"
#include "rtml/features/aggregate_spec.h"
#include "rtml/learn/pipeline.h"
#include "rtml/runtime/checkpoint.h"
#include "rtml/runtime/kafka_topics.h"
#include "rtml/runtime/model_channel.h"
#include "rtml/runtime/redis_aggregates.h"
#include "rtml/runtime/redis_streams.h"
#include "rtml/runtime/replica_averaging.h"
#include "rtml/runtime/runtime.h"
#include "rtml/runtime/shared_prediction_log.h"
#include "rtml/runtime/store_aggregates.h"
#include "rtml/runtime/training_log.h"
#include "rtml/store/redis_store.h"
#include "rtml/stream/byte_source.h"
#include "rtml/stream/jsonl_decoder.h"
#include "rtml/stream/row_source.h"
#include "run_pace.h"
#include "run_sink.h"
#include "warm_start.h"

namespace rtml::runtime {
namespace {

using detail::append_json_text;
using detail::json_text;
using detail::LatencyHistogram;
using detail::RollingMean;
using detail::seconds;
using detail::Sink;
using detail::wait_until;
using detail::warm_start;

using Clock = std::chrono::steady_clock;
constexpr size_t kNoColumn = SIZE_MAX;

// The column named name in columns, or kNoColumn.
size_t column_of(const std::vector<Column>& columns, const std::string& name) {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == name) return i;
  }
  return kNoColumn;
}

// A field looked up by name, found again when a JSON Lines source adds columns.
struct FieldRef {
  std::string name;
  size_t index = kNoColumn;
  size_t known = 0;
  const Value* in(const RowSource& source, const Row& row) {
    if (name.empty()) return nullptr;
    if (index == kNoColumn && source.columns().size() != known) {
      known = source.columns().size();
      index = column_of(source.columns(), name);
    }
    if (index >= row.values.size() || row.values[index].kind == ValueKind::kMissing) return nullptr;
    return &row.values[index];
  }
};

// An id as text: a text value as it is, a number as an integer when it is one.
void id_text(const Value& v, std::string& out) {
  if (v.kind == ValueKind::kText) {
    out.assign(v.text);
    return;
  }
  char buf[32];
  std::to_chars_result r =
      std::floor(v.number) == v.number && std::abs(v.number) < 9e15
          ? std::to_chars(buf, buf + sizeof(buf), static_cast<int64_t>(v.number))
          : std::to_chars(buf, buf + sizeof(buf), v.number);
  out.assign(buf, r.ptr);
}

SourceFormat format_of(const std::string& name) {
  return name == "csv"     ? SourceFormat::kCsv
         : name == "jsonl" ? SourceFormat::kJsonLines
                           : SourceFormat::kByName;
}

DecodeOptions decode_options(const RunConfig::Source& s, const std::vector<std::string>& text,
                             const std::vector<std::string>& numbers, int stop_fd) {
  DecodeOptions o;
  o.format = format_of(s.format);
  for (const auto& c : s.categorical) o.types[c] = ColumnType::kCategorical;
  for (const auto& c : s.numeric) o.types[c] = ColumnType::kNumeric;
  for (const auto& c : text) o.types[c] = ColumnType::kCategorical;
  for (const auto& c : numbers) o.types[c] = ColumnType::kNumeric;
  o.stop_fd = stop_fd;
  return o;
}

// Whether a source can be read again from its start after a crash: a file or a generator.
// Standard input and FIFOs cannot: what a new process reads there comes after what the
// old one read, so a resumed run does not skip anything in them.
bool replayable(const std::string& path) {
  if (path == "-") return false;
  if (path.rfind("synth:", 0) == 0) return true;
  struct stat st;
  return ::stat(path.c_str(), &st) != 0 || S_ISREG(st.st_mode);
}

// This worker's default name in a consumer group: the same after a restart when it has
// a checkpoint folder (it then takes back the entries it held), else unique to the process.
std::string default_consumer(const RunConfig& c) {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0) std::strcpy(host, "worker");
  if (c.checkpoint) {
    char* real = ::realpath(c.checkpoint->dir.c_str(), nullptr);
    std::string dir = real ? real : c.checkpoint->dir;
    std::free(real);
    return std::string(host) + ":" + dir;
  }
  return std::string(host) + "-" + std::to_string(::getpid());
}

// A crash on purpose, for the tests that prove what a kill at an exact point leaves (a
// random kill rarely lands in a window of microseconds): with RTML_CRASH_AT=NAME:N in the
// environment, the Nth pass through the point NAME ends the process at once, as SIGKILL
// would (no destructor runs, nothing is flushed).
void crash_point(const char* name) {
  static const char* spec = std::getenv("RTML_CRASH_AT");
  static int passes = 0;
  if (!spec) return;
  const size_t len = std::strlen(name);
  if (std::strncmp(spec, name, len) != 0 || spec[len] != ':') return;
  if (++passes == std::atoi(spec + len + 1)) ::_exit(137);
}

// A label read from the labels stream, kept until its time comes.
struct LabelRow {
  std::string id;
  Value label;
  std::string label_text;  // label.text points here
  double time = 0;
  uint64_t line = 0;

  // Takes a label row's id and label (copied: the row's buffers are reused).
  void set(const Value& id_value, const Value& value, double at, uint64_t from_line) {
    id_text(id_value, id);
    label = value;
    if (value.kind == ValueKind::kText) {
      label_text.assign(value.text);
      label.text = label_text;
    }
    time = at;
    line = from_line;
  }
};

}  // namespace

namespace {

// One run of the loop; throws RestartFromCheckpoint when it must go back to its last
// acknowledged checkpoint (run() starts it again).
RunSummary run_once(const RunConfig& c, const RunControls& controls) {
  const auto start = Clock::now();
  RunSummary summary;
  // A run with checkpoints resumes from the last one, if there is one.
  std::unique_ptr<Checkpointer> checkpointer;
  std::optional<Checkpoint> resume;
  if (c.checkpoint) {
    checkpointer = std::make_unique<Checkpointer>(c.checkpoint->dir);
    // A checkpoint held for its commit (a Kafka source): the last one if the group
    // committed what it holds before this worker died, else forgotten (its records come
    // again, here or to another worker).
    std::optional<Checkpoint> held;
    try {
      held = checkpointer->held();
    } catch (const Error& e) {
      // Damaged (a flipped byte): never acknowledged, so the last one stands in for it.
      std::fprintf(stderr, "rtml run: %s; resuming from the checkpoint before it\n", e.what());
      checkpointer->drop_held();
    }
    if (held) {
      KafkaOptions k;
      if (c.kafka) k = {c.kafka->brokers, c.kafka->settings};
      if (!c.events.topic.empty() && held->config_hash == c.text_hash &&
          kafka_offsets_committed(k, c.events.topic, c.events.group, load_stream_acks(*held))) {
        checkpointer->promote();
      } else {
        checkpointer->drop_held();
      }
    }
    resume = checkpointer->last();
    if (resume && resume->config_hash != c.text_hash) {
      throw Error(c.file + ": the config changed since the checkpoint in " + c.checkpoint->dir +
                  " was written; run the config it was written for, or remove " +
                  c.checkpoint->dir + " to start over");
    }
  }
  CheckpointPosition at;  // where this run resumes (zeros: the start)
  if (resume) at = resume->position;
  summary.events = at.events;
  summary.learned = at.learned;
  summary.dead_letters = at.dead_letters;
  summary.labels_refused = at.labels_refused;
  summary.resumed_at = at.events_read;
  Sink predictions(c.sinks.predictions, "predictions",
                   resume ? at.predictions_bytes : Sink::kFresh);
  Sink dead(c.sinks.dead_letters, "dead-letter", resume ? at.dead_letters_bytes : Sink::kFresh);
  // While the sources are read past what the checkpoint holds, nothing is written again;
  // nor are refused lines up to the last line each source had reached (a refused line
  // can follow the last row the checkpoint counts).
  bool skipping = false;
  uint64_t events_line = 0, labels_line = 0;  // the last line each source gave or refused
  // A Redis stream source (owned by its decoder) and stream sinks.
  GroupSource* stream = nullptr;
  std::unique_ptr<RecordSink> prediction_stream, dead_stream;
  if (!c.sinks.predictions_stream.empty() || !c.sinks.dead_letters_stream.empty()) {
    store::RedisOptions ro = store::redis_options_from_url(c.redis);
    if (!c.sinks.predictions_stream.empty()) {
      prediction_stream = std::make_unique<RedisStreamWriter>(ro, c.sinks.predictions_stream,
                                                              c.sinks.stream_max_length);
    }
    if (!c.sinks.dead_letters_stream.empty()) {
      dead_stream = std::make_unique<RedisStreamWriter>(ro, c.sinks.dead_letters_stream,
                                                        c.sinks.stream_max_length);
    }
  }
  KafkaOptions kafka;
  if (c.kafka) kafka = {c.kafka->brokers, c.kafka->settings};
  if (!c.sinks.predictions_topic.empty()) {
    prediction_stream = std::make_unique<KafkaWriter>(kafka, c.sinks.predictions_topic);
  }
  if (!c.sinks.dead_letters_topic.empty()) {
    dead_stream = std::make_unique<KafkaWriter>(kafka, c.sinks.dead_letters_topic);
  }
  auto dead_letter = [&](const char* source, uint64_t line, const std::string& reason,
                         std::string_view record) {
    if (skipping) return;
    ++summary.dead_letters;
    // An entry of a stream source is named by its id (line numbers restart with the process).
    const std::string entry = stream && source[0] == 'e' ? stream->entry_of(line) : std::string();
    if (dead_stream) {
      const std::string line_text = std::to_string(line);
      dead_stream->add(entry,
                       {{"source", source},
                        {"line", line_text},
                        {"entry", entry},
                        {"reason", reason},
                        {"record", record.data() ? record.substr(0, 65536) : std::string_view()}});
    }
    if (!dead.file()) return;
    nlohmann::json j = {{"source", source}, {"line", line}, {"reason", reason}};
    if (!entry.empty()) j["entry"] = entry;
    if (!record.data() || record.empty()) {
      j["record"] = nullptr;
    } else {
      j["record"] = std::string(record.substr(0, 65536));
    }
    dead.line(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  };

  Pipeline pipeline = resume                 ? Pipeline::load(resume->model)
                      : c.model.load.empty() ? Pipeline(c.model.expression)
                                             : Pipeline::load(c.model.load);
  if (!c.model.positive.empty()) {
    pipeline.labels().name_positive(c.model.positive, c.file + ": model.positive");
  }
  const bool regression = pipeline.task() == Task::kRegression;
  // Data-parallel learning: the replicas meet in Redis every so many events learned.
  std::unique_ptr<ReplicaAverager> averager;
  std::unique_ptr<ModelPublisher> publisher;
  std::unique_ptr<ModelFollower> follower;
  uint64_t learned_since_merge = 0;
  if (c.replicas && c.replicas->mode == "publish") {
    publisher =
        std::make_unique<ModelPublisher>(store::redis_options_from_url(c.redis), c.replicas->key);
  } else if (c.replicas && c.replicas->mode == "follow") {
    follower =
        std::make_unique<ModelFollower>(store::redis_options_from_url(c.redis), c.replicas->key);
  } else if (c.replicas) {
    // A model that cannot be averaged is refused now, not at the first merge.
    pipeline.average(1.0, {});
    averager =
        std::make_unique<ReplicaAverager>(store::redis_options_from_url(c.redis), c.replicas->key,
                                          !c.replicas->name.empty()    ? c.replicas->name
                                          : !c.events.consumer.empty() ? c.events.consumer
                                                                       : default_consumer(c));
  }
  auto learned_one = [&] {
    ++summary.learned;
    if ((averager || publisher) && ++learned_since_merge >= c.replicas->every) {
      learned_since_merge = 0;
      if (averager) averager->merge(pipeline, summary.learned);
      if (publisher) publisher->publish(pipeline);
    }
  };
  summary.regression = regression;
  const std::string target = c.labels ? c.labels->label : c.model.target;

  // The events: ids read as text, the target as the task reads it.
  std::vector<std::string> as_text, as_number;
  if (!c.events.id.empty()) as_text.push_back(c.events.id);
  if (!c.events.time.empty()) as_number.push_back(c.events.time);
  if (!target.empty()) (regression ? as_number : as_text).push_back(target);
  DecodeOptions eo = decode_options(c.events, as_text, as_number, controls.stop_fd);
  // Whether the events can be read again from their start after a crash (a file), or
  // come after what the last process read (standard input, a FIFO, a Redis stream).
  const bool events_replayable = !c.events.path.empty() && replayable(c.events.path);
  eo.on_bad_line = [&](const BadLine& b) {
    events_line = std::max(events_line, b.line);
    // reported before the checkpoint
    if (resume && events_replayable && b.line <= at.events_line) return;
    dead_letter("events", b.line, b.reason, b.record);
  };
  // A stop requested while a source waits for its first bytes (a header on a pipe) ends
  // the run before it began.
  auto stopped_at_open = [&] {
    summary.signal = controls.stop_requested ? controls.stop_requested() : 0;
    summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return summary;
  };
  std::unique_ptr<RowSource> events;
  std::function<void()> on_stream_idle;    // set once the loop below is ready
  std::function<void()> on_stream_revoke;  // the same
  std::unique_ptr<GroupSource> group_source;
  if (!c.events.topic.empty()) {
    TopicReadOptions to;
    to.kafka = kafka;
    to.topic = c.events.topic;
    to.group = c.events.group;
    to.consumer = c.events.consumer.empty() ? default_consumer(c) : c.events.consumer;
    to.session_seconds = c.events.claim_idle;
    to.stop_fd = controls.stop_fd;
    to.on_idle = [&] {
      if (on_stream_idle) on_stream_idle();
    };
    to.on_revoke = [&] {
      if (on_stream_revoke) on_stream_revoke();
    };
    to.restart_when_unacknowledged = checkpointer != nullptr;
    group_source = std::make_unique<KafkaReader>(std::move(to));
  } else if (!c.events.stream.empty()) {
    StreamReadOptions so;
    so.redis = store::redis_options_from_url(c.redis);
    so.stream = c.events.stream;
    so.group = c.events.group;
    so.consumer = c.events.consumer.empty() ? default_consumer(c) : c.events.consumer;
    so.field = c.events.field;
    if (c.labels) so.second_stream = c.labels->stream;
    so.claim_idle_seconds = c.events.claim_idle;
    so.stop_fd = controls.stop_fd;
    so.on_idle = [&] {
      if (on_stream_idle) on_stream_idle();
    };
    group_source = std::make_unique<RedisStreamReader>(std::move(so));
  }
  if (group_source) {
    stream = group_source.get();
    // Records whose effects the checkpoint holds but which the last process did not live
    // to acknowledge: they are done, and must not come again.
    if (resume) stream->resume(load_stream_acks(*resume));
    eo.format = SourceFormat::kJsonLines;
    events = std::make_unique<JsonLinesDecoder>(std::move(group_source), eo);
  } else {
    try {
      events = open_source(c.events.path, eo);
    } catch (const ReadStopped&) {
      return stopped_at_open();
    }
  }

  std::unique_ptr<RowSource> labels;
  // Labels on a Redis stream come through the events' reader (its second stream), and
  // the predictions they need are kept in Redis, where any worker finds them.
  std::unique_ptr<SharedPredictionLog> shared_log;
  if (c.labels && !c.labels->stream.empty()) {
    store::RedisOptions ro = store::redis_options_from_url(c.redis);
    ro.prefix = c.store ? c.store->prefix : "rtml";
    shared_log = std::make_unique<SharedPredictionLog>(ro, c.labels->log_seconds);
  } else if (c.labels) {
    RunConfig::Source ls;
    ls.format = c.labels->format;
    std::vector<std::string> lt = {c.labels->id}, ln;
    (regression ? ln : lt).push_back(c.labels->label);
    if (!c.labels->time.empty()) ln.push_back(c.labels->time);
    DecodeOptions lo = decode_options(ls, lt, ln, controls.stop_fd);
    lo.on_bad_line = [&](const BadLine& b) {
      labels_line = std::max(labels_line, b.line);
      if (skipping || (resume && b.line <= at.labels_line)) return;
      ++summary.labels_refused;
      dead_letter("labels", b.line, b.reason, b.record);
    };
    try {
      labels = open_source(c.labels->path, lo);
    } catch (const ReadStopped&) {
      return stopped_at_open();
    }
  }

  // The feature store: its aggregates are kept by the events, and read back as features.
  std::unique_ptr<store::EmbeddedStore> store;
  std::unique_ptr<store::RedisStore> redis;  // or features others keep in Redis
  std::unique_ptr<RedisAggregates> shared;   // and aggregates every worker keeps there
  std::string store_dir;
  if (c.store && !c.store->url.empty()) {
    store::RedisOptions ro = store::redis_options_from_url(c.store->url);
    ro.prefix = c.store->prefix;
    if (!c.store->aggregates.empty()) {
      std::string declarations;
      for (const auto& a : c.store->aggregates) declarations += a + "\n";
      shared = std::make_unique<RedisAggregates>(
          RedisAggregates::Options{ro, c.store->dedup_seconds},
          features::parse_aggregates(declarations, c.file + ": store.aggregates"));
    }
    redis = std::make_unique<store::RedisStore>(std::move(ro));
  } else if (c.store) {
    store::StoreOptions so;
    so.dir = c.store->dir;
    // A checkpointed store needs a folder to snapshot into: the checkpoints' own.
    if (so.dir.empty() && checkpointer) so.dir = checkpointer->dir() + "/store";
    if (resume && !resume->store_snapshot.empty()) so.restore_from = resume->store_snapshot;
    so.fsync = store::FsyncSetting::parse(c.store->fsync);
    std::string declarations;
    for (const auto& a : c.store->aggregates) declarations += a + "\n";
    if (!declarations.empty()) {
      so.computed = std::make_shared<StoreAggregates>(
          features::parse_aggregates(declarations, c.file + ": store.aggregates"));
    }
    store_dir = so.dir;
    store = store::EmbeddedStore::open(std::move(so));
  }

  Featurizer::Roles roles{target, {c.model.drop.begin(), c.model.drop.end()}};
  if (!c.events.id.empty()) roles.drop.insert(c.events.id);
  if (!c.events.time.empty()) roles.drop.insert(c.events.time);
  Runtime rt(pipeline, {roles, c.pending});
  if (resume) load_pending(*resume, rt.log());
  if (store || redis) {
    std::vector<Runtime::Enrichment> enrich;
    for (const auto& e : c.enrich) enrich.push_back({e.key, e.features});
    if (store) {
      rt.use_store(store.get(), std::move(enrich));
    } else if (shared) {
      rt.share_aggregates(shared.get(), redis.get(), std::move(enrich));
    } else {
      rt.read_latest_from(redis.get(), std::move(enrich));
    }
  }
  rt.set_binary(pipeline.task() == Task::kBinary);

  // The training log, in the store's folder: cut back to the checkpoint's position, and
  // the model warmed from it when it starts anew.
  std::unique_ptr<TrainingLog> training;
  if (c.training_log) {
    training = std::make_unique<TrainingLog>(
        store_dir + "/training", TrainingLog::Limits{c.training_log->keep, c.training_log->window});
    if (resume && at.training_segment) {
      training->truncate_to({at.training_segment, at.training_bytes});
      training->pin(at.training_segment);
    } else if (!resume && c.model.warm_start) {
      Featurizer::Roles warm_roles = roles;
      warm_roles.target = target;
      summary.warm_started = warm_start(store_dir + "/training", pipeline, warm_roles);
    }
  }
  std::string record;  // the event as the training log keeps it
  auto begin_record = [&](const Row& r, double time) {
    record.clear();
    fmt::format_to(std::back_inserter(record), "{{\"_time\":{}", time);
    const auto& cols = events->columns();
    for (size_t i = 0; i < r.values.size() && i < cols.size(); ++i) {
      const Value& v = r.values[i];
      // JSON has no NaN or infinity: such a value is left out, as a missing one is.
      if (v.kind == ValueKind::kMissing || cols[i].name == "_time" ||
          (v.kind == ValueKind::kNumber && !std::isfinite(v.number))) {
        continue;
      }
      record += ',';
      append_json_text(record, cols[i].name);
      record += ':';
      if (v.kind == ValueKind::kNumber) {
        fmt::format_to(std::back_inserter(record), "{}", v.number);
      } else {
        append_json_text(record, v.text);
      }
    }
    rt.for_each_enrichment([&](const std::string& name, const store::FeatureValue& f) {
      if (!f.present) return;
      if (f.type == store::FeatureType::kNumber && std::isfinite(f.number)) {
        record += ',';
        append_json_text(record, name);
        fmt::format_to(std::back_inserter(record), ":{}", f.number);
      } else if (f.type == store::FeatureType::kCategory) {
        record += ',';
        append_json_text(record, name);
        record += ':';
        append_json_text(record, f.text);
      }
    });
  };

  size_t known_columns = events->columns().size();
  rt.sync_columns(events->columns());

  FieldRef event_id{c.events.id}, event_time{c.events.time};
  FieldRef label_id, label_value, label_time;
  if (c.labels) {
    label_id.name = c.labels->id;
    label_value.name = c.labels->label;
    label_time.name = c.labels->time;
  }
  auto stopped = [&] {
    int s = controls.stop_requested ? controls.stop_requested() : 0;
    if (s) summary.signal = s;
    return s != 0;
  };
  auto next = [&](RowSource& source, Row& row) {
    try {
      return source.next(row);
    } catch (const ReadStopped&) {
      stopped();
      return false;
    }
  };

  // The next label, read ahead until its time comes.
  uint64_t labels_read = 0;  // rows the labels source gave
  Row lrow;
  LabelRow pending_label;
  bool have_label = false;
  auto read_label = [&] {
    have_label = false;
    while (labels && next(*labels, lrow)) {
      ++labels_read;
      labels_line = std::max(labels_line, lrow.line);
      const Value* id = label_id.in(*labels, lrow);
      const Value* value = label_value.in(*labels, lrow);
      const Value* time = label_time.in(*labels, lrow);
      std::string why = !id      ? "missing id '" + label_id.name + "'"
                        : !value ? "missing label '" + label_value.name + "'"
                        : !label_time.name.empty() && !time
                            ? "missing time '" + label_time.name + "'"
                            : "";
      if (!why.empty()) {
        ++summary.labels_refused;
        dead_letter("labels", lrow.line, why, {});
        continue;
      }
      pending_label.set(*id, *value, time ? time->number : -INFINITY, lrow.line);
      have_label = true;
      return;
    }
  };
  // A rolling metric over the last 1,000 predictions whose label came: accuracy, or the
  // mean absolute error for regression.
  RollingMean rolling(1000);
  auto score = [&](const Prediction& pred, const Target& truth) {
    rolling.add(regression ? std::abs(pred.value - truth.value)
                           : (pred.has_label && pred.label == truth.label ? 1.0 : 0.0));
  };
  Prediction scored;
  Target truth;
  std::string logged;    // the record kept with a prediction, completed by its label
  double last_time = 0;  // of the last event predicted (a stream label's "now")
  // Learns the label in pending_label from a record another worker logged in Redis: the
  // event's fields and enrichment as they were when it was predicted.
  auto learn_logged = [&](const std::string& text) -> Status {
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object()) return Status::error("a prediction record in Redis is not JSON");
    std::vector<EventField> fields;
    for (const auto& [name, v] : j.items()) {
      if (name == "_time" || name == c.events.id || name == c.events.time ||
          name == c.labels->label ||
          std::find(c.model.drop.begin(), c.model.drop.end(), name) != c.model.drop.end()) {
        continue;
      }
      if (v.is_number()) {
        fields.push_back(EventField::of_number(name, v.get<double>()));
      } else if (v.is_string()) {
        fields.push_back(EventField::of_text(name, v.get_ref<const std::string&>()));
      }
    }
    return rt.learn_fields(fields, pending_label.label, &scored, &truth);
  };
  auto apply_label = [&](double now) {
    Status st = rt.label(EventId::of_text(pending_label.id), pending_label.label, now, &scored,
                         &truth, training ? &logged : nullptr);
    if (st) {
      learned_one();
      score(scored, truth);
      if (training && !logged.empty()) {
        logged += ',';
        append_json_text(logged, c.labels->label);
        logged += ':';
        if (pending_label.label.kind == ValueKind::kNumber &&
            !std::isfinite(pending_label.label.number)) {
          logged += "null";
        } else if (pending_label.label.kind == ValueKind::kNumber) {
          fmt::format_to(std::back_inserter(logged), "{}", pending_label.label.number);
        } else {
          append_json_text(logged, pending_label.label.text);
        }
        logged += '}';
        training->append(logged);
      }
    } else {
      ++summary.labels_refused;
      dead_letter("labels", pending_label.line, st.why() + " (id '" + pending_label.id + "')", {});
    }
  };
  Row row;
  uint64_t number = 0;  // rows the events source gave
  // Resuming: the sources are read past what the checkpoint holds (a stream on standard
  // input is not: what a new process reads there comes after what the old one read).
  if (resume) {
    skipping = true;
    if (events_replayable) {
      while (number < at.events_read && next(*events, row)) ++number;
    } else {
      number = at.events_read;
    }
    if (labels && replayable(c.labels->path)) {
      while (labels_read < at.labels_read && next(*labels, lrow)) ++labels_read;
    } else {
      labels_read = at.labels_read;
    }
    skipping = false;
    if (number < at.events_read || (labels && labels_read < at.labels_read)) {
      // Stopped while reading past the checkpoint: nothing was done, and a checkpoint
      // written now would stand before what the model and the store already hold.
      if (summary.signal) {
        summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
        return summary;
      }
      throw Error(
          std::string(number < at.events_read ? "the events source" : "the labels source") +
          " has fewer records than the checkpoint in " + c.checkpoint->dir + " had read (" +
          std::to_string(number < at.events_read ? at.events_read : at.labels_read) +
          "): it is not the stream the run was started on; remove the folder to start over");
    }
    if (events->columns().size() != known_columns) {
      known_columns = events->columns().size();
      rt.sync_columns(events->columns());
    }
  }
  read_label();

  uint64_t checkpointed_at = number;  // event number of the last checkpoint
  auto checkpoint_time = Clock::now();
  bool first_checkpoint = !resume;  // written before the first event: see below
  bool held = false;                // the last checkpoint's acknowledgement was refused
  auto checkpoint = [&] {
    CheckpointPosition pos;
    pos.events_read = number;
    pos.events_line = events_line;
    pos.labels_line = labels_line;
    // A label read ahead but not yet learned from is read again after a resume.
    pos.labels_read = labels_read - (have_label ? 1 : 0);
    pos.predictions_bytes = predictions.durable_bytes();
    pos.dead_letters_bytes = dead.durable_bytes();
    pos.events = summary.events;
    pos.learned = summary.learned;
    pos.dead_letters = summary.dead_letters;
    pos.labels_refused = summary.labels_refused;
    if (training) {
      training->sync();
      pos.training_segment = training->position().segment;
      pos.training_bytes = training->position().bytes;
    }
    // Stream entries handled up to here: acknowledged once the checkpoint holds them.
    std::vector<std::string> acks;
    if (stream) {
      if (prediction_stream) prediction_stream->flush();
      if (dead_stream) dead_stream->flush();
      if (shared_log) shared_log->flush();
      stream->take_through(events_line, acks);
    }
    // A source that can refuse the acknowledgement: the checkpoint is held until it
    // accepts (a later checkpoint's, if not this one's).
    const bool hold = stream && stream->acks_can_be_refused();
    checkpointer->write(c.text_hash, pos, pipeline, rt.log(), store.get(), acks, hold);
    if (stream) {
      crash_point("before-stream-ack");
      held = !stream->ack(acks);
      if (hold && !held) {
        crash_point("before-checkpoint-promote");
        checkpointer->promote();
      }
    }
    // Segments up to this checkpoint's may now leave; those after it wait for the next.
    if (training) training->pin(pos.training_segment);
    ++summary.checkpoints;
    checkpointed_at = number;
    checkpoint_time = Clock::now();
  };

  // Without checkpoints, a stream entry is done once its prediction and dead letters are
  // in their sinks: acknowledged in batches.
  std::vector<std::string> acks;
  auto commit_stream = [&] {
    if (!stream) return;
    predictions.flush();
    dead.flush();
    if (prediction_stream) prediction_stream->flush();
    if (dead_stream) dead_stream->flush();
    if (shared_log) shared_log->flush();
    acks.clear();
    stream->take_through(events_line, acks);
    stream->ack(acks);
  };
  auto commit_time = Clock::now();
  on_stream_revoke = [&] {
    if (checkpointer) {
      checkpoint();
    } else {
      commit_stream();
    }
  };
  on_stream_idle = [&] {
    if (!checkpointer) {
      commit_stream();
    } else if (number != checkpointed_at &&
               Clock::now() - checkpoint_time >= seconds(c.checkpoint->seconds)) {
      checkpoint();
    }
  };

  Prediction p;
  Target y;
  bool has_target;
  std::string id;
  std::string out;
  std::vector<std::string> class_json;   // by class index
  const uint64_t first_number = number;  // pacing counts from here
  double first_time = NAN;               // of the first event, for speed
  const bool generated = c.events.path.rfind("synth:", 0) == 0;
  const bool paced = c.events.rate > 0 || c.events.speed > 0;
  LatencyHistogram latency;
  for (;;) {
    // A fresh run checkpoints before its first event: killed before its first periodic
    // checkpoint, it must not start over on a store and training log that already hold
    // what it did.
    if (checkpointer && first_checkpoint) {
      first_checkpoint = false;
      checkpoint();
    }
    if (checkpointer && ((number - checkpointed_at) >= c.checkpoint->events ||
                         ((number & 255) == 0 && number != checkpointed_at &&
                          Clock::now() - checkpoint_time >= seconds(c.checkpoint->seconds)))) {
      checkpoint();
    }
    if (stream && !checkpointer && (number & 63) == 0 &&
        Clock::now() - commit_time >= seconds(0.1)) {
      commit_stream();
      commit_time = Clock::now();
    }
    if (summary.signal || (generated && stopped()) || !next(*events, row)) break;
    ++number;
    events_line = row.line;
    if (events->columns().size() != known_columns) {
      known_columns = events->columns().size();
      rt.sync_columns(events->columns());
    }
    if (shared_log && stream->stream_of(row.line) == 1) {
      // A label from the labels stream: learned here from this worker's own log, or from
      // the one in Redis if another worker predicted its event.
      const Value* lid = label_id.in(*events, row);
      const Value* value = label_value.in(*events, row);
      if (!lid || !value) {
        ++summary.labels_refused;
        dead_letter("labels", row.line,
                    !lid ? "missing id '" + label_id.name + "'"
                         : "missing label '" + label_value.name + "'",
                    {});
        continue;
      }
      pending_label.set(*lid, *value, last_time, row.line);
      const EventId eid = EventId::of_text(pending_label.id);
      if (rt.log().knows(eid)) {
        apply_label(last_time);
      } else if (auto logged_record = shared_log->get(pending_label.id)) {
        Status st = learn_logged(*logged_record);
        if (st) {
          learned_one();
          score(scored, truth);
          ++summary.labels_from_log;
        } else {
          ++summary.labels_refused;
          dead_letter("labels", row.line, st.why() + " (id '" + pending_label.id + "')", {});
        }
      } else {
        ++summary.labels_refused;
        dead_letter(
            "labels", row.line,
            "no prediction of this id is waiting, here or in Redis (id '" + pending_label.id + "')",
            {});
      }
      continue;
    }
    double time = static_cast<double>(number);
    if (!c.events.time.empty()) {
      const Value* t = event_time.in(*events, row);
      if (!t || t->kind != ValueKind::kNumber) {
        dead_letter("events", row.line, "missing or non-numeric time '" + c.events.time + "'", {});
        continue;
      }
      time = t->number;
    }
    // Labels whose time has come are learned before this event is predicted.
    while (have_label && pending_label.time <= time) {
      apply_label(pending_label.time);
      read_label();
    }
    // A stop noticed by the labels reader: this event is left for the next run (the
    // labels due before it may not all have been read).
    if (summary.signal) {
      --number;
      break;
    }
    // Paced replay: this event waits for its moment (a stop request ends the wait).
    Clock::time_point due{};
    if (c.events.rate > 0) {
      due = start + seconds(static_cast<double>(number - first_number - 1) / c.events.rate);
    } else if (c.events.speed > 0) {
      if (!std::isfinite(first_time)) first_time = time;
      due = start + seconds((time - first_time) / c.events.speed);
    }
    if (paced) wait_until(due, controls.stop_fd);
    rt.log().expire(time);
    Status st;
    if (c.labels) {
      const Value* v = event_id.in(*events, row);
      if (!v) {
        dead_letter("events", row.line, "missing id '" + c.events.id + "'", {});
        continue;
      }
      id_text(*v, id);
      st = rt.predict(row, EventId::of_text(id), time, false, p, y, has_target);
      if (st && (training || shared_log)) {
        // The event with the enrichment predict() just read, kept with its prediction
        // (the label completes it), and in Redis for a label that reaches another worker.
        begin_record(row, time);
        if (training) rt.log().set_last_record(record);
        if (shared_log) {
          record += '}';
          shared_log->put(id, record);
        }
      }
      last_time = time;
    } else {
      if (const Value* v = event_id.in(*events, row)) {
        id_text(*v, id);
      } else {
        id = std::to_string(number);
      }
      if (follower) {
        // A newer snapshot, taken between two events: the next prediction is the new
        // model's.
        if (auto next = follower->take()) {
          pipeline = std::move(*next);
          rt.pipeline_replaced();
          class_json.clear();  // the new model may number its classes otherwise
          ++summary.model_versions;
        }
        bool has_label = false;
        st = rt.score(row, time, p, &y, &has_label);
        if (st && has_label) score(p, y);
      } else {
        st = rt.predict_then_learn(row, p, y, time);
      }
      if (st && !follower) {
        learned_one();
        score(p, y);
        if (training) {
          begin_record(row, time);
          record += '}';
          training->append(record);
        }
      }
    }
    if (!st) {
      dead_letter("events", row.line, st.why(), {});
      continue;
    }
    ++summary.events;
    // The store learns of the event after the model has seen it.
    // Events numbered by the engine are not deduplicated: another run numbers its own
    // events from 1 again, and they are not the same events.
    if (Status u = rt.update_store(row, time, id, !c.events.id.empty()); !u) {
      dead_letter("events", row.line, u.why(), {});
    }
    if (predictions.file()) {
      out.clear();
      out += "{\"id\":";
      append_json_text(out, id);
      fmt::format_to(std::back_inserter(out), ",\"time\":{},\"prediction\":{}", time,
                     regression ? p.value : pipeline.reported_probability(p));
      if (!regression && p.has_label && p.label < pipeline.labels().size() &&
          !pipeline.labels().name(p.label).empty()) {
        // A class's name as JSON, written once: a class keeps its name.
        if (class_json.size() <= p.label) class_json.resize(pipeline.labels().size());
        if (class_json[p.label].empty())
          class_json[p.label] = json_text(pipeline.labels().name(p.label));
        out += ",\"class\":";
        out += class_json[p.label];
      }
      out += '}';
      predictions.line(out);
    }
    if (prediction_stream) {
      char value[32];
      const double v = regression ? p.value : pipeline.reported_probability(p);
      auto r = std::to_chars(value, value + sizeof(value), v);
      std::string_view cls;
      if (!regression && p.has_label && p.label < pipeline.labels().size()) {
        cls = pipeline.labels().name(p.label);
      }
      if (cls.empty()) {
        prediction_stream->add(
            id, {{"id", id}, {"prediction", std::string_view(value, r.ptr - value)}});
      } else {
        prediction_stream->add(
            id,
            {{"id", id}, {"prediction", std::string_view(value, r.ptr - value)}, {"class", cls}});
      }
    }
    if (predictions.file()) {
      // A paced (live) stream's predictions leave at once: what latency is measured to.
      if (paced) {
        predictions.flush();
        latency.add(std::chrono::duration<double>(Clock::now() - due).count());
      }
    }
    if (controls.progress && (summary.events & 4095) == 0) {
      summary.pending = rt.log().waiting();
      summary.rolling_metric = rolling.mean();
      summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
      controls.progress(summary);
    }
  }
  // The labels still to come arrive after the last event.
  while (have_label && !summary.signal) {
    apply_label(pending_label.time == -INFINITY ? static_cast<double>(number) : pending_label.time);
    read_label();
  }
  // A run that ends, or is stopped, with checkpoints on leaves one to resume from: a run
  // started again after the end reads on from there, past anything appended since.
  if (checkpointer) checkpoint();
  if (held && stream->settle(std::max(10.0, c.events.claim_idle))) {
    held = false;
    checkpointer->promote();
  }
  if (held) {
    // The source never took the last acknowledgement: what it holds goes to the next
    // owner of those records, and this run ends where its last acknowledged checkpoint
    // stands (the next run resumes there).
    std::optional<Checkpoint> last = checkpointer->last();
    const CheckpointPosition p = last ? last->position : CheckpointPosition{};
    std::fprintf(stderr,
                 "rtml run: the source did not accept the acknowledgement of the last %llu "
                 "events; they are handled again, and this run ends at its last acknowledged "
                 "checkpoint\n",
                 static_cast<unsigned long long>(summary.events - p.events));
    summary.events = p.events;
    summary.learned = p.learned;
    summary.dead_letters = p.dead_letters;
    summary.labels_refused = p.labels_refused;
  }
  if (!checkpointer) commit_stream();
  predictions.flush();
  dead.flush();
  if (stream) {
    summary.stream_entries = stream->records();
    summary.stream_claimed = stream->claimed();
    summary.stream_acked = stream->acked();
  }
  if (!c.model.save.empty()) pipeline.save(c.model.save);
  summary.pending = rt.log().waiting();
  summary.expired = rt.log().expired();
  summary.rolling_metric = rolling.mean();
  if (latency.count()) {
    summary.latency_p50_ms = latency.quantile(0.5) * 1e3;
    summary.latency_p99_ms = latency.quantile(0.99) * 1e3;
    summary.latency_max_ms = latency.max() * 1e3;
  }
  summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return summary;
}

}  // namespace

RunSummary run(const RunConfig& c, const RunControls& controls) {
  uint64_t restarts = 0;
  for (;;) {
    try {
      RunSummary s = run_once(c, controls);
      s.restarts = restarts;
      return s;
    } catch (const RestartFromCheckpoint& e) {
      // Everything of the last attempt is closed (its checkpoint folder unlocked, its
      // consumer out of the group): the next resumes from the last acknowledged checkpoint.
      std::fprintf(stderr, "rtml run: %s; resuming from the last acknowledged checkpoint\n",
                   e.what());
      ++restarts;
    }
  }
}

}  // namespace rtml::runtime
