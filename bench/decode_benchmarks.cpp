// Decoding throughput over Elec2 text in memory: CSV (target, issue 2: >= 300 MB/s) and
// the same rows as JSON Lines (target, issue 14: >= 300 MB/s, at CSV's pace; compare the
// two rows of one run).
#include <benchmark/benchmark.h>

#include <cstdio>

#include "bench_data.h"
#include "rtml/stream/jsonl_decoder.h"

namespace rtml::bench {
namespace {

// Decodes text with Decoder once per iteration, counting bytes and rows.
template <class Decoder>
void decode_text(benchmark::State& state, const std::string& name, const std::string& text) {
  size_t rows = 0;
  for (auto _ : state) {
    Decoder dec(ByteSource::from_memory(name, text), DecodeOptions{});
    Row row;
    while (dec.next(row)) ++rows;
    benchmark::DoNotOptimize(rows);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
  state.counters["rows/s"] =
      benchmark::Counter(static_cast<double>(rows), benchmark::Counter::kIsRate);
}

void BM_DecodeCsvElec2(benchmark::State& state) {
  decode_text<CsvDecoder>(state, "elec2", elec2_text());
}
BENCHMARK(BM_DecodeCsvElec2)->Unit(benchmark::kMillisecond);

// Elec2 as JSON Lines: {"date":0.0,...,"class":"UP"} per row, keys in the CSV's order.
const std::string& elec2_jsonl() {
  static const std::string text = [] {
    CsvDecoder dec(ByteSource::from_memory("elec2", elec2_text()), DecodeOptions{});
    std::string out;
    Row row;
    char num[32];
    while (dec.next(row)) {
      out += '{';
      for (size_t i = 0; i < row.values.size(); ++i) {
        if (i) out += ',';
        out += '"' + dec.columns()[i].name + "\":";
        const Value& v = row.values[i];
        if (v.kind == ValueKind::kNumber) {
          std::snprintf(num, sizeof(num), "%.17g", v.number);
          out += num;
        } else if (v.kind == ValueKind::kText) {
          out += '"' + std::string(v.text) + '"';
        } else {
          out += "null";
        }
      }
      out += "}\n";
    }
    return out;
  }();
  return text;
}

void BM_DecodeJsonLinesElec2(benchmark::State& state) {
  decode_text<JsonLinesDecoder>(state, "elec2.jsonl", elec2_jsonl());
}
BENCHMARK(BM_DecodeJsonLinesElec2)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace rtml::bench
