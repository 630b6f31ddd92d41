#include "rtml/core/error.h"
#include "rtml/stream/csv_decoder.h"
#include "rtml/stream/jsonl_decoder.h"
#include "rtml/stream/row_source.h"
#include "rtml/stream/synthetic.h"

namespace rtml {
namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::unique_ptr<RowSource> open_generator(std::string_view spec) {
  auto q = spec.find('?');
  std::string name(spec.substr(0, q));
  GeneratorParams params;
  if (q != std::string_view::npos) {
    std::string_view rest = spec.substr(q + 1);
    while (!rest.empty()) {
      auto amp = rest.find('&');
      auto kv = rest.substr(0, amp);
      auto eq = kv.find('=');
      if (eq == std::string_view::npos || eq == 0) {
        throw Error("synth:" + name + ": expected key=value, got '" + std::string(kv) + "'");
      }
      params[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
      if (amp == std::string_view::npos) break;
      rest = rest.substr(amp + 1);
    }
  }
  return make_generator(name, params);
}

}  // namespace

std::unique_ptr<RowSource> open_source(const std::string& spec, DecodeOptions options) {
  if (spec.rfind("synth:", 0) == 0) return open_generator(std::string_view(spec).substr(6));
  std::string_view base = spec;
  if (ends_with(base, ".gz")) base.remove_suffix(3);
  bool jsonl =
      options.format == SourceFormat::kJsonLines ||
      (options.format == SourceFormat::kByName &&
       (ends_with(base, ".jsonl") || ends_with(base, ".ndjson") || ends_with(base, ".json")));
  auto bytes = ByteSource::open(spec, options.stop_fd);
  if (jsonl) return std::make_unique<JsonLinesDecoder>(std::move(bytes), std::move(options));
  return std::make_unique<CsvDecoder>(std::move(bytes), std::move(options));
}

}  // namespace rtml
