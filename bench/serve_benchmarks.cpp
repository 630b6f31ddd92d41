// The serving thread's work on a batch predict, without the socket: Api::handle() on a
// body of 1,000 events of Elec2's 8 features (what `rtml bench serve` sends). Issue 15's
// goal is 2 M events/s end to end; this says how much of an event's time is the API's.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "rtml/core/random.h"
#include "rtml/learn/prediction_log.h"
#include "rtml/serve/api.h"

namespace rtml::bench {
namespace {

std::string features(Random& rng) {
  return fmt::format(
      "{{\"date\":{:.4f},\"day\":{},\"period\":{:.4f},\"nswprice\":{:.5f},\"nswdemand\":{:.5f},"
      "\"vicprice\":{:.5f},\"vicdemand\":{:.5f},\"transfer\":{:.5f}}}",
      rng.uniform(), static_cast<int>(rng.uniform() * 7), rng.uniform(), rng.uniform(),
      rng.uniform(), rng.uniform() * 0.01, rng.uniform(), rng.uniform());
}

serve::ApiResponse call(serve::Api& api, std::string_view method, std::string_view target,
                        std::string_view body) {
  serve::ApiResponse out;
  api.handle(serve::ApiRequest{method, target, body, {}},
             [&](serve::ApiResponse r) { out = std::move(r); });
  return out;
}

// A model that has learned 2,000 events, and a batch body of 1,000 events.
struct Served {
  serve::Api api{[] {
    serve::Api::Options o;
    o.log.max_entries = 1u << 20;
    return o;
  }()};
  std::string batch;

  Served() {
    if (!api.create_model("m", "standard_scaler | logistic_regression")) std::abort();
    Random rng(1);
    std::vector<std::string> events;
    for (int i = 0; i < 1000; ++i) events.push_back(features(rng));
    for (int i = 0; i < 2000; ++i) {
      // Learned by the model's thread: the answer comes from there.
      std::string body =
          "{\"features\":" + events[i % 1000] + ",\"label\":\"" + (i % 3 ? "UP" : "DOWN") + "\"}";
      api.handle(serve::ApiRequest{"POST", "/v1/models/m/learn", body, {}},
                 [](serve::ApiResponse) {});
    }
    while (api.queued("m") > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    batch = "{\"events\":[";
    for (int i = 0; i < 1000; ++i) {
      if (i) batch += ',';
      batch += "{\"features\":" + events[i] + "}";
    }
    batch += "]}";
    // Until the prediction log is full (each log then makes the oldest entry leave): a
    // server in its steady state, not in its first lap, which allocates as it grows.
    // RTML_BENCH_SERVE_FILL sets fewer (a run under callgrind, which counts the serving
    // thread's instructions and needs no steady state for them).
    const char* fill = std::getenv("RTML_BENCH_SERVE_FILL");
    const size_t fill_to = fill ? std::strtoull(fill, nullptr, 10) : (size_t{1} << 20) + 1000;
    for (size_t n = 0; n < fill_to; n += 1000) {
      while (api.queued("m") > 100000) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      api.handle(serve::ApiRequest{"POST", "/v1/models/m/predict", batch, {}},
                 [](serve::ApiResponse) {});
    }
    while (api.queued("m") > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
};

// One batch request: a function of its own, so that callgrind can count its
// instructions alone (--toggle-collect='*one_batch_request*').
[[gnu::noinline]] serve::ApiResponse one_batch_request(Served& s) {
  return call(s.api, "POST", "/v1/models/m/predict", s.batch);
}

void BM_ServeBatchPredict(benchmark::State& state) {
  static Served s;
  // Under callgrind (RTML_BENCH_SERVE_FILL set) each batch waits for the learner, whom
  // valgrind runs far slower than the serving thread: else the serving thread's
  // instructions would be those of a model always behind (its batches' buffers not yet
  // handed back to be used again).
  const bool counting = std::getenv("RTML_BENCH_SERVE_FILL") != nullptr;
  for (auto _ : state) {
    if (counting) {
      while (s.api.queued("m") > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    serve::ApiResponse r = one_batch_request(s);
    if (r.status == 503) {
      // The learner logs what was predicted: a run faster than it waits, as a client would.
      state.PauseTiming();
      while (s.api.queued("m") > 0) std::this_thread::sleep_for(std::chrono::microseconds(100));
      state.ResumeTiming();
    } else if (r.status != 200) {
      state.SkipWithError(r.body.c_str());
      break;
    }
    benchmark::DoNotOptimize(r.body.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 1000);
}
BENCHMARK(BM_ServeBatchPredict)->Unit(benchmark::kMicrosecond)->UseRealTime();

// One prediction logged under a text id as the server makes them ("<16 hex>-<n>"), 8 features, a
// full log of 2^20 entries (each log makes the oldest leave): what the learning thread does for
// each event a batch predicted.
constexpr int kLogBits = 20;
void BM_PredictionLogFull(benchmark::State& state) {
  PredictionLog log(PredictionLog::Limits{size_t{1} << kLogBits});
  Features x;
  for (uint32_t i = 0; i < 8; ++i) x.add(i, 0.5 * i);
  Prediction p;
  p.proba = {0.3, 0.7};
  p.has_label = true;
  uint64_t n = 0;
  std::string id;
  auto one = [&] {
    id = "5e3c0f1d2a9b8c7d-";  // as a server's ids: longer than a string keeps inline
    id += std::to_string(n++);
    if (!log.log(EventId::of_text(id), 0, x, p)) std::abort();
  };
  for (size_t i = 0; i < (size_t{1} << kLogBits); ++i) one();
  for (auto _ : state) one();
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_PredictionLogFull);

}  // namespace
}  // namespace rtml::bench
