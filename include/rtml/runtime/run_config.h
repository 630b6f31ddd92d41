// RunConfig: what `rtml run` runs, read from one YAML file.
#pragma once

#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "rtml/learn/prediction_log.h"

namespace rtml::runtime {

// A running pipeline: where events come from, where their labels come from (with them,
// or from a second stream joined by event id), the model, and where predictions and
// refused input go. See examples/*.yaml and the README for the keys.
struct RunConfig {
  std::string file;       // the YAML file it was read from, for messages
  std::string text_hash;  // of the file's text: a checkpoint resumes only the same config

  // The Redis that stream sources and sinks use: redis://[[user]:password@]host[:port][/db].
  std::string redis;

  // The Kafka brokers that topic sources and sinks use, and librdkafka settings passed
  // as they are (security.protocol, sasl.*, ssl.*, ...).
  struct Kafka {
    std::string brokers;
    std::map<std::string, std::string> settings;
  };
  std::optional<Kafka> kafka;

  struct Source {
    std::string path;  // a file (CSV, CSV.gz, JSON Lines), "-" for stdin, or synth:...
    // Or a Kafka topic (on `kafka`), read in the consumer group `group`, each record's
    // value a JSON object.
    std::string topic;
    // Or a Redis stream (on `redis`), read in a consumer group: see redis_streams.h.
    std::string stream;
    std::string group = "rtml";
    // This worker's name in the group. "" : the host's name with the checkpoint folder's
    // absolute path (the same after a restart, so the worker takes back what it held), or
    // without checkpoints the host's name and the process id.
    std::string consumer;
    std::string field = "event";  // an entry's JSON object field (else one per feature)
    // Seconds before a silent consumer's entries (Redis) or partitions (Kafka's session
    // timeout) are taken by the others.
    double claim_idle = 30;
    std::string format;  // "csv" or "jsonl"; "" : by the file's name (stdin: CSV)
    std::string id;      // the event id field; "" numbers events from 1
    std::string time;    // the event time field (seconds); "" uses the event's number
    std::vector<std::string> categorical, numeric;  // column types forced
    // Replay pace: at most `rate` events per second (0: as fast as possible), or, with
    // `speed` > 0 and a time field, event time played `speed` times faster than it passed.
    double rate = 0;
    double speed = 0;
  };
  Source events;

  // A second stream of labels ({id, label[, time]}), joined to the events by id. Without
  // it, a label comes with its event (model.target).
  struct Labels {
    std::string path;
    // Or a Redis stream the same workers read in the same group as source.stream: a
    // label comes whenever it comes, to any worker, which learns it from the features its
    // event was predicted with, kept in Redis (<prefix>:log:{<id>}) for log_seconds.
    std::string stream;
    double log_seconds = 86400;
    std::string format;  // as Source::format
    std::string id;      // its event id field
    std::string label;   // its label field
    std::string time;    // its time field (required, as is source.time): the two streams
                         // are replayed merged by time
  };
  std::optional<Labels> labels;

  struct Model {
    std::string expression;  // or load
    std::string load;
    std::string save;    // written when the run ends
    std::string target;  // the events' label field (without a labels stream)
    std::vector<std::string> drop;
    std::string positive;  // a binary target's positive class ("" : the greater, Labels)
    // Learn from the store's training log before the first event (a new model starting
    // warm), when there is no checkpoint to resume.
    bool warm_start = false;
  };
  Model model;

  // Data-parallel learning (on `redis`): this worker's model is published and averaged
  // with the other workers' replicas every `every` events it learns (replica_averaging.h).
  // mode "average": data-parallel learning, as above; "publish": this worker learns and
  // publishes a snapshot of its model every `every` events learned (model_channel.h);
  // "follow": this worker learns nothing and predicts with the newest snapshot published
  // under `key`, reloaded between two events when one is announced.
  struct Replicas {
    std::string mode = "average";
    uint64_t every = 10000;
    std::string key = "rtml:replicas";  // the Redis hash the replicas meet in
    std::string name;                   // this replica's field ("" : the consumer's name)
  };
  std::optional<Replicas> replicas;

  PredictionLog::Limits pending;  // predictions waiting for their label

  // The feature store the events keep up to date and the model reads from.
  struct Store {
    // Redis (redis://host:port): entity features written there by others, read for
    // enrichment as they are now (Redis keeps no history), and the aggregates below,
    // kept there by every worker (RedisAggregates). Without it, the embedded store,
    // which the events keep up to date.
    std::string url;
    double dedup_seconds = 86400;         // Redis aggregates: how long an event id is remembered
    std::string prefix = "rtml";          // of the Redis keys (RedisOptions::prefix)
    std::string dir;                      // "" : in memory only
    std::string fsync = "every=10ms";     // always, never, every=N
    std::vector<std::string> aggregates;  // declarations, as in rtml store --aggregates
  };
  std::optional<Store> store;
  // For each event, the features of the entity it names in field `key`, read from the
  // store as of the event's time, before the event's own update.
  struct Enrich {
    std::string key;
    std::vector<std::string> features;
  };
  std::vector<Enrich> enrich;

  // The learned events kept in the store's folder (DIR/training/): count and time bounds.
  struct TrainingLogConfig {
    uint64_t keep = 100000;
    double window = INFINITY;
  };
  std::optional<TrainingLogConfig> training_log;

  // Checkpoints (checkpoint.h): every `events` events or `seconds` seconds, whichever
  // comes first, on SIGTERM or SIGINT, and at the end; a run started again with the same
  // config resumes from the last one.
  struct Checkpoints {
    std::string dir;
    uint64_t events = 100000;
    double seconds = 10;
  };
  std::optional<Checkpoints> checkpoint;

  struct Sinks {
    std::string predictions;   // JSON Lines; "-" for stdout, "" for none
    std::string dead_letters;  // JSON Lines of refused input with the reason; "" for none
    // Redis streams (on `redis`) the same records are added to, one field each ("" : none),
    // capped near stream_max_length entries (XADD MAXLEN ~).
    std::string predictions_stream;
    std::string dead_letters_stream;
    // Kafka topics (on `kafka`) the same records are produced to, as JSON objects keyed
    // by the event id ("" : none).
    std::string predictions_topic;
    std::string dead_letters_topic;
    uint64_t stream_max_length = 1000000;
  };
  Sinks sinks;
};

// Reads path. Throws Error naming the file, the line and the key for a syntax error, an
// unknown key, a missing required key or a value of the wrong type.
RunConfig load_run_config(const std::string& path);

}  // namespace rtml::runtime
