#include "rtml/serve/serve_metrics.h"

#include <fmt/format.h>

namespace rtml::serve {

std::string_view route_name(Route r) {
  switch (r) {
    case Route::kHealth:
      return "healthz";
    case Route::kMetrics:
      return "metrics";
    case Route::kPage:
      return "page";
    case Route::kListModels:
      return "list_models";
    case Route::kGetModel:
      return "get_model";
    case Route::kPutModel:
      return "put_model";
    case Route::kDeleteModel:
      return "delete_model";
    case Route::kPredict:
      return "predict";
    case Route::kLearn:
      return "learn";
    case Route::kSnapshot:
      return "snapshot";
    case Route::kFeatures:
      return "features";
    case Route::kEvents:
      return "events";
    case Route::kOther:
    case Route::kCount:
      break;
  }
  return "other";
}

void ServeMetrics::record(Route route, int status, double seconds) {
  PerRoute& r = routes_[static_cast<size_t>(route)];
  const size_t cls = status >= 500 ? 2 : status >= 400 ? 1 : 0;
  r.by_class[cls].fetch_add(1, std::memory_order_relaxed);
  size_t b = 0;
  while (b < kBuckets.size() && seconds > kBuckets[b]) ++b;
  r.buckets[b].fetch_add(1, std::memory_order_relaxed);
  r.seconds.fetch_add(seconds, std::memory_order_relaxed);
}

uint64_t ServeMetrics::requests() const {
  uint64_t n = 0;
  for (const auto& r : routes_) {
    for (const auto& c : r.by_class) n += c.load(std::memory_order_relaxed);
  }
  return n;
}

void ServeMetrics::render(std::string& out) const {
  auto app = std::back_inserter(out);
  static constexpr std::string_view kClass[] = {"2xx", "4xx", "5xx"};
  out +=
      "# HELP rtml_http_requests_total HTTP requests answered, by route and status class.\n"
      "# TYPE rtml_http_requests_total counter\n";
  for (size_t i = 0; i < routes_.size(); ++i) {
    for (size_t c = 0; c < 3; ++c) {
      fmt::format_to(app, "rtml_http_requests_total{{route=\"{}\",code=\"{}\"}} {}\n",
                     route_name(static_cast<Route>(i)), kClass[c],
                     routes_[i].by_class[c].load(std::memory_order_relaxed));
    }
  }
  out +=
      "# HELP rtml_http_request_duration_seconds Time from a request read to its answer, by "
      "route.\n"
      "# TYPE rtml_http_request_duration_seconds histogram\n";
  for (size_t i = 0; i < routes_.size(); ++i) {
    const PerRoute& r = routes_[i];
    const std::string_view name = route_name(static_cast<Route>(i));
    uint64_t cumulative = 0;
    for (size_t b = 0; b <= kBuckets.size(); ++b) {
      cumulative += r.buckets[b].load(std::memory_order_relaxed);
      if (b < kBuckets.size()) {
        fmt::format_to(app,
                       "rtml_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n",
                       name, kBuckets[b], cumulative);
      } else {
        fmt::format_to(app,
                       "rtml_http_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n",
                       name, cumulative);
      }
    }
    fmt::format_to(app, "rtml_http_request_duration_seconds_sum{{route=\"{}\"}} {}\n", name,
                   r.seconds.load(std::memory_order_relaxed));
    fmt::format_to(app, "rtml_http_request_duration_seconds_count{{route=\"{}\"}} {}\n", name,
                   cumulative);
  }
}

}  // namespace rtml::serve
