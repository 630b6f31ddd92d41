// libFuzzer target over rtml serve's request handling: the input is the bytes a client
// sends on one connection (request lines, headers, JSON bodies, pipelined requests),
// parsed by Beast's request parser as the server's connections do and answered by the
// Api. Any crash, sanitizer report or answer outside 2xx-4xx is a finding.
// clang-format off
#include <utility>  // before Asio: its awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <cstdlib>
#include <future>
#include <optional>

#include "rtml/serve/api.h"

namespace {

namespace beast = boost::beast;
namespace http = beast::http;

rtml::serve::Api& api() {
  static rtml::serve::Api* a = [] {
    rtml::serve::Api::Options o;
    o.max_models = 6;
    o.max_batch = 64;
    o.max_versions = 3;
    o.log.max_entries = 1024;
    auto* api = new rtml::serve::Api(o);
    (void)api->create_model("lr", "standard_scaler | logistic_regression");
    (void)api->create_model("oh", "one_hot | softmax_regression");
    (void)api->create_model("reg", "feature_hasher(bits=8) | linear_regression");
    (void)api->create_model("tree", "hoeffding_tree");
    return api;
  }();
  return *a;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  beast::flat_buffer buffer;
  auto in = buffer.prepare(size);
  std::memcpy(in.data(), data, size);
  buffer.commit(size);
  for (int requests = 0; requests < 16 && buffer.size() > 0; ++requests) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(1 << 16);
    parser.header_limit(1 << 14);
    beast::error_code ec;
    size_t used = 0;
    do {
      used = parser.put(buffer.data(), ec);
      buffer.consume(used);
    } while (!ec && !parser.is_done() && used > 0);
    if (!parser.is_done()) return 0;
    auto& req = parser.get();
    rtml::serve::ApiRequest r;
    r.method = std::string_view(req.method_string().data(), req.method_string().size());
    r.target = std::string_view(req.target().data(), req.target().size());
    // Every other request as the server hands it on: padded, read where it is.
    std::string padded;
    if ((requests + size) % 2 == 1) {
      padded = req.body();
      padded.append(rtml::serve::ApiRequest::kBodyPadding, '\0');
      r.body = std::string_view(padded).substr(0, req.body().size());
      r.body_padded = true;
    } else {
      r.body = req.body();
    }
    std::promise<rtml::serve::ApiResponse> done;
    auto answer = done.get_future();
    api().handle(r, [&](rtml::serve::ApiResponse a) { done.set_value(std::move(a)); });
    const auto a = answer.get();
    if (a.status < 200 || a.status >= 500) std::abort();
  }
  return 0;
}
