#include "eval_runner.h"

#include <fmt/core.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "bad_line_reporter.h"
#include "progress_line.h"
#include "row_batches.h"
#include "rtml/core/error.h"
#include "rtml/core/excerpt.h"
#include "rtml/core/params.h"
#include "rtml/learn/cluster/clusterer.h"
#include "rtml/learn/drift/drift_detector.h"
#include "rtml/learn/metrics/cluster_metrics.h"
#include "rtml/learn/metrics/horizon_metrics.h"
#include "rtml/learn/progressive.h"
#include "rtml/learn/registry.h"
#include "rtml/runtime/runtime.h"
#include "rtml/stream/byte_source.h"
#include "rtml/stream/row_source.h"
#include "stop_signals.h"

namespace rtml::cli {
namespace {

using Clock = std::chrono::steady_clock;

DecodeOptions decode_options(const EvalConfig& config, Pipeline& pipeline,
                             BadLineReporter* reporter) {
  DecodeOptions o;
  o.strict = config.strict;
  for (const auto& [name, type] : pipeline.input_types()) o.types[name] = type;
  for (const auto& c : config.categorical) o.types[c] = ColumnType::kCategorical;
  for (const auto& c : config.numeric) o.types[c] = ColumnType::kNumeric;
  if (!config.target.empty()) {
    o.types[config.target] =
        pipeline.task() == Task::kRegression ? ColumnType::kNumeric : ColumnType::kCategorical;
  }
  if (reporter) {
    o.on_bad_line = [reporter](const BadLine& b) { reporter->report(b.line, b.reason); };
  }
  if (config.stop) o.stop_fd = config.stop->fd();
  return o;
}

// Learns event `event`, whose target is delayed[event % delay], from its logged features.
void learn_delayed(runtime::Runtime& rt, const std::vector<Target>& delayed, uint64_t event,
                   size_t delay) {
  Status st = rt.label(EventId::of_number(event), delayed[static_cast<size_t>(event % delay)], 0.0);
  if (!st) throw Error("event " + std::to_string(event) + ": " + st.why());  // a bug, not input
}

}  // namespace

EvalResult run_eval(const EvalConfig& config, Pipeline& pipeline) {
  // Without a target (an anomaly detector) every event is scored and learned from; there
  // is nothing to score the scores against, so no metrics.
  const bool unlabeled = config.target.empty();
  BadLineReporter reporter(config.data, config.max_bad_line_reports);
  EvalResult result;
  // What can fail without reading the input fails first.
  std::unique_ptr<FILE, int (*)(FILE*)> output(nullptr, &std::fclose);
  if (!config.output.empty()) {
    output.reset(std::fopen(config.output.c_str(), "w"));
    if (!output) throw Error(config.output + ": cannot create: " + std::strerror(errno));
  }
  std::unique_ptr<DriftDetector> drift;
  if (!config.drift.empty()) {
    auto steps = parse_expression(config.drift);
    if (steps.size() != 1) throw Error("--drift takes one detector, e.g. adwin(delta=0.002)");
    ParamSet params(steps[0].name, steps[0].params);
    drift = DriftDetector::make(steps[0].name, params);
  }
  const bool regression = pipeline.task() == Task::kRegression;
  // --horizon: each value is scored against the forecasts made before it, 1 to H steps
  // ahead; the forecast is made before the runtime learns the value and kept only if the
  // row is used.
  std::optional<HorizonMetrics> horizon;
  std::vector<double> forecast;
  if (config.horizon > 0) {
    if (config.delay > 0)
      throw Error("--horizon scores forecasts as values come: not with --delay");
    if (!pipeline.model().forecast(config.horizon, forecast)) {
      throw Error("--horizon: the model '" + std::string(pipeline.model().kind()) +
                  "' does not forecast (holt_winters and snarimax do)");
    }
    horizon.emplace(config.horizon);
  }

  auto start = Clock::now();
  std::unique_ptr<RowSource> source;
  try {
    source = open_source(config.data, decode_options(config, pipeline, &reporter));
  } catch (const ReadStopped&) {
    // Stopped before a header came: nothing was read, nothing is evaluated.
    result.signal = config.stop->received();
    return result;
  }
  // A row, or false at the end of the input or once a stop is requested (SIGINT or
  // SIGTERM). A file, pipe or FIFO stops at its next read (ReadStopped): the rows already
  // read, held ahead or in the decoder's buffer (at most about 1 MiB of input), are still
  // evaluated, so nothing a writer got through is lost. A generator never reads, so it is
  // asked between rows. Everything it reads is captured by value: run on the decoding
  // thread, a reference into this frame would share cache lines with the learning
  // thread's per-event locals, and each row would pull them across cores (measured:
  // a third of the decoding thread's time, and the learning thread slowed as much).
  const bool generated = config.data.rfind("synth:", 0) == 0;
  auto next_row = [src = source.get(), generated, stop = config.stop](Row& row) {
    if (generated && stop && stop->received()) return false;
    try {
      return src->next(row);
    } catch (const ReadStopped&) {
      return false;
    }
  };
  // A JSON Lines source learns its columns as it reads; the others know them now.
  const auto& columns = source->columns();
  if (!unlabeled && !columns.empty() &&
      std::none_of(columns.begin(), columns.end(),
                   [&](const Column& c) { return c.name == config.target; })) {
    std::string names;
    for (const auto& c : columns) names += (names.empty() ? "" : ", ") + c.name;
    throw Error(config.data + ": no column named '" + config.target +
                "' (columns: " + excerpt(names) + ")");
  }
  // Predict, then learn: at once, or --delay events later from the features logged
  // under the event's number (the label then arrives late, as from a labels stream).
  runtime::Runtime rt(
      pipeline, {.roles = {config.target, config.drop}, .log = {.max_entries = config.delay + 1}});
  rt.sync_columns(columns);  // a column nothing can read fails before the first row
  // Classes are learned as they come (nothing reads the stream ahead): a binary
  // classifier refuses a third one, any other classifier takes it.
  if (!unlabeled && !regression && config.positive) {
    pipeline.labels().name_positive(*config.positive, "--positive");
  }
  rt.set_binary(pipeline.task() == Task::kBinary);

  ProgressiveValidation pv(pipeline, 0, config.window);  // scores only
  // A clusterer is scored by its clusters: the silhouette over the last --window events
  // (1000 without one) on what it saw (the events as its pipeline transforms them), and,
  // with a label column, the adjusted Rand index against the labels.
  std::optional<ClusteringMetrics> clustering;
  if (as_clusterer(pipeline.model()) != nullptr) {
    clustering.emplace(config.window > 0 ? config.window : 1000);
  }
  ProgressLine progress(config.progress);
  Prediction p;
  Target y;
  bool has_target;
  uint64_t event = 0;
  std::vector<Target> delayed;  // targets of the last --delay events, by number % delay
  // The class a prediction names, as text ("" for none). An anomaly detector's class 1
  // ("anomalous") is the target's positive class and its class 0 the other one, once
  // the target has shown both.
  const bool detector = !pipeline.model().needs_target();
  auto class_name = [&](const Prediction& p) -> std::string_view {
    const Labels& l = pipeline.labels();
    if (!p.has_label) return {};
    uint32_t c = p.label;
    if (detector) {
      if (l.size() != 2 || p.label > 1) return {};
      c = p.label == 1 ? l.positive() : 1 - l.positive();
    }
    return c < l.size() ? std::string_view(l.name(c)) : std::string_view();
  };
  auto consume = [&](const Row& row) {
    if (horizon) pipeline.model().forecast(config.horizon, forecast);
    Status st = config.delay == 0
                    ? rt.predict_then_learn(row, p, y)
                    : rt.predict(row, EventId::of_number(event), 0.0, true, p, y, has_target);
    if (!st) {
      ++result.skipped;
      reporter.report(row.line, st.why());
      return;
    }
    if (config.delay > 0) {
      if (event >= config.delay) learn_delayed(rt, delayed, event - config.delay, config.delay);
      size_t at = static_cast<size_t>(event % config.delay);
      if (at == delayed.size()) {
        delayed.push_back(y);
      } else {
        delayed[at] = y;
      }
    }
    ++event;
    if (clustering && p.has_label) {
      std::optional<uint32_t> label;
      if (!unlabeled) label = y.label;
      clustering->observe(pipeline.transform(rt.last_features()), p.label, label);
    }
    if (horizon) {
      horizon->add_forecast(forecast);
      horizon->observe(y.value);
    }
    pv.score(p, y);
    progress.tick(pv);
    if (drift && !unlabeled) {
      drift->update(regression ? std::abs(y.value - p.value)
                               : (p.has_label && p.label == y.label ? 0.0 : 1.0));
      if (drift->drift_detected()) result.drifts.push_back(pv.events());
    }
    if (output) {
      if (regression || unlabeled) {
        fmt::print(output.get(), "{}\n", p.value);
      } else {
        fmt::print(output.get(), "{},{}\n", class_name(p), pipeline.reported_probability(p));
      }
    }
  };

  if (config.threads <= 1) {
    Row row;
    size_t known = source->columns().size();
    while (next_row(row)) {
      if (source->columns().size() != known) {
        rt.sync_columns(source->columns());
        known = source->columns().size();
      }
      consume(row);
    }
  } else {
    BatchQueue queue(4);
    std::thread producer([&queue, next_row, src = source.get()] {
      std::exception_ptr error;
      Batch* b = nullptr;  // the batch being filled
      try {
        Row row;
        size_t known = src->columns().size();
        for (bool more = true; more;) {
          b = queue.take_free();
          if (!b) return;
          b->clear();
          while (b->widths.size() < Batch::kRows && (more = next_row(row))) {
            if (src->columns().size() != known) {
              // Rows before this one in the batch are narrower; the consumer handles that.
              b->columns = src->columns();
              b->has_columns = true;
              known = b->columns.size();
            }
            b->add(row);
          }
          queue.push_full(b);
          b = nullptr;
        }
      } catch (...) {
        error = std::current_exception();
        // The rows decoded before the error (--strict's bad line) are still evaluated,
        // as with one thread.
        if (b) queue.push_full(b);
      }
      queue.finish(error);
    });
    try {
      Row row;
      while (Batch* b = queue.take_full()) {
        if (b->has_columns) rt.sync_columns(b->columns);
        size_t cell = 0;
        for (size_t r = 0; r < b->widths.size(); ++r) {
          row.values.resize(b->widths[r]);
          for (auto& v : row.values) {
            const auto& c = b->cells[cell++];
            v.kind = c.kind;
            v.number = c.number;
            if (c.kind == ValueKind::kText)
              v.text = std::string_view(b->arena).substr(c.offset, c.length);
          }
          row.line = b->lines[r];
          consume(row);
        }
        queue.give_back(b);
      }
    } catch (...) {
      queue.stop();
      producer.join();
      throw;
    }
    producer.join();
    if (auto e = queue.error()) std::rethrow_exception(e);
  }
  // The labels still due arrive once the stream has ended.
  for (uint64_t e = event > config.delay ? event - config.delay : 0; config.delay && e < event;
       ++e) {
    learn_delayed(rt, delayed, e, config.delay);
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  progress.done(pv);
  reporter.summary();
  result.signal = config.stop ? config.stop->received() : 0;
  if (pv.events() == 0 && result.signal == 0) {
    // Metrics of nothing read as 0.0, which looks like a result: say why there is none.
    if (reporter.count() == 0) throw Error(config.data + ": no rows to evaluate");
    auto [line, why] = reporter.first();
    throw Error(config.data + ": no event evaluated: all " + std::to_string(reporter.count()) +
                " rows were skipped; the first, line " + std::to_string(line) + ": " + why);
  }

  result.events = pv.events();
  result.skipped += source->stats().skipped;
  result.non_finite = source->stats().non_finite;
  result.dropped_categories = pipeline.dropped_categories();
  result.category_limit = pipeline.category_limit();
  if (clustering) {
    // A cluster's id is no class: accuracy against the labels would mean nothing.
    result.metrics = clustering->report();
  } else if (!unlabeled) {
    result.metrics = pv.metrics();
    result.rolling = pv.rolling_metrics();
  }
  if (horizon) result.horizon = horizon->report();
  result.binary = !unlabeled && !regression &&
                  (pipeline.task() == Task::kBinary || pipeline.labels().size() <= 2);
  return result;
}

}  // namespace rtml::cli
