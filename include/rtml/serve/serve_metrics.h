// ServeMetrics: the server's request counters and latency histograms, by route.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace rtml::serve {

// The routes the metrics tell apart (a path's model name is not a label: a label per
// model name would grow without bound).
enum class Route : uint8_t {
  kHealth,
  kMetrics,
  kPage,
  kListModels,
  kGetModel,
  kPutModel,
  kDeleteModel,
  kPredict,
  kLearn,
  kSnapshot,
  kFeatures,
  kEvents,
  kOther,
  kCount
};
std::string_view route_name(Route r);

// Counts requests by route and status class and keeps a latency histogram by route, for
// GET /metrics in Prometheus' text format. Thread-safe, without locks (relaxed atomics:
// a scrape may see one request's count before its latency).
class ServeMetrics {
 public:
  // Upper bounds of the latency buckets, in seconds (the last bucket is +Inf).
  static constexpr std::array<double, 14> kBuckets = {
      5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 5e-2, 0.25, 1.0};

  // One request of route answered with status after `seconds`.
  void record(Route route, int status, double seconds);
  // Appends the metrics as Prometheus text (HELP, TYPE, samples) to out.
  void render(std::string& out) const;
  // Requests answered, all routes.
  uint64_t requests() const;

 private:
  struct PerRoute {
    std::array<std::atomic<uint64_t>, 3> by_class{};  // 2xx (and others below 400), 4xx, 5xx
    std::array<std::atomic<uint64_t>, kBuckets.size() + 1> buckets{};
    std::atomic<double> seconds{0.0};
  };
  std::array<PerRoute, static_cast<size_t>(Route::kCount)> routes_;
};

}  // namespace rtml::serve
