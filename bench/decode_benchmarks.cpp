// CSV decoding throughput over Elec2 text in memory. Target (issue 2): >= 300 MB/s.
#include <benchmark/benchmark.h>

#include "bench_data.h"

namespace rtml::bench {
namespace {

void BM_DecodeCsvElec2(benchmark::State& state) {
  const std::string& text = elec2_text();
  size_t rows = 0;
  for (auto _ : state) {
    CsvDecoder dec(ByteSource::from_memory("elec2", text), DecodeOptions{});
    Row row;
    while (dec.next(row)) ++rows;
    benchmark::DoNotOptimize(rows);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
  state.counters["rows/s"] =
      benchmark::Counter(static_cast<double>(rows), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_DecodeCsvElec2)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace rtml::bench
