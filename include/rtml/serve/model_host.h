// ModelHost: one served model, predicting on any thread while one thread learns.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "rtml/core/row.h"
#include "rtml/core/status.h"
#include "rtml/learn/pipeline.h"
#include "rtml/learn/prediction_log.h"
#include "rtml/learn/workspace.h"
#include "rtml/serve/field_buffer.h"
#include "rtml/store/wal.h"

namespace rtml::serve {

// A version of a model's parameters that predictions read: a copy of the pipeline that
// nobody learns into, so any number of threads predict from it at once (each with its
// own Workspace). Immutable once published.
struct ModelSnapshot {
  Pipeline pipeline;
  uint64_t learned = 0;  // labels learned from when it was taken
};

// A snapshot kept as a version that the model can be rolled back to.
struct ModelVersion {
  uint64_t version = 0;  // 1, 2, ... per model
  double created = 0;    // seconds since the epoch
  uint64_t learned = 0;  // labels learned from when it was taken
  // In memory, or (with a folder) the file it is saved in, loaded when rolled back to.
  std::shared_ptr<const ModelSnapshot> snapshot;
  std::string path;
};

// What a host has done, for GET /v1/models/{name} and the metrics.
struct ModelStats {
  uint64_t predicted = 0;  // predictions answered
  uint64_t learned = 0;    // labels learned from
  uint64_t pending = 0;    // predictions waiting for their label
  uint64_t expired = 0;    // predictions whose label never came in time
  uint64_t refused = 0;    // learn requests and logged predictions refused
  uint64_t published = 0;  // snapshots published
  // Progressive validation of the labels learned (each scored with the prediction its
  // event had): a classifier's accuracy, a regressor's mean absolute error, over every
  // label and over the last kWindow.
  bool regression = false;
  double metric_all = 0.0;
  double metric_window = 0.0;
  uint64_t scored = 0;
  static constexpr size_t kWindow = 1000;
};

// One named model served: the pipeline that a single learning thread owns and teaches,
// the prediction log (features kept by event id until the label comes, see
// runtime::Runtime), and the snapshot that predictions read.
//
// With a folder, nothing acknowledged is lost: the learning thread appends each change
// (a logged prediction, a label, a rollback) to a write-ahead log (store::WalWriter)
// before applying it, and completes a request only once its record is durable under the
// fsync policy; it checkpoints the pipeline and the prediction log with the log position
// they cover (runtime::Checkpointer) every checkpoint_every_ms milliseconds or
// checkpoint_every_records records, and at the end. Opening the folder again, after a
// kill -9 too, loads the last checkpoint and applies the records after it: the model is
// the one the acknowledged requests made, each applied once. Versions are saved in
// DIR/versions. The folder belongs to one host at a time (locked).
//
// predict() runs on the caller's thread against the newest published snapshot and never
// waits for learning; it hands the event to the learning thread to be logged. Learning
// requests queue to the learning thread, which applies them in the order queued and
// then calls their completion. A snapshot is published at most every publish_ms (more
// rarely when copying the model costs more: at most a tenth of the learning thread's
// time goes to copies), and at once when asked (publish_now()).
//
// Thread-safe.
class ModelHost {
 public:
  struct Options {
    PredictionLog::Limits log;
    uint32_t publish_ms = 5;
    std::string dir;  // "": in memory only
    store::FsyncSetting fsync;
    uint32_t checkpoint_every_ms = 60000;
    uint64_t checkpoint_every_records = 1000000;
    size_t max_versions = 100;  // the oldest goes (with its files) past this
    // Most events queued for the learning thread or being applied by it: behind() says
    // when a request must wait (the API answers 503). Bounds the memory they hold.
    size_t max_queued = 1u << 18;
  };
  // What a learn request carries: the label, and either the id of an event predicted
  // before, or the event's fields.
  struct LearnRequest {
    std::string event_id;  // "" when fields are given
    FieldBuffer fields;
    // The label: a number, or a text (a class name).
    ValueKind label_kind = ValueKind::kMissing;
    double label_number = 0;
    std::string label_text;
  };
  using Done = std::function<void(const Status&)>;

  // Takes the pipeline (its expression's text is kept for GET) and starts the learning
  // thread. With options.dir, the model is what the folder holds if it holds one (the
  // pipeline given is then not used): throws Error naming the file if the folder cannot
  // be read or written, is damaged, or is held by another process.
  ModelHost(std::string name, std::string expression, Pipeline pipeline, Options options);
  // stop().
  ~ModelHost();
  ModelHost(const ModelHost&) = delete;
  ModelHost& operator=(const ModelHost&) = delete;

  // Events predicted but not yet handed over to be logged (see predict()).
  class PendingLogs;

  // Predicts for the event's fields into out, from snap (snapshot()), and queues the
  // event to be logged under event_id (one is made if empty; it is written back). Refused
  // (nothing queued) for a field the model cannot read. Safe on any thread; workspace is
  // the calling thread's own.
  Status predict(const ModelSnapshot& snap, std::span<const EventField> fields,
                 std::string& event_id, Prediction& out, Workspace& workspace);
  // The same for an event of a batch: kept in pending instead of queued, until
  // log(pending), so that a batch is logged whole or not at all. logged_id receives the
  // id the event is logged under (event_id, or one made if it is empty), valid until the
  // next call with pending.
  Status predict(const ModelSnapshot& snap, std::span<const EventField> fields,
                 std::string_view event_id, Prediction& out, Workspace& workspace,
                 PendingLogs& pending, std::string_view& logged_id);
  // Queues the events kept in pending (emptied) to be logged.
  void log(PendingLogs& pending);
  // Whether `more` events would take the queue past Options::max_queued (a learning
  // thread slower than the requests). Thread-safe; a hint: concurrent requests may
  // overshoot the bound by what they carry.
  bool behind(size_t more = 1) const {
    return queued_.load(std::memory_order_relaxed) + more > options_.max_queued;
  }
  // Events queued or being applied.
  size_t queued() const { return queued_.load(std::memory_order_relaxed); }
  // The newest published snapshot (its labels name the classes of a prediction).
  std::shared_ptr<const ModelSnapshot> snapshot() const {
    std::lock_guard lock(snapshot_mu_);
    return snapshot_;
  }

  // Queues a learn request; done is called on the learning thread once it is applied (or
  // refused, with the reason).
  void learn(LearnRequest request, Done done);
  // Calls done on the learning thread once everything queued before has been applied
  // and a snapshot of the result published.
  void publish_now(Done done);
  // Publishes as publish_now() does and keeps the snapshot as a new version; done gets
  // its number.
  void take_version(std::function<void(uint64_t)> done);
  // The versions kept, oldest first.
  std::vector<ModelVersion> versions() const;
  // Makes version the model's parameters from here on (learning goes on from it), once
  // what is queued before is applied. Predictions waiting for their label are dropped
  // (their features were read with names the version may not know) and counted as
  // expired. done gets "no version N" if there is none.
  void rollback(uint64_t version, Done done);

  // Applies what is queued, checkpoints (with a folder, if checkpoint is true) and stops
  // the learning thread. A request made after is refused ("the model is gone"). Blocks
  // until the learning thread has ended; idempotent.
  void stop(bool checkpoint = true);

  const std::string& name() const { return name_; }
  const std::string& expression() const { return expression_; }
  ModelStats stats() const;

 private:
  struct LoggedBatch;
  struct Op {
    enum Kind : uint8_t { kLog, kLearn, kPublish, kVersion, kRollback, kLogBatch } kind = kLog;
    uint64_t version = 0;  // kRollback
    uint64_t lsn = 0;      // of its log record (0: none; ~0: the log refused it)
    std::string log_error;
    std::function<void(uint64_t)> versioned;  // kVersion
    double time = 0;                          // seconds since the epoch, when queued
    std::string event_id;
    FieldBuffer fields;
    Prediction prediction;  // kLog
    LearnRequest learn;     // kLearn
    Done done;
    // kLogBatch: a batch request's predictions, in one compact block (one op, however
    // many events).
    std::unique_ptr<LoggedBatch> batch;
    // Back to a default op, keeping what its buffers hold (an op is used again); batch
    // is left as it is.
    void reset();
    // Events this op carries (queued_ counts events).
    size_t events() const;
  };
  class Learner;
  // Queues op (its record appended to the log first, with a folder), leaving in op a
  // reset one (one used before, with its buffers, if there is one). False if the log
  // refused it (it is then refused when applied) or the host has stopped.
  bool enqueue(Op& op);
  // Moves a used op in place of op if one is kept; else resets op. mu_ held.
  void take_spare(Op& op);
  void learning_loop();
  // Logs a batch's predictions on the learning thread; last_lsn gets the last record's.
  void apply_batch(LoggedBatch& batch, uint64_t& last_lsn);
  static std::string_view encode(const Op& op);
  static std::string_view encode_logged(const LoggedBatch& batch, size_t i);
  void append(Op& op, std::string_view record);
  uint64_t append(std::string_view record, std::string* error);
  // Writes the id this host makes for its n-th event at `at` (room for 64 bytes);
  // returns its end.
  char* make_id(char* at, uint64_t n) const;
  // Applies one op on the learning thread (also when replaying the log).
  Status step(Op& op);
  void publish();
  // Loads the folder's checkpoint and versions and replays its log (constructor).
  void recover();
  // Writes a checkpoint covering the log so far (with a folder).
  void checkpoint();
  // Copies the learning thread's counters to stats_.
  void refresh_stats();
  // Saves snapshot as version n (with a folder); returns the version.
  ModelVersion save_version(uint64_t n, std::shared_ptr<const ModelSnapshot> snapshot);

  const std::string name_;
  const std::string expression_;
  Options options_;
  const std::string id_prefix_;  // of the event ids this host makes
  // On its own cache line: serving threads take ids while the learning thread writes
  // the counters near it.
  alignas(64) std::atomic<uint64_t> next_id_{0};

  std::unique_ptr<Learner> learner_;  // the learning thread's own

  // The published snapshot, behind a mutex held for a pointer copy: libstdc++ 12's
  // std::atomic<std::shared_ptr> unlocks a load with a relaxed store, which orders
  // nothing before the next publish's write (TSan rightly reports it).
  mutable std::mutex snapshot_mu_;
  std::shared_ptr<const ModelSnapshot> snapshot_;
  // Publishes s; the snapshot it replaces is released after the lock (by s).
  void set_snapshot(std::shared_ptr<const ModelSnapshot> s) {
    std::lock_guard lock(snapshot_mu_);
    snapshot_.swap(s);
  }
  std::atomic<uint64_t> predicted_{0};
  std::atomic<size_t> queued_{0};  // ops queued or being applied

  mutable std::mutex stats_mu_;
  ModelStats stats_;                    // the learning thread's counters, copied after each batch
  std::vector<ModelVersion> versions_;  // guarded by stats_mu_

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Op> queue_;
  // Ops applied, reset, kept to be used again so that a steady stream of predictions
  // allocates nothing for them (at most kMaxSpare).
  std::vector<Op> spare_;
  static constexpr size_t kMaxSpare = 8192;
  // Batches applied, emptied, to be used again by PendingLogs with their buffers (at
  // most kMaxSpareBatches: one a serving thread, about).
  std::vector<std::unique_ptr<LoggedBatch>> spare_batches_;
  static constexpr size_t kMaxSpareBatches = 8;
  bool stop_ = false;
  bool stopped_ = false;  // no op is taken any more
  bool final_checkpoint_ = true;
  std::thread thread_;
};

// A batch request's predictions on their way to the learning thread, packed so that a
// thousand events are a few arrays written in order on one core and read in order on
// the other, not a thousand ops with buffers of their own.
struct ModelHost::LoggedBatch {
  double time = 0;                   // when the batch came (one reading of the clock for all)
  size_t size = 0;                   // events
  FieldBuffer fields;                // every event's fields, one after another
  std::vector<uint32_t> field_ends;  // where event i's fields end in fields.bytes()
  std::string ids;                   // every event's id, one after another
  std::vector<uint32_t> id_ends;
  std::vector<double> values;    // Prediction::value
  std::vector<uint32_t> labels;  // Prediction::label, or kNoLabel
  std::vector<double> proba;     // every event's Prediction::proba, one after another
  std::vector<uint32_t> proba_ends;
  std::vector<uint64_t> lsns;       // with a log: each event's record (kNotLogged: refused)
  std::vector<uint64_t> id_hashes;  // the learning thread's: PredictionLog::hash_of each id
  static constexpr uint32_t kNoLabel = ~uint32_t{0};

  void clear() {
    size = 0;
    fields.clear();
    field_ends.clear();
    ids.clear();
    id_ends.clear();
    values.clear();
    labels.clear();
    proba.clear();
    proba_ends.clear();
    lsns.clear();
  }
  std::string_view id(size_t i) const {
    const uint32_t from = i ? id_ends[i - 1] : 0;
    return std::string_view(ids).substr(from, id_ends[i] - from);
  }
  std::string_view field_bytes(size_t i) const {
    const uint32_t from = i ? field_ends[i - 1] : 0;
    return fields.bytes().substr(from, field_ends[i] - from);
  }
  std::span<const double> proba_of(size_t i) const {
    const uint32_t from = i ? proba_ends[i - 1] : 0;
    return std::span<const double>(proba).subspan(from, proba_ends[i] - from);
  }
};

class ModelHost::PendingLogs {
 public:
  PendingLogs();
  ~PendingLogs();
  bool empty() const { return !batch_ || batch_->size == 0; }
  // Forgets the events kept (a batch refused); their buffers are used again.
  void discard() {
    if (batch_) batch_->clear();
    ids_left_ = 0;
  }

 private:
  friend class ModelHost;
  std::unique_ptr<LoggedBatch> batch_;  // null until the first event
  // Event ids this batch took from its host and has not used: [next_id_, + ids_left_)
  // (taken a few at a time, so that a batch makes one atomic step per few events).
  uint64_t next_id_ = 0;
  size_t ids_left_ = 0;
};

}  // namespace rtml::serve
