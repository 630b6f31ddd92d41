#include "rtml/serve/model_host.h"

#include <chrono>
#include <cmath>
#include <optional>
#include <random>

#include "rtml/runtime/field_featurizer.h"
#include "rtml/runtime/runtime.h"
#include "rtml/runtime/settle_prediction.h"

namespace rtml::serve {
namespace {

using Clock = std::chrono::steady_clock;

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
// predictions and learns labels, and the progressive metric.
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

  Status apply(Op& op) {
    switch (op.kind) {
      case Op::kLog: {
        op.fields.views(fields);
        return runtime->log_fields(EventId::of_text(op.event_id), op.time, fields, op.prediction);
      }
      case Op::kLearn: {
        Value label{op.learn.label_kind, op.learn.label_number, op.learn.label_text};
        Target y;
        Status s;
        if (op.learn.event_id.empty()) {
          op.learn.fields.views(fields);
          s = runtime->learn_fields(fields, label, &scored_prediction, &y);
        } else {
          s = runtime->label(EventId::of_text(op.learn.event_id), label, op.time,
                             &scored_prediction, &y);
        }
        if (s) {
          ++learned;
          score(scored_prediction, y);
        }
        return s;
      }
      case Op::kPublish:
      case Op::kVersion:
      case Op::kRollback:
        return Status::ok();  // the host's
    }
    return Status::ok();
  }

  Pipeline pipeline;
  PredictionLog::Limits log_limits;
  std::optional<runtime::Runtime> runtime;
  uint64_t expired_before = 0;     // by runtimes replaced (rollback)
  std::vector<EventField> fields;  // reused per op
  Prediction scored_prediction;
  uint64_t learned = 0, refused = 0, published = 0;
  std::vector<double> window;
  double sum_all = 0, sum_window = 0;
  uint64_t scored = 0;
  bool changed = false;  // since the last snapshot
  Clock::time_point last_publish = Clock::now();
  Clock::duration publish_every{};  // grows with the cost of a copy
};

ModelHost::ModelHost(std::string name, std::string expression, Pipeline pipeline, Options options)
    : name_(std::move(name)),
      expression_(std::move(expression)),
      options_(options),
      id_prefix_(random_prefix()),
      learner_(std::make_unique<Learner>(std::move(pipeline), options)) {
  learner_->publish_every = std::chrono::milliseconds(options_.publish_ms);
  snapshot_.store(
      std::make_shared<const ModelSnapshot>(ModelSnapshot{learner_->pipeline.clone(), 0}));
  thread_ = std::thread([this] { learning_loop(); });
}

ModelHost::~ModelHost() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

Status ModelHost::predict(const ModelSnapshot& snap, std::span<const EventField> fields,
                          std::string& event_id, Prediction& out, Workspace& workspace,
                          PendingLogs* defer) {
  const Pipeline& p = snap.pipeline;
  // The features as the snapshot knows them (thread-local, reused).
  thread_local Features x;
  if (Status s = runtime::featurize_known_fields(p, fields, x); !s) return s;
  p.predict(x, out, workspace);
  if (runtime::names_classes(p)) runtime::settle_prediction(p, out);
  if (event_id.empty()) {
    event_id = id_prefix_;
    event_id += std::to_string(next_id_.fetch_add(1, std::memory_order_relaxed));
  }
  Op op;
  op.kind = Op::kLog;
  op.time = now_seconds();
  op.event_id = event_id;
  for (const EventField& f : fields) op.fields.add(f);
  op.prediction = out;
  if (defer) {
    defer->ops_.push_back(std::move(op));
    return Status::ok();
  }
  enqueue(std::move(op));
  predicted_.fetch_add(1, std::memory_order_relaxed);
  return Status::ok();
}

void ModelHost::log(PendingLogs& pending) {
  predicted_.fetch_add(pending.ops_.size(), std::memory_order_relaxed);
  enqueue(pending.ops_);
  pending.ops_.clear();
}

void ModelHost::enqueue(std::vector<Op>& ops) {
  if (ops.empty()) return;
  bool wake;
  {
    std::lock_guard lock(mu_);
    wake = queue_.empty();
    for (Op& op : ops) queue_.push_back(std::move(op));
  }
  if (wake) cv_.notify_one();
}

void ModelHost::learn(LearnRequest request, Done done) {
  Op op;
  op.kind = Op::kLearn;
  op.time = now_seconds();
  op.learn = std::move(request);
  op.done = std::move(done);
  enqueue(std::move(op));
}

void ModelHost::publish_now(Done done) {
  Op op;
  op.kind = Op::kPublish;
  op.done = std::move(done);
  enqueue(std::move(op));
}

void ModelHost::take_version(std::function<void(uint64_t)> done) {
  Op op;
  op.kind = Op::kVersion;
  op.versioned = std::move(done);
  enqueue(std::move(op));
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
  enqueue(std::move(op));
}

void ModelHost::enqueue(Op op) {
  bool wake;
  {
    std::lock_guard lock(mu_);
    wake = queue_.empty();
    queue_.push_back(std::move(op));
  }
  if (wake) cv_.notify_one();
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
      if (queue_.empty() && stop_) break;
      batch.swap(queue_);
    }
    bool publish_asked = false;
    results.clear();
    for (Op& op : batch) {
      results.push_back(l.apply(op));
      if (op.kind == Op::kPublish) publish_asked = true;
      if (op.kind == Op::kVersion) {
        publish();
        std::lock_guard lock(stats_mu_);
        const uint64_t n = versions_.empty() ? 1 : versions_.back().version + 1;
        versions_.push_back(ModelVersion{n, now_seconds(), snapshot_.load()});
        op.version = n;
      }
      if (op.kind == Op::kRollback) {
        std::shared_ptr<const ModelSnapshot> to;
        {
          std::lock_guard lock(stats_mu_);
          for (const auto& v : versions_) {
            if (v.version == op.version) to = v.snapshot;
          }
        }
        if (!to) {
          results.back() = Status::error("no version " + std::to_string(op.version));
        } else {
          l.pipeline = to->pipeline.clone();
          l.learned = to->learned;
          l.reset_runtime();
          publish();
        }
      }
      // Only learning changes what a snapshot predicts: a logged event's new names have
      // no weight until a label teaches them.
      if (op.kind == Op::kLearn && results.back()) l.changed = true;
      if (op.kind != Op::kPublish && !results.back()) ++l.refused;
    }
    if (l.changed && (publish_asked || Clock::now() - l.last_publish >= l.publish_every)) {
      publish();
    }
    {
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
    for (size_t i = 0; i < batch.size(); ++i) {
      if (batch[i].done) batch[i].done(results[i]);
      if (batch[i].versioned) batch[i].versioned(batch[i].version);
    }
    batch.clear();
  }
}

void ModelHost::publish() {
  Learner& l = *learner_;
  const auto start = Clock::now();
  auto snap = std::make_shared<const ModelSnapshot>(ModelSnapshot{l.pipeline.clone(), l.learned});
  snapshot_.store(std::move(snap));
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
