// rtml bench store: latency and throughput of the feature store backends in one run.
#include "bench_store.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <barrier>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "process_stats.h"
#include "rtml/core/error.h"
#include "rtml/core/random.h"
#include "rtml/store/embedded_store.h"
#include "rtml/store/local_redis.h"
#include "rtml/store/redis_store.h"

namespace rtml::cli {
namespace {

// A write the benchmark needs: a refusal ends the benchmark with its reason.
void must(const Status& s) {
  if (!s) throw Error("bench store: " + s.why());
}

using Clock = std::chrono::steady_clock;
using namespace rtml::store;

struct Row {
  std::string backend, wal;
  int threads;
  std::string op;
  double p50, p99, p999, ops_per_second;
  int rows_per_op = 1;  // entities an op reads (a batched read: 16 or 64)
};

// What redis-benchmark (Debian's redis-tools) does for command on the server at port:
// requests per second with `-P 32` (its default 50 clients), and the p50 and p99 latency
// of a request in ns if it reports them. Empty if it could not run.
std::optional<Row> redis_benchmark(int port, size_t requests, uint64_t keyspace,
                                   const std::string& command) {
  const std::string cmd =
      fmt::format("redis-benchmark -h 127.0.0.1 -p {} -n {} -r {} -P 32 --csv {} 2>/dev/null", port,
                  requests, keyspace, command);
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return std::nullopt;
  std::string out;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof(buf), p)) out.append(buf, n);
  if (::pclose(p) != 0) return std::nullopt;
  // --csv: a header line, then "name","rps","avg_latency_ms","min_latency_ms",
  // "p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms".
  const size_t line = out.find('\n');
  if (line == std::string::npos) return std::nullopt;
  std::vector<double> v;
  std::string rest = out.substr(line + 1);
  for (size_t at = rest.find("\",\""); at != std::string::npos; at = rest.find("\",\"", at + 3)) {
    v.push_back(std::atof(rest.c_str() + at + 3));
  }
  if (v.empty() || v[0] <= 0) return std::nullopt;
  Row r{"redis-benchmark", "off", 50, "hgetall -P 32", 0, 0, 0, v[0]};
  if (v.size() >= 6) {
    r.p50 = v[3] * 1e6;
    r.p99 = v[5] * 1e6;
    r.p999 = NAN;
  }
  return r;
}

const std::vector<std::string> kFeatures = {"f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7"};

Update entity_update(uint64_t key, double base) {
  Update u;
  u.key = EntityKey(key);
  for (size_t i = 0; i < kFeatures.size(); ++i)
    u.set.emplace_back(kFeatures[i], FeatureValue::of_number(base + i));
  return u;
}

// Runs op(thread, i) for ops iterations on each of `threads` threads twice: once bare,
// for the throughput (two clock reads per op would cost as much as a get), then timing
// each op, for the latency percentiles.
template <typename Op>
Row measure(const std::string& backend, const std::string& wal, int threads,
            const std::string& name, size_t ops, Op op) {
  // Flush what earlier rows wrote (WAL files), so that the kernel's writeback of their
  // pages does not land in this row's tail.
  ::sync();
  // Each thread first runs the ops untimed, then again timed, so that the throughput
  // is that of a running store rather than of the threads' first touches (a fresh
  // thread's first 200,000 gets ran at half the speed of the next).
  std::barrier warm(threads);
  std::vector<double> seconds(threads);
  {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        for (size_t i = 0; i < ops; ++i) op(t, i);
        warm.arrive_and_wait();
        auto start = Clock::now();
        for (size_t i = 0; i < ops; ++i) op(t, i);
        seconds[t] = std::chrono::duration<double>(Clock::now() - start).count();
      });
    }
    for (auto& th : pool) th.join();
  }
  double bare_seconds = *std::max_element(seconds.begin(), seconds.end());
  std::vector<std::vector<uint32_t>> lat(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      auto& l = lat[t];
      l.reserve(ops);
      for (size_t i = 0; i < ops; ++i) {
        auto a = Clock::now();
        op(t, i);
        auto b = Clock::now();
        l.push_back(static_cast<uint32_t>(std::min<int64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count(), UINT32_MAX)));
      }
    });
  }
  for (auto& th : pool) th.join();
  std::vector<uint32_t> all;
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  auto pct = [&](double p) {
    size_t k = std::min(all.size() - 1, static_cast<size_t>(p * all.size()));
    std::nth_element(all.begin(), all.begin() + k, all.end());
    return static_cast<double>(all[k]);
  };
  return Row{backend,  wal,       threads,    name,
             pct(0.5), pct(0.99), pct(0.999), static_cast<double>(ops) * threads / bare_seconds};
}

}  // namespace

int run_bench_store(const BenchStoreOptions& o) {
  if (o.memory_only) {
    double before = peak_rss_mb();
    auto s = EmbeddedStore::open(StoreOptions{});
    Update u = entity_update(0, 0);
    for (uint64_t k = 0; k < o.entities; ++k) {
      u.key = EntityKey(k);
      for (auto& [name, v] : u.set) v.number = static_cast<double>(k);
      must(s->apply(u));
    }
    double rss = peak_rss_mb();
    nlohmann::ordered_json j;
    j["entities"] = s->entity_count();
    j["features_per_entity"] = kFeatures.size();
    j["peak_rss_mib"] = rss;
    j["rss_bytes_per_entity"] = (rss - before) * 1048576.0 / static_cast<double>(o.entities);
    j["accounted_bytes_per_entity"] =
        static_cast<double>(s->memory_bytes()) / static_cast<double>(o.entities);
    fmt::print("{}\n", j.dump());
    return 0;
  }
  std::vector<Row> rows;
  nlohmann::ordered_json extra;
  auto progress = [&](const std::string& what) {
    if (!o.json) std::fprintf(stderr, "bench store: %s\n", what.c_str());
  };
  std::string tmp =
      (std::filesystem::temp_directory_path() / ("rtml-bench-store-" + std::to_string(::getpid())))
          .string();
  std::filesystem::remove_all(tmp);

  // Load the entities once, snapshot them, and reopen the folder under each WAL policy:
  // reopening also measures recovery of that many entities.
  if (!o.redis_only) {
    progress("loading " + std::to_string(o.entities) + " entities");
    StoreOptions so;
    so.dir = tmp;
    so.fsync = FsyncSetting::parse("never");
    so.snapshot_wal_bytes = 0;
    auto s = EmbeddedStore::open(so);
    for (uint64_t k = 0; k < o.entities; ++k) {
      must(s->apply(entity_update(k, static_cast<double>(k))));
    }
    s->snapshot();
    extra["entities"] = o.entities;
    extra["memory_bytes_per_entity"] = static_cast<double>(s->memory_bytes()) / o.entities;
  }
  for (std::string wal : {"off", "every=10ms", "always"}) {
    if (o.redis_only) break;
    std::unique_ptr<EmbeddedStore> s;
    if (wal == "off") {
      s = EmbeddedStore::open(StoreOptions{});
      for (uint64_t k = 0; k < o.entities; ++k)
        must(s->apply(entity_update(k, static_cast<double>(k))));
    } else {
      StoreOptions so;
      so.dir = tmp;
      so.fsync = FsyncSetting::parse(wal);
      so.snapshot_wal_bytes = 0;
      s = EmbeddedStore::open(so);
      if (wal == "always") extra["recovery_seconds"] = s->recovery().seconds;
    }
    std::vector<uint16_t> ids;
    for (const auto& f : kFeatures) ids.push_back(*s->feature(f));
    if (wal == "off") {
      // Batched reads (16 keys per call, prefetched): gets per second on one thread.
      Random rng(7);
      std::vector<EntityKey> keys(16);
      std::vector<double> out(16 * ids.size());
      std::vector<uint8_t> present(out.size());
      size_t calls = std::max<size_t>(1, o.get_ops / 16);
      auto start = Clock::now();
      for (size_t c = 0; c < calls; ++c) {
        for (auto& k : keys) k = EntityKey(rng.below(o.entities));
        s->get_numbers_many(keys, ids, out, present);
      }
      double secs = std::chrono::duration<double>(Clock::now() - start).count();
      extra["embedded_batched_gets_per_second_one_thread"] = calls * 16 / secs;
    }
    for (int threads : {1, 2}) {
      progress("embedded, wal " + wal + ", " + std::to_string(threads) + " thread(s)");
      std::vector<Random> rng;
      for (int t = 0; t < threads; ++t) rng.emplace_back(1000 + t);
      // Each thread's keys are drawn before the clock starts, into its own vector: a
      // shared generator state would bounce between the cores, and drawing a key in
      // the loop cost about 60 ns of a 150 ns get (see BM_StoreGetNumbers).
      std::vector<std::vector<EntityKey>> keys(threads);
      for (int t = 0; t < threads; ++t) {
        keys[t].reserve(o.get_ops);
        for (size_t i = 0; i < o.get_ops; ++i) keys[t].emplace_back(rng[t].below(o.entities));
      }
      const EmbeddedStore& store = *s;
      std::span<const uint16_t> request = ids;
      rows.push_back(measure("embedded", wal, threads, "get", o.get_ops, [&](int t, size_t i) {
        double out[8];
        uint8_t present[8];
        store.get_numbers(keys[t][i], request, out, present);
      }));
      size_t put_ops = wal == "always" ? std::min<size_t>(o.ops, 3000) : o.ops;
      std::vector<Update> updates;
      for (int t = 0; t < threads; ++t) updates.push_back(entity_update(0, 0));
      rows.push_back(measure("embedded", wal, threads, "put", put_ops, [&](int t, size_t i) {
        Update& u = updates[t];
        u.key = EntityKey(rng[t].below(o.entities));
        for (auto& [name, v] : u.set) v.number = static_cast<double>(i);
        must(s->apply(u));
      }));
    }
  }
  std::filesystem::remove_all(tmp);

  if (!o.no_redis) {
    LocalRedis server;
    RedisOptions ro;
    ro.port = server.port();
    progress("redis: loading " + std::to_string(o.entities) + " entities");
    {
      RedisStore loader(ro);
      for (uint64_t k = 0; k < o.entities; ++k)
        must(loader.apply(entity_update(k, static_cast<double>(k))));
    }
    for (int threads : {1, 2}) {
      progress("redis, " + std::to_string(threads) + " thread(s)");
      std::vector<std::unique_ptr<RedisStore>> conns;
      std::vector<Random> rng;
      for (int t = 0; t < threads; ++t) {
        conns.push_back(std::make_unique<RedisStore>(ro));
        rng.emplace_back(2000 + t);
      }
      size_t ops = std::min<size_t>(o.ops, 20000);
      rows.push_back(measure("redis", "off", threads, "get", ops, [&](int t, size_t) {
        FeatureValue out[8];
        conns[t]->get(EntityKey(rng[t].below(o.entities)), kFeatures, out);
      }));
      std::vector<Update> updates;
      for (int t = 0; t < threads; ++t) updates.push_back(entity_update(0, 0));
      rows.push_back(measure("redis", "off", threads, "put", ops, [&](int t, size_t i) {
        Update& u = updates[t];
        u.key = EntityKey(rng[t].below(o.entities));
        for (auto& [name, v] : u.set) v.number = static_cast<double>(i);
        must(conns[t]->apply(u));
      }));
    }
    // Batched reads beside redis-benchmark's pipelined HGETALL of the same hashes: keys
    // as redis-benchmark writes __rand_int__ (12 digits), 8 features each.
    const uint64_t keyspace = std::min<uint64_t>(o.entities, 100000);
    progress("redis: loading " + std::to_string(keyspace) + " entities for batched reads");
    {
      RedisStore loader(ro);
      for (uint64_t k = 0; k < keyspace; ++k) {
        Update u = entity_update(0, static_cast<double>(k));
        u.key = EntityKey(fmt::format("{:012}", k));
        must(loader.apply(u));
      }
    }
    std::vector<EntityKey> all_keys;
    for (uint64_t k = 0; k < keyspace; ++k) all_keys.emplace_back(fmt::format("{:012}", k));
    // One connection per thread: a synchronous batch leaves Redis idle while its client
    // decodes, and a second connection fills that time (redis-benchmark keeps 50 in flight).
    for (int threads : {1, 2}) {
      std::vector<std::unique_ptr<RedisStore>> readers;
      std::vector<Random> rngs;
      for (int t = 0; t < threads; ++t) {
        readers.push_back(std::make_unique<RedisStore>(ro));
        rngs.emplace_back(3000 + t);
      }
      for (int batch : {16, 64}) {
        progress("redis: get_many of " + std::to_string(batch) + ", " + std::to_string(threads) +
                 " thread(s)");
        std::vector<std::vector<EntityKey>> keys(threads, std::vector<EntityKey>(batch));
        std::vector<std::vector<FeatureValue>> out(
            threads, std::vector<FeatureValue>(batch * kFeatures.size()));
        const size_t batches = std::max<size_t>(1, std::min<size_t>(o.ops, 200000) / batch);
        Row r = measure("redis", "off", threads, "get_many " + std::to_string(batch), batches,
                        [&](int t, size_t) {
                          for (auto& k : keys[t]) k = all_keys[rngs[t].below(keyspace)];
                          readers[t]->get_many(keys[t], kFeatures, out[t]);
                        });
        r.rows_per_op = batch;
        rows.push_back(r);
      }
    }
    progress("redis-benchmark: HGETALL -P 32");
    if (auto r =
            redis_benchmark(server.port(), 1000000, keyspace, "HGETALL rtml::{__rand_int__}")) {
      rows.push_back(*r);
      for (int batch : {16, 64}) {
        for (const auto& row : rows) {
          if (row.op == "get_many " + std::to_string(batch)) {
            extra["redis_get_many_" + std::to_string(batch) + "_" + std::to_string(row.threads) +
                  "_threads_over_redis_benchmark"] =
                row.ops_per_second * row.rows_per_op / r->ops_per_second;
          }
        }
      }
    } else {
      extra["redis_benchmark"] = "redis-benchmark did not run (apt-get install redis-tools)";
    }
  }

  // The ratio the issue asks for: Redis get p99 over embedded (no WAL) get p99.
  auto find = [&](const std::string& b, const std::string& w, int t,
                  const std::string& op) -> const Row* {
    for (const auto& r : rows) {
      if (r.backend == b && r.wal == w && r.threads == t && r.op == op) return &r;
    }
    return nullptr;
  };
  if (const Row* e = find("embedded", "off", 1, "get"), *r = find("redis", "off", 1, "get");
      e && r) {
    extra["redis_over_embedded_get_p99"] = r->p99 / std::max(1.0, e->p99);
  }

  if (o.json) {
    nlohmann::ordered_json j;
    j["rows"] = nlohmann::json::array();
    for (const auto& r : rows) {
      j["rows"].push_back({{"backend", r.backend},
                           {"wal", r.wal},
                           {"threads", r.threads},
                           {"op", r.op},
                           {"p50_ns", r.p50},
                           {"p99_ns", r.p99},
                           {"p999_ns", r.p999},
                           {"ops_per_second", r.ops_per_second},
                           {"rows_per_second", r.ops_per_second * r.rows_per_op}});
    }
    for (auto it = extra.begin(); it != extra.end(); ++it) j[it.key()] = it.value();
    fmt::print("{}\n", j.dump());
    return 0;
  }
  fmt::print("{:<15} {:<11} {:>7} {:<13} {:>10} {:>10} {:>10} {:>14} {:>14}\n", "backend", "wal",
             "threads", "op", "p50 ns", "p99 ns", "p99.9 ns", "ops/s", "rows/s");
  for (const auto& r : rows) {
    fmt::print("{:<15} {:<11} {:>7} {:<13} {:>10.0f} {:>10.0f} {:>10.0f} {:>14.0f} {:>14.0f}\n",
               r.backend, r.wal, r.threads, r.op, r.p50, r.p99, r.p999, r.ops_per_second,
               r.ops_per_second * r.rows_per_op);
  }
  for (auto it = extra.begin(); it != extra.end(); ++it)
    fmt::print("{}: {}\n", it.key(), it.value().dump());
  return 0;
}

}  // namespace rtml::cli
