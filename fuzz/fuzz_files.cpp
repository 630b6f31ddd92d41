// libFuzzer targets over the readers of files and text from outside: the model
// expression parser, the run config, the WAL, a store snapshot, a saved model and a run
// checkpoint's pending predictions. Any bytes are read or
// refused with an Error, never a crash, a hang or a sanitizer report.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "rtml/core/error.h"
#include "rtml/features/aggregate_spec.h"
#include "rtml/learn/pipeline.h"
#include "rtml/learn/registry.h"
#include "rtml/runtime/checkpoint.h"
#include "rtml/runtime/run_config.h"
#include "rtml/runtime/store_aggregates.h"
#include "rtml/store/embedded_store.h"
#include "rtml/store/wal.h"

namespace {

// A folder of its own for this process, removed at exit (kept on the heap: exit
// handlers run after static strings are destroyed).
const std::string& scratch() {
  static const std::string* dir = [] {
    auto* d = new std::string(std::filesystem::temp_directory_path() /
                              ("rtml-fuzz-" + std::to_string(::getpid())));
    std::filesystem::create_directories(*d);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(*dir, ec);
    });
    return d;
  }();
  return *dir;
}

[[maybe_unused]] std::string write(const std::string& name, const uint8_t* data, size_t size) {
  std::string path = scratch() + "/" + name;
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
#if defined(RTML_FUZZ_EXPRESSION)
    std::string text(reinterpret_cast<const char*>(data), size);
    rtml::Pipeline p(text);
#elif defined(RTML_FUZZ_RUN_CONFIG)
    rtml::runtime::load_run_config(write("run.yaml", data, size));
#elif defined(RTML_FUZZ_MODEL)
    rtml::Pipeline::load(write("model.rtml", data, size));
#elif defined(RTML_FUZZ_WAL)
    std::string dir = scratch() + "/wal";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    std::ofstream(dir + "/wal-00000000000000000001.log", std::ios::binary)
        .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    for (auto mode : {rtml::store::WalScanMode::kStrict, rtml::store::WalScanMode::kSalvage}) {
      try {
        rtml::store::scan_wal(dir, 1, mode, [](const rtml::store::WalRecord&) {});
      } catch (const rtml::Error&) {
      }
    }
#elif defined(RTML_FUZZ_SNAPSHOT)
    // A store folder holding this snapshot and no log, opened as a reader would.
    std::string dir = scratch() + "/store";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    write("store/snapshot-00000000000000000100.snap", data, size);
    rtml::store::StoreOptions o;
    o.dir = dir;
    o.read_only = true;
    // The aggregates of examples/enriched-clicks.yaml, whose snapshot is the seed.
    o.computed = std::make_shared<rtml::runtime::StoreAggregates>(rtml::features::parse_aggregates(
        "user_views_10m = count(category) by user over 10m every 1m\n"
        "user_price_mean = mean(price) by user decay 10m\n",
        "fuzz"));
    auto s = rtml::store::EmbeddedStore::open(o);
    s->for_each([](const auto&, const auto&) {});
#elif defined(RTML_FUZZ_PENDING)
    // The pending predictions of a run checkpoint.
    rtml::runtime::Checkpoint c;
    c.pending = write("pending.bin", data, size);
    rtml::PredictionLog log({.max_entries = 1000, .ttl = 600});
    rtml::runtime::load_pending(c, log);
    log.expire(1e9);
#endif
  } catch (const rtml::Error&) {
    // Refused with a message: what bad input should get.
  }
  return 0;
}
