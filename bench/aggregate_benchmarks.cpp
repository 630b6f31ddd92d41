// Streaming aggregates: events per second updating three sliding-window aggregates.
// Target (issue 3): 1 million events/s per core.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "rtml/core/random.h"
#include "rtml/features/aggregate_engine.h"

namespace rtml::bench {
namespace {

using namespace rtml::features;

void BM_ThreeSlidingAggregates(benchmark::State& state) {
  std::vector<AggregateSpec> specs = {
      parse_aggregate("clicks_1h = count(click) by user over 1h every 1m"),
      parse_aggregate("spend_1h = sum(amount) by user over 1h every 1m"),
      parse_aggregate("amount_mean_10m = mean(amount) by user over 10m every 10s"),
  };
  AggregateEngine engine(specs);
  const size_t users = static_cast<size_t>(state.range(0));
  std::vector<std::string> keys;
  for (size_t i = 0; i < users; ++i) keys.push_back("user" + std::to_string(i));
  Random rng(1);
  double t = 1.7e9;
  EventField fields[2] = {EventField::of_number("click", 1.0),
                          EventField::of_number("amount", 0.0)};
  for (const auto& k : keys) engine.apply(k, t, fields);  // every user exists: steady state
  for (auto _ : state) {
    t += 0.001;  // 1000 events per second of event time
    fields[1].value.number = rng.uniform(0, 100);
    engine.apply(keys[rng.below(users)], t, fields);
  }
  state.SetItemsProcessed(state.iterations());
  benchmark::DoNotOptimize(engine.read(0, keys[0]));
}
BENCHMARK(BM_ThreeSlidingAggregates)->Arg(1000)->Arg(100000);

}  // namespace
}  // namespace rtml::bench
