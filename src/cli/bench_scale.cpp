// rtml bench scale: see bench_scale.h.
#include "bench_scale.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "rtml/core/error.h"
#include "rtml/store/local_redis.h"
#include "rtml/store/redis_connection.h"

extern char** environ;

namespace rtml::cli {
namespace {

using Clock = std::chrono::steady_clock;
using store::RedisConnection;

// INFO's numeric fields (cpu and stats sections).
std::map<std::string, double> info(RedisConnection& r) {
  std::map<std::string, double> out;
  for (const char* section : {"cpu", "stats"}) {
    auto reply = r.checked({"INFO", section}, "read INFO");
    std::string text(reply->str, reply->len);
    size_t at = 0;
    while (at < text.size()) {
      size_t nl = text.find('\n', at);
      if (nl == std::string::npos) nl = text.size();
      std::string line = text.substr(at, nl - at);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (size_t colon = line.find(':'); colon != std::string::npos && line[0] != '#') {
        out[line.substr(0, colon)] = std::atof(line.c_str() + colon + 1);
      }
      at = nl + 1;
    }
  }
  return out;
}

long long stream_length(RedisConnection& r, const char* stream) {
  auto reply = r.command({"XLEN", stream});
  return reply->type == REDIS_REPLY_INTEGER ? reply->integer : 0;
}

void add_events(RedisConnection& r, uint64_t n) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> g;
  size_t queued = 0;
  std::string event;
  for (uint64_t i = 0; i < n; ++i) {
    double x[8], sum = 0;
    event = fmt::format("{{\"id\":{}", i);
    for (int f = 0; f < 8; ++f) {
      x[f] = g(rng);
      sum += (f % 2 ? -0.5 : 1.0) * x[f];
      event += fmt::format(",\"x{}\":{:.5f}", f, x[f]);
    }
    event += fmt::format(",\"label\":\"{}\"}}", sum + 0.3 * g(rng) > 0 ? "yes" : "no");
    r.append({"XADD", "rtml:events", "*", "event", event});
    if (++queued == 2000) {
      for (; queued; --queued) r.reply();
    }
  }
  for (; queued; --queued) r.reply();
}

struct Worker {
  pid_t pid = -1;
  rusage usage{};
};

pid_t spawn(const std::vector<std::string>& args, const std::string& out) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, (out + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, "/proc/self/exe", &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw Error("bench scale: cannot start a worker: " + std::string(strerror(rc)));
  return pid;
}

struct Row {
  int workers;
  double seconds, events_per_second, redis_cpu, workers_cpu;
  double commands_per_event, bytes_in_per_event, bytes_out_per_event;
};

Row measure(const BenchScaleOptions& o, int workers, const std::string& dir) {
  store::LocalRedis server;
  store::RedisOptions ro;
  ro.port = server.port();
  ro.timeout_seconds = 30;
  RedisConnection r(ro);
  if (!o.json) fmt::print(stderr, "bench scale: adding {} events to rtml:events\n", o.events);
  add_events(r, o.events);
  std::vector<Worker> pool(workers);
  std::vector<std::string> configs;
  for (int w = 0; w < workers; ++w) {
    const std::string config = fmt::format("{}/w{}-{}.yaml", dir, workers, w);
    std::ofstream f(config);
    f << "redis: redis://127.0.0.1:" << server.port() << "\n"
      << "source:\n  stream: rtml:events\n  id: id\n  consumer: w" << w << "\n"
      << "model:\n  expression: \"standard_scaler | logistic_regression\"\n  target: label\n"
      << "sinks:\n  predictions_stream: rtml:predictions\n";
    if (o.checkpoint) {
      f << "checkpoint:\n  dir: " << dir << "/ck-" << workers << "-" << w
        << "\n  seconds: 1\n  events: 1000000000\n";
    }
    configs.push_back(config);
  }
  const auto before = info(r);
  const auto start = Clock::now();
  for (int w = 0; w < workers; ++w) {
    pool[w].pid = spawn({"rtml", "run", configs[w], "--quiet", "--json"},
                        fmt::format("{}/w{}-{}.out", dir, workers, w));
  }
  long long done = 0;
  auto last_print = start;
  while ((done = stream_length(r, "rtml:predictions")) < static_cast<long long>(o.events)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const auto now = Clock::now();
    if (!o.json && now - last_print > std::chrono::milliseconds(250)) {
      const double s = std::chrono::duration<double>(now - start).count();
      fmt::print(stderr, "\rbench scale: {} worker(s): {} of {} events, {:.0f}/s   ", workers, done,
                 o.events, done / s);
      last_print = now;
    }
    for (const auto& w : pool) {
      int status;
      if (::waitpid(w.pid, &status, WNOHANG) == w.pid) {
        throw Error("bench scale: a worker ended early; see " + dir);
      }
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const auto after = info(r);
  if (!o.json) fmt::print(stderr, "\n");
  double cpu = 0;
  for (auto& w : pool) {
    ::kill(w.pid, SIGTERM);
    int status;
    ::wait4(w.pid, &status, 0, &w.usage);
    cpu += w.usage.ru_utime.tv_sec + w.usage.ru_utime.tv_usec * 1e-6 + w.usage.ru_stime.tv_sec +
           w.usage.ru_stime.tv_usec * 1e-6;
  }
  auto delta = [&](const char* k) { return after.at(k) - before.at(k); };
  const double n = static_cast<double>(o.events);
  Row row;
  row.workers = workers;
  row.seconds = seconds;
  row.events_per_second = n / seconds;
  row.redis_cpu = (delta("used_cpu_sys") + delta("used_cpu_user")) / seconds;
  // The workers' CPU includes their start and the wait after the last event (idle).
  row.workers_cpu = cpu / seconds;
  // INFO itself counts: two calls.
  row.commands_per_event = (delta("total_commands_processed") - 2) / n;
  row.bytes_in_per_event = delta("total_net_input_bytes") / n;
  row.bytes_out_per_event = delta("total_net_output_bytes") / n;
  return row;
}

}  // namespace

int run_bench_scale(const BenchScaleOptions& o) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("rtml-bench-scale-" + std::to_string(::getpid())))
          .string();
  std::filesystem::create_directories(dir);
  std::vector<Row> rows;
  try {
    for (int w : o.workers) rows.push_back(measure(o, w, dir));
  } catch (...) {
    std::filesystem::remove_all(dir);
    throw;
  }
  std::filesystem::remove_all(dir);
  const long cores = ::sysconf(_SC_NPROCESSORS_ONLN);
  if (o.json) {
    nlohmann::ordered_json j;
    j["events"] = o.events;
    j["cores"] = cores;
    j["checkpoint"] = o.checkpoint;
    for (const auto& r : rows) {
      j["rows"].push_back({{"workers", r.workers},
                           {"seconds", r.seconds},
                           {"events_per_second", r.events_per_second},
                           {"redis_cpu", r.redis_cpu},
                           {"workers_cpu", r.workers_cpu},
                           {"redis_commands_per_event", r.commands_per_event},
                           {"redis_bytes_in_per_event", r.bytes_in_per_event},
                           {"redis_bytes_out_per_event", r.bytes_out_per_event}});
    }
    fmt::print("{}\n", j.dump());
    return 0;
  }
  fmt::print("{} events on Redis Streams, {} cores, {}\n", o.events, cores,
             o.checkpoint ? "checkpoint every 1 s" : "acknowledged every 100 ms");
  fmt::print("{:>7} {:>12} {:>10} {:>12} {:>10} {:>12} {:>12}\n", "workers", "events/s",
             "redis CPU", "workers CPU", "cmds/event", "bytes in/ev", "bytes out/ev");
  for (const auto& r : rows) {
    fmt::print("{:>7} {:>12.0f} {:>9.0f}% {:>11.0f}% {:>10.3f} {:>12.1f} {:>12.1f}\n", r.workers,
               r.events_per_second, r.redis_cpu * 100, r.workers_cpu * 100, r.commands_per_event,
               r.bytes_in_per_event, r.bytes_out_per_event);
  }
  return 0;
}

}  // namespace rtml::cli
