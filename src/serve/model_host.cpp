#include "rtml/serve/model_host.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>

#include "model_record.h"
#include "rtml/core/error.h"
#include "rtml/core/file_io.h"
#include "rtml/runtime/checkpoint.h"
#include "rtml/runtime/field_featurizer.h"
#include "rtml/runtime/runtime.h"
#include "rtml/runtime/settle_prediction.h"

namespace rtml::serve {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The lsn of an op whose record the log refused (it is refused when applied).
constexpr uint64_t kNotLogged = ~uint64_t{0};
// How many events of a batch ahead the learning thread fetches their places in the log.
constexpr size_t kFetchAhead = 8;

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// A prefix that makes this process's event ids differ from another's (a restarted
// server's): 64 random bits.
std::string random_prefix() {
  std::random_device rd;
  uint64_t r = (uint64_t{rd()} << 32) ^ rd();
  char buf[24];
  snprintf(buf, sizeof buf, "%016llx-", static_cast<unsigned long long>(r));
  return buf;
}

}  // namespace

// What only the learning thread touches: the pipeline it teaches, the runtime that logs
// predictions and learns labels, the progressive metric, and the log and checkpoints.
class ModelHost::Learner {
 public:
  Learner(Pipeline p, const Options& options) : pipeline(std::move(p)), log_limits(options.log) {
    reset_runtime();
    window.assign(ModelStats::kWindow, 0.0);
  }

  // A runtime over the pipeline with an empty prediction log; the waiting entries of the
  // one before count as expired.
  void reset_runtime() {
    if (runtime) expired_before += runtime->log().waiting() + runtime->log().expired();
    runtime.emplace(pipeline, runtime::Runtime::Options{{"label", {}}, log_limits});
    runtime->set_binary(pipeline.task() == Task::kBinary);
  }
  uint64_t expired() const { return expired_before + runtime->log().expired(); }

  // Scores the prediction an event had against its label (progressive validation).
  void score(const Prediction& p, const Target& y) {
    double v;
    if (pipeline.task() == Task::kRegression) {
      v = std::fabs(p.value - y.value);
      if (!std::isfinite(v)) return;
    } else {
      v = p.has_label && p.label == y.label ? 1.0 : 0.0;
    }
    sum_all += v;
    sum_window += v - window[scored % window.size()];
    window[scored % window.size()] = v;
    ++scored;
  }

  Pipeline pipeline;
  PredictionLog::Limits log_limits;
  std::optional<runtime::Runtime> runtime;
  uint64_t expired_before = 0;     // by runtimes replaced (rollback)
  std::vector<EventField> fields;  // reused per op
  Prediction scored_prediction;
  Prediction batch_prediction;  // a batch's events' predictions, one after another
  uint64_t predicted = 0, learned = 0, refused = 0, published = 0;
  std::vector<double> window;
  double sum_all = 0, sum_window = 0;
  uint64_t scored = 0;
  bool changed = false;  // since the last snapshot
  Clock::time_point last_publish = Clock::now();
  Clock::duration publish_every{};  // grows with the cost of a copy

  // With a folder.
  std::optional<runtime::Checkpointer> checkpoints;
  std::unique_ptr<store::WalWriter> wal;
  detail::RecordWriter records;
  uint64_t since_checkpoint = 0;  // records
  uint64_t applied_lsn = 0;       // of the last record applied
  Clock::time_point last_checkpoint = Clock::now();
};

ModelHost::ModelHost(std::string name, std::string expression, Pipeline pipeline, Options options)
    : name_(std::move(name)),
      expression_(std::move(expression)),
      options_(std::move(options)),
      id_prefix_(random_prefix()),
      learner_(std::make_unique<Learner>(std::move(pipeline), options_)) {
  learner_->publish_every = std::chrono::milliseconds(options_.publish_ms);
  if (!options_.dir.empty()) recover();
  set_snapshot(std::make_shared<const ModelSnapshot>(
      ModelSnapshot{learner_->pipeline.clone(), learner_->learned}));
  predicted_.store(learner_->predicted);
  refresh_stats();
  thread_ = std::thread([this] { learning_loop(); });
}

ModelHost::~ModelHost() { stop(); }

void ModelHost::stop(bool checkpoint) {
  {
    std::lock_guard lock(mu_);
    if (stop_) {
      // Already stopping: wait for it below only on the first caller's thread.
      return;
    }
    stop_ = true;
    final_checkpoint_ = checkpoint;
  }
  cv_.notify_one();
  thread_.join();
}

void ModelHost::recover() {
  Learner& l = *learner_;
  const std::string& dir = options_.dir;
  fs::create_directories(dir + "/versions");
  // Versions: vN.rtml with vN.json beside it (written after the model file).
  for (const auto& entry : fs::directory_iterator(dir + "/versions")) {
    const std::string file = entry.path().filename().string();
    if (entry.path().extension() != ".json" || file.size() < 7 || file[0] != 'v') continue;
    try {
      auto j = nlohmann::json::parse(read_file(entry.path().string()));
      ModelVersion v;
      v.version = j.at("version").get<uint64_t>();
      v.created = j.at("created").get<double>();
      v.learned = j.at("learned").get<uint64_t>();
      v.path = dir + "/versions/v" + std::to_string(v.version) + ".rtml";
      if (fs::exists(v.path)) versions_.push_back(std::move(v));
    } catch (const std::exception& e) {
      throw Error(entry.path().string() + ": not a version description: " + e.what());
    }
  }
  std::sort(versions_.begin(), versions_.end(),
            [](const ModelVersion& a, const ModelVersion& b) { return a.version < b.version; });

  l.checkpoints.emplace(dir + "/checkpoints");
  uint64_t covered = 0;
  if (auto c = l.checkpoints->last()) {
    l.pipeline = Pipeline::load(c->model);
    l.reset_runtime();
    l.expired_before = 0;
    runtime::load_pending(*c, l.runtime->log());
    covered = c->position.events_read;
    l.predicted = c->position.events;
    l.learned = c->position.learned;
    l.refused = c->position.dead_letters;
  }
  auto opened = store::open_wal(
      dir + "/wal", covered + 1, covered, options_.fsync, [&](const store::WalRecord& rec) {
        const detail::ModelRecord r = detail::decode_record(rec.payload);
        Op op;
        op.time = r.time;
        switch (r.kind) {
          case detail::RecordKind::kLog:
            op.kind = Op::kLog;
            op.event_id = std::string(r.event_id);
            if (!op.fields.from_bytes(r.fields)) {
              throw Error("a logged prediction's fields are damaged");
            }
            op.prediction.value = r.value;
            op.prediction.label = r.label;
            op.prediction.has_label = r.has_label;
            op.prediction.proba.resize(r.proba.size() / sizeof(double));
            std::memcpy(op.prediction.proba.data(), r.proba.data(), r.proba.size());
            break;
          case detail::RecordKind::kLearn:
            op.kind = Op::kLearn;
            op.learn.event_id = std::string(r.event_id);
            if (!op.learn.fields.from_bytes(r.fields)) {
              throw Error("a label's fields are damaged");
            }
            op.learn.label_kind = r.label_kind;
            op.learn.label_number = r.label_number;
            op.learn.label_text = std::string(r.label_text);
            break;
          case detail::RecordKind::kRollback:
            op.kind = Op::kRollback;
            op.version = r.version;
            break;
        }
        (void)step(op);
        l.applied_lsn = rec.lsn;
      });
  l.wal = std::move(opened.writer);
  for (const auto& w : opened.warnings) {
    std::fprintf(stderr, "rtml serve: model '%s': %s\n", name_.c_str(), w.c_str());
  }
  l.since_checkpoint = opened.replayed;
  l.applied_lsn = std::max(l.applied_lsn, covered);
}

// Event ids a batch takes from its host at a time: ids left when a batch ends are not
// used (the ids are unique, not dense).
constexpr size_t kIdsTaken = 64;

namespace {
// The features of fields as snap knows them, predicted into out (a class settled).
Status predict_fields(const Pipeline& p, std::span<const EventField> fields, Prediction& out,
                      Workspace& workspace) {
  thread_local Features x;  // reused
  if (Status s = runtime::featurize_known_fields(p, fields, x); !s) return s;
  p.predict(x, out, workspace);
  if (runtime::names_classes(p)) runtime::settle_prediction(p, out);
  return Status::ok();
}
}  // namespace

char* ModelHost::make_id(char* at, uint64_t n) const {
  const size_t prefix = std::min<size_t>(id_prefix_.size(), 40);
  std::memcpy(at, id_prefix_.data(), prefix);
  return std::to_chars(at + prefix, at + 64, n).ptr;
}

Status ModelHost::predict(const ModelSnapshot& snap, std::span<const EventField> fields,
                          std::string& event_id, Prediction& out, Workspace& workspace) {
  if (Status s = predict_fields(snap.pipeline, fields, out, workspace); !s) return s;
  if (event_id.empty()) {
    // Written whole, then assigned once (the id is longer than a string keeps inline).
    char id[64];
    event_id.assign(id, make_id(id, next_id_.fetch_add(1, std::memory_order_relaxed)));
  }
  // An op of the calling thread's, used again: no allocation once its buffers have grown.
  thread_local Op op;
  op.kind = Op::kLog;
  op.lsn = 0;
  op.time = now_seconds();
  op.event_id = event_id;
  op.fields.clear();
  for (const EventField& f : fields) op.fields.add(f);  // each reserves its room
  op.prediction = out;
  if (!enqueue(op)) {
    return Status::error("the prediction could not be logged (see the server's log)");
  }
  predicted_.fetch_add(1, std::memory_order_relaxed);
  return Status::ok();
}

ModelHost::PendingLogs::PendingLogs() = default;
ModelHost::PendingLogs::~PendingLogs() = default;

Status ModelHost::predict(const ModelSnapshot& snap, std::span<const EventField> fields,
                          std::string_view event_id, Prediction& out, Workspace& workspace,
                          PendingLogs& pending, std::string_view& logged_id) {
  if (Status s = predict_fields(snap.pipeline, fields, out, workspace); !s) return s;
  if (!pending.batch_) pending.batch_ = std::make_unique<LoggedBatch>();
  LoggedBatch& b = *pending.batch_;
  // A batch's events arrived together: one reading of the clock serves them all.
  if (b.size == 0) b.time = now_seconds();
  const size_t id_from = b.ids.size();
  if (event_id.empty()) {
    if (pending.ids_left_ == 0) {
      pending.next_id_ = next_id_.fetch_add(kIdsTaken, std::memory_order_relaxed);
      pending.ids_left_ = kIdsTaken;
    }
    char id[64];
    // (Pointer and length: append(first, last) goes through a general replace.)
    b.ids.append(id, static_cast<size_t>(make_id(id, pending.next_id_++) - id));
    --pending.ids_left_;
  } else {
    b.ids.append(event_id);
  }
  b.id_ends.push_back(static_cast<uint32_t>(b.ids.size()));
  logged_id = std::string_view(b.ids).substr(id_from);
  for (const EventField& f : fields) b.fields.add(f);  // each reserves its room
  b.field_ends.push_back(static_cast<uint32_t>(b.fields.bytes().size()));
  b.values.push_back(out.value);
  b.labels.push_back(out.has_label ? out.label : LoggedBatch::kNoLabel);
  b.proba.insert(b.proba.end(), out.proba.begin(), out.proba.end());
  b.proba_ends.push_back(static_cast<uint32_t>(b.proba.size()));
  ++b.size;
  return Status::ok();
}

void ModelHost::log(PendingLogs& pending) {
  if (pending.empty()) return;
  LoggedBatch& b = *pending.batch_;
  const size_t n = b.size;
  predicted_.fetch_add(n, std::memory_order_relaxed);
  // The batch goes over whole, as one op; the pending logs get a batch the learning
  // thread has applied, with its buffers (or none, to grow).
  thread_local Op op;
  op.kind = Op::kLogBatch;
  op.time = b.time;
  bool wake;
  {
    std::lock_guard lock(mu_);
    if (stopped_) {  // logged predictions only: nothing waits for them
      pending.discard();
      return;
    }
    if (learner_->wal) {
      b.lsns.resize(n);
      for (size_t i = 0; i < n; ++i) b.lsns[i] = append(encode_logged(b, i), nullptr);
    }
    op.batch = std::move(pending.batch_);
    wake = queue_.empty();
    queue_.push_back(std::move(op));
    queued_.fetch_add(n, std::memory_order_relaxed);
    take_spare(op);
    if (!spare_batches_.empty()) {
      pending.batch_ = std::move(spare_batches_.back());
      spare_batches_.pop_back();
    }
  }
  pending.ids_left_ = 0;
  if (wake) cv_.notify_one();
}

void ModelHost::learn(LearnRequest request, Done done) {
  thread_local Op op;  // used again, as predict()'s
  op.kind = Op::kLearn;
  op.time = now_seconds();
  op.learn = std::move(request);
  op.done = std::move(done);
  enqueue(op);
}

void ModelHost::publish_now(Done done) {
  Op op;
  op.kind = Op::kPublish;
  op.done = std::move(done);
  enqueue(op);
}

void ModelHost::take_version(std::function<void(uint64_t)> done) {
  Op op;
  op.kind = Op::kVersion;
  op.versioned = std::move(done);
  enqueue(op);
}

std::vector<ModelVersion> ModelHost::versions() const {
  std::lock_guard lock(stats_mu_);
  return versions_;
}

void ModelHost::rollback(uint64_t version, Done done) {
  Op op;
  op.kind = Op::kRollback;
  op.version = version;
  op.done = std::move(done);
  enqueue(op);
}

namespace {
const Status kGone = Status::error("the model is gone (deleted, or the server is stopping)");
}  // namespace

// The log record of an op that changes the model, encoded into a buffer of the calling
// thread's; empty for one that changes nothing (a publish, a version).
std::string_view ModelHost::encode(const Op& op) {
  thread_local detail::RecordWriter writer;
  detail::ModelRecord r;
  r.time = op.time;
  switch (op.kind) {
    case Op::kLog:
      r.kind = detail::RecordKind::kLog;
      r.event_id = op.event_id;
      r.fields = op.fields.bytes();
      r.value = op.prediction.value;
      r.label = op.prediction.label;
      r.has_label = op.prediction.has_label;
      r.proba = std::string_view(reinterpret_cast<const char*>(op.prediction.proba.data()),
                                 op.prediction.proba.size() * sizeof(double));
      break;
    case Op::kLearn:
      r.kind = detail::RecordKind::kLearn;
      r.event_id = op.learn.event_id;
      r.fields = op.learn.fields.bytes();
      r.label_kind = op.learn.label_kind;
      r.label_number = op.learn.label_number;
      r.label_text = op.learn.label_text;
      break;
    case Op::kRollback:
      r.kind = detail::RecordKind::kRollback;
      r.version = op.version;
      break;
    case Op::kPublish:
    case Op::kVersion:
    case Op::kLogBatch:  // its ops are logged one by one
      return {};
  }
  return writer.encode(r);
}

// The log record of a batch's i-th event (a logged prediction), as encode() writes a
// kLog op's.
std::string_view ModelHost::encode_logged(const LoggedBatch& b, size_t i) {
  thread_local detail::RecordWriter writer;
  detail::ModelRecord r;
  r.time = b.time;
  r.kind = detail::RecordKind::kLog;
  r.event_id = b.id(i);
  r.fields = b.field_bytes(i);
  r.value = b.values[i];
  r.has_label = b.labels[i] != LoggedBatch::kNoLabel;
  r.label = r.has_label ? b.labels[i] : 0;
  const std::span<const double> proba = b.proba_of(i);
  r.proba = std::string_view(reinterpret_cast<const char*>(proba.data()), proba.size_bytes());
  return writer.encode(r);
}

// With mu_ held: appends a record to the log, so that the log's order is the queue's
// (the order ops are applied in). A record the OS has is not lost to a kill -9, so a
// prediction is answered, and a label queued, only once its record is appended.
// Returns its lsn, or kNotLogged (with the reason in *error) if the log refused it.
uint64_t ModelHost::append(std::string_view record, std::string* error) {
  try {
    return learner_->wal->append(record);
  } catch (const Error& e) {
    if (error) *error = std::string("not logged: ") + e.what();
    return kNotLogged;
  }
}

void ModelHost::append(Op& op, std::string_view record) {
  if (!learner_->wal || record.empty()) return;
  op.lsn = append(record, &op.log_error);
}

size_t ModelHost::Op::events() const { return kind == kLogBatch && batch ? batch->size : 1; }

void ModelHost::Op::reset() {
  kind = kLog;
  version = 0;
  lsn = 0;
  log_error.clear();
  versioned = nullptr;
  time = 0;
  event_id.clear();
  fields.clear();
  prediction.value = 0;
  prediction.proba.clear();
  prediction.label = 0;
  prediction.has_label = false;
  learn.event_id.clear();
  learn.fields.clear();
  learn.label_kind = ValueKind::kMissing;
  learn.label_number = 0;
  learn.label_text.clear();
  done = nullptr;
}

void ModelHost::take_spare(Op& op) {
  if (spare_.empty()) {
    op.reset();  // what a move left
    return;
  }
  op = std::move(spare_.back());
  spare_.pop_back();
}

bool ModelHost::enqueue(Op& op) {
  const std::string_view record = learner_->wal ? encode(op) : std::string_view();
  bool wake, logged;
  {
    std::unique_lock lock(mu_);
    if (stopped_) {
      lock.unlock();
      if (op.done) op.done(kGone);
      if (op.versioned) op.versioned(0);
      op.reset();
      return false;
    }
    append(op, record);
    logged = op.lsn != kNotLogged;
    wake = queue_.empty();
    queue_.push_back(std::move(op));
    queued_.fetch_add(1, std::memory_order_relaxed);
    take_spare(op);
  }
  if (wake) cv_.notify_one();
  return logged;
}

ModelVersion ModelHost::save_version(uint64_t n, std::shared_ptr<const ModelSnapshot> snapshot) {
  ModelVersion v{n, now_seconds(), snapshot->learned, std::move(snapshot), ""};
  if (!options_.dir.empty()) {
    // The model file first: a description names only a file that is whole.
    v.path = options_.dir + "/versions/v" + std::to_string(n) + ".rtml";
    v.snapshot->pipeline.save(v.path);
    nlohmann::json j{{"version", v.version}, {"created", v.created}, {"learned", v.learned}};
    write_file_atomically(options_.dir + "/versions/v" + std::to_string(n) + ".json",
                          j.dump() + "\n");
    v.snapshot.reset();  // loaded again from the file if rolled back to
  }
  return v;
}

Status ModelHost::step(Op& op) {
  Learner& l = *learner_;
  switch (op.kind) {
    case Op::kLog: {
      ++l.predicted;
      op.fields.views(l.fields);
      return l.runtime->log_fields(EventId::of_text(op.event_id), op.time, l.fields, op.prediction);
    }
    case Op::kLearn: {
      Value label{op.learn.label_kind, op.learn.label_number, op.learn.label_text};
      Target y;
      Status s;
      if (op.learn.event_id.empty()) {
        op.learn.fields.views(l.fields);
        s = l.runtime->learn_fields(l.fields, label, &l.scored_prediction, &y);
      } else {
        s = l.runtime->label(EventId::of_text(op.learn.event_id), label, op.time,
                             &l.scored_prediction, &y);
      }
      if (s) {
        ++l.learned;
        l.changed = true;
        l.score(l.scored_prediction, y);
      }
      return s;
    }
    case Op::kRollback: {
      ModelVersion to;
      {
        std::lock_guard lock(stats_mu_);
        for (const auto& v : versions_) {
          if (v.version == op.version) to = v;
        }
      }
      if (to.version == 0) return Status::error("no version " + std::to_string(op.version));
      Pipeline p = to.snapshot ? to.snapshot->pipeline.clone() : Pipeline::load(to.path);
      l.pipeline = std::move(p);
      l.learned = to.learned;
      l.reset_runtime();
      l.changed = true;
      return Status::ok();
    }
    case Op::kPublish:
    case Op::kVersion:
    case Op::kLogBatch:  // applied op by op by learning_loop
      return Status::ok();
  }
  return Status::ok();
}

void ModelHost::apply_batch(LoggedBatch& b, uint64_t& last_lsn) {
  Learner& l = *learner_;
  const PredictionLog& log = l.runtime->log();
  const size_t n = b.size;
  // Where an id some events ahead goes in the log's table, fetched while these are
  // applied: else each event waits on a cache miss there. Its hash is kept for the log.
  b.id_hashes.resize(n);
  auto fetch = [&](size_t k) {
    b.id_hashes[k] = PredictionLog::hash_of(EventId::of_text(b.id(k)));
    log.prefetch_hash(b.id_hashes[k]);
  };
  for (size_t k = 0; k < std::min(kFetchAhead, n); ++k) fetch(k);
  Prediction& p = l.batch_prediction;
  for (size_t k = 0; k < n; ++k) {
    if (k + kFetchAhead < n) fetch(k + kFetchAhead);
    const uint64_t lsn = b.lsns.empty() ? 0 : b.lsns[k];
    if (lsn == kNotLogged) continue;  // as a single op's: refused, not counted
    ++l.predicted;
    l.fields.clear();
    b.fields.views(l.fields, k ? b.field_ends[k - 1] : 0, b.field_ends[k]);
    p.value = b.values[k];
    p.has_label = b.labels[k] != LoggedBatch::kNoLabel;
    p.label = p.has_label ? b.labels[k] : 0;
    const std::span<const double> proba = b.proba_of(k);
    p.proba.assign(proba.begin(), proba.end());
    p.has_interval = false;
    if (!l.runtime->log_fields(EventId::of_text(b.id(k)), b.id_hashes[k], b.time, l.fields, p)) {
      ++l.refused;
    }
    if (lsn) {
      last_lsn = lsn;
      ++l.since_checkpoint;
      l.applied_lsn = lsn;
    }
  }
}

void ModelHost::learning_loop() {
  Learner& l = *learner_;
  std::vector<Op> batch;
  std::vector<Status> results;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (queue_.empty() && !stop_) {
        if (l.changed) {
          cv_.wait_until(lock, l.last_publish + l.publish_every);
        } else {
          cv_.wait(lock, [&] { return !queue_.empty() || stop_; });
        }
      }
      if (queue_.empty() && stop_) {
        stopped_ = true;
        break;
      }
      batch.swap(queue_);
    }
    bool publish_asked = false, acknowledges = false;
    uint64_t last_lsn = 0;
    results.clear();
    size_t events = 0;
    for (Op& op : batch) {
      events += op.events();
      if (op.kind == Op::kLogBatch) {
        apply_batch(*op.batch, last_lsn);
        results.push_back(Status::ok());
        continue;
      }
      if (op.lsn == kNotLogged) {
        results.push_back(Status::error(op.log_error));
        continue;
      }
      if (op.lsn) last_lsn = op.lsn;
      results.push_back(step(op));
      if (op.done) acknowledges = true;
      if (op.kind == Op::kPublish) publish_asked = true;
      if (op.kind == Op::kRollback && results.back()) publish_asked = true;
      if (op.kind == Op::kVersion) {
        publish();
        try {
          ModelVersion v;
          {
            std::lock_guard lock(stats_mu_);
            v.version = versions_.empty() ? 1 : versions_.back().version + 1;
          }
          v = save_version(v.version, snapshot());
          std::lock_guard lock(stats_mu_);
          versions_.push_back(std::move(v));
          op.version = versions_.back().version;
          while (versions_.size() > std::max<size_t>(1, options_.max_versions)) {
            const ModelVersion& oldest = versions_.front();
            if (!oldest.path.empty()) {
              std::error_code ec;
              fs::remove(options_.dir + "/versions/v" + std::to_string(oldest.version) + ".json",
                         ec);
              fs::remove(oldest.path, ec);
            }
            versions_.erase(versions_.begin());
          }
        } catch (const Error& e) {
          std::fprintf(stderr, "rtml serve: model '%s': %s\n", name_.c_str(), e.what());
          op.version = 0;
        }
      }
      if ((op.kind == Op::kLog || op.kind == Op::kLearn) && !results.back()) ++l.refused;
      if (op.lsn) {
        ++l.since_checkpoint;
        l.applied_lsn = op.lsn;
      }
    }
    // Acknowledged only once durable: under fsync=always, on the disk.
    if (l.wal && acknowledges && last_lsn && options_.fsync.policy == store::FsyncPolicy::kAlways) {
      try {
        l.wal->wait_durable(last_lsn);
      } catch (const Error& e) {
        for (auto& r : results) r = Status::error(std::string("not durable: ") + e.what());
      }
    }
    if (l.changed && (publish_asked || Clock::now() - l.last_publish >= l.publish_every)) {
      publish();
    }
    if (l.checkpoints &&
        (l.since_checkpoint >= options_.checkpoint_every_records ||
         (l.since_checkpoint > 0 && Clock::now() - l.last_checkpoint >=
                                        std::chrono::milliseconds(options_.checkpoint_every_ms)))) {
      checkpoint();
    }
    refresh_stats();
    for (size_t i = 0; i < batch.size(); ++i) {
      if (batch[i].done) batch[i].done(results[i]);
      if (batch[i].versioned) batch[i].versioned(batch[i].version);
    }
    // The ops go back, with their buffers, to be used again.
    for (Op& op : batch) op.reset();
    {
      std::lock_guard lock(mu_);
      for (Op& op : batch) {
        if (op.batch && spare_batches_.size() < kMaxSpareBatches) {
          op.batch->clear();
          spare_batches_.push_back(std::move(op.batch));
        }
        op.batch.reset();  // a spare single op holds no batch
      }
      for (size_t i = 0; i < batch.size() && spare_.size() < kMaxSpare; ++i) {
        spare_.push_back(std::move(batch[i]));
      }
    }
    queued_.fetch_sub(events, std::memory_order_relaxed);
    batch.clear();
  }
  if (l.checkpoints && l.since_checkpoint > 0 && final_checkpoint_) checkpoint();
}

void ModelHost::refresh_stats() {
  const Learner& l = *learner_;
  std::lock_guard lock(stats_mu_);
  stats_.learned = l.learned;
  stats_.refused = l.refused;
  stats_.pending = l.runtime->log().waiting();
  stats_.expired = l.expired();
  stats_.published = l.published;
  stats_.regression = l.pipeline.task() == Task::kRegression;
  stats_.scored = l.scored;
  stats_.metric_all = l.scored ? l.sum_all / static_cast<double>(l.scored) : 0.0;
  const uint64_t in_window = std::min<uint64_t>(l.scored, ModelStats::kWindow);
  stats_.metric_window = in_window ? l.sum_window / static_cast<double>(in_window) : 0.0;
}

void ModelHost::checkpoint() {
  Learner& l = *learner_;
  try {
    // Records appended after the last one applied (queued meanwhile) stay in the log:
    // the checkpoint covers what was applied, and only segments wholly before it go.
    l.wal->rotate();
    const uint64_t covered = l.applied_lsn;
    runtime::CheckpointPosition at;
    at.events_read = covered;
    at.events = l.predicted;
    at.learned = l.learned;
    at.dead_letters = l.refused;
    l.checkpoints->write("", at, l.pipeline, l.runtime->log(), nullptr);
    store::delete_wal_through(options_.dir + "/wal", covered);
    l.since_checkpoint = 0;
  } catch (const Error& e) {
    // The log still holds everything: a later checkpoint (or a restart) makes up for it.
    std::fprintf(stderr, "rtml serve: model '%s': checkpoint failed: %s\n", name_.c_str(),
                 e.what());
  }
  l.last_checkpoint = Clock::now();
}

void ModelHost::publish() {
  Learner& l = *learner_;
  const auto start = Clock::now();
  auto snap = std::make_shared<const ModelSnapshot>(ModelSnapshot{l.pipeline.clone(), l.learned});
  set_snapshot(std::move(snap));
  const auto end = Clock::now();
  // At most a tenth of the learning thread's time goes to copies.
  l.publish_every =
      std::max<Clock::duration>(std::chrono::milliseconds(options_.publish_ms), (end - start) * 10);
  l.last_publish = end;
  l.changed = false;
  ++l.published;
}

ModelStats ModelHost::stats() const {
  ModelStats s;
  {
    std::lock_guard lock(stats_mu_);
    s = stats_;
  }
  s.predicted = predicted_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace rtml::serve
