// rtml store: apply updates to an embedded feature store and dump it.
#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "rtml/core/error.h"
#include "rtml/runtime/store_aggregates.h"
#include "rtml/runtime/training_log.h"
#include "rtml/store/embedded_store.h"

namespace rtml::cli {
namespace {

using nlohmann::json;
using store::EntityKey;
using store::FeatureValue;

struct StoreOptionsCli {
  std::string dir;
  std::string fsync = "every=10ms";
  std::vector<std::string> ttl;  // group=seconds
  uint64_t snapshot_bytes = 256ull << 20;
  std::string aggregates;  // file of aggregate declarations
  bool report = false;
};

store::StoreOptions make_options(const StoreOptionsCli& o) {
  store::StoreOptions s;
  s.dir = o.dir;
  s.fsync = store::FsyncSetting::parse(o.fsync);
  s.snapshot_wal_bytes = o.snapshot_bytes;
  for (const auto& t : o.ttl) {
    auto eq = t.find('=');
    double secs = -1;
    if (eq != std::string::npos) {
      auto [p, ec] = std::from_chars(t.data() + eq + 1, t.data() + t.size(), secs);
      if (ec != std::errc() || p != t.data() + t.size()) secs = -1;
    }
    if (secs < 0) throw Error("--ttl expects GROUP=SECONDS, got '" + t + "'");
    s.group_ttl_seconds[t.substr(0, eq)] = static_cast<uint32_t>(secs);
  }
  if (!o.aggregates.empty()) {
    std::ifstream f(o.aggregates);
    if (!f) throw Error(o.aggregates + ": cannot open");
    std::string text((std::istreambuf_iterator<char>(f)), {});
    s.computed =
        std::make_shared<runtime::StoreAggregates>(features::parse_aggregates(text, o.aggregates));
  }
  return s;
}

void report_recovery(const store::EmbeddedStore& s) {
  const auto& r = s.recovery();
  for (const auto& w : r.warnings) std::fprintf(stderr, "rtml: store: %s\n", w.c_str());
  double per_entity = r.entities ? static_cast<double>(s.memory_bytes()) / r.entities : 0.0;
  std::fprintf(stderr,
               "rtml: store: recovered %llu entities in %.3f s (snapshot %s, %llu WAL records "
               "replayed, %llu of them from the killed writer's ring, %llu already in the "
               "snapshot); %.0f bytes of memory per entity\n",
               static_cast<unsigned long long>(r.entities), r.seconds,
               r.snapshot.empty() ? "none" : r.snapshot.c_str(),
               static_cast<unsigned long long>(r.replayed),
               static_cast<unsigned long long>(r.from_ring),
               static_cast<unsigned long long>(r.skipped), per_entity);
}

// Reads one JSON line into an update or an event; returns the reason it is bad, or "".
// The event's fields are views into j, which holds the parsed line.
std::string parse_update(const std::string& line, json& j, store::Update& u,
                         std::vector<EventField>& event, bool& is_event, std::string& id) {
  j = json::parse(line, nullptr, false);
  if (j.is_discarded()) return "not valid JSON";
  if (!j.is_object()) return "expected a JSON object";
  u = store::Update{};
  event.clear();
  is_event = false;
  id.clear();
  auto key = j.find("key");
  if (key == j.end()) return "missing \"key\"";
  if (key->is_string()) {
    u.key = EntityKey(key->get<std::string>());
  } else if (key->is_number_unsigned()) {
    u.key = EntityKey(key->get<uint64_t>());
  } else {
    return "\"key\" must be a string or a non-negative integer";
  }
  if (j.contains("event") && (j.contains("set") || j.contains("delete"))) {
    return "a line is an event or an update, not both";
  }
  if (auto t = j.find("time"); t != j.end()) {
    if (!t->is_number()) return "\"time\" must be a number of seconds";
    u.time = t->get<double>();
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& field = it.key();
    if (field == "key" || field == "time") continue;
    if (field == "id") {
      if (it->is_string()) {
        id = it->get<std::string>();
      } else if (it->is_number_integer()) {
        id = std::to_string(it->get<int64_t>());
      } else {
        return "\"id\" must be a string or an integer";
      }
      continue;
    }
    if (field == "set") {
      if (!it->is_object()) return "\"set\" must be an object of features";
      for (auto f = it->begin(); f != it->end(); ++f) {
        const json& v = f.value();
        if (v.is_number()) {
          u.set.emplace_back(f.key(), FeatureValue::of_number(v.get<double>()));
        } else if (v.is_string()) {
          u.set.emplace_back(f.key(), FeatureValue::of_category(v.get<std::string>()));
        } else if (v.is_array()) {
          std::vector<float> vec;
          for (const auto& x : v) {
            if (!x.is_number()) return "feature '" + f.key() + "': a vector holds numbers only";
            vec.push_back(x.get<float>());
          }
          u.set.emplace_back(f.key(), FeatureValue::of_vector(std::move(vec)));
        } else {
          return "feature '" + f.key() + "': expected a number, a string or an array of numbers";
        }
      }
    } else if (field == "delete") {
      if (!it->is_array()) return "\"delete\" must be an array of feature names";
      for (const auto& n : *it) {
        if (!n.is_string()) return "\"delete\" must be an array of feature names";
        u.del.push_back(n.get<std::string>());
      }
    } else if (field == "event") {
      if (!it->is_object()) return "\"event\" must be an object of fields";
      is_event = true;
      for (auto f = it->begin(); f != it->end(); ++f) {
        if (f->is_number()) {
          event.push_back(EventField::of_number(f.key(), f->get<double>()));
        } else if (f->is_string()) {
          event.push_back(EventField::of_text(f.key(), f->get_ref<const std::string&>()));
        } else if (f->is_boolean()) {
          event.push_back(EventField::of_text(f.key(), f->get<bool>() ? "true" : "false"));
        } else {
          return "event field '" + f.key() + "': expected a number or a string";
        }
      }
    } else {
      return "unknown field \"" + field + "\" (expected key, set, delete, event, id, time)";
    }
  }
  return {};
}

int run_apply(const StoreOptionsCli& o) {
  auto s = store::EmbeddedStore::open(make_options(o));
  report_recovery(*s);
  std::string line;
  uint64_t n = 0, errors = 0;
  store::Update u;
  json doc;
  std::vector<EventField> event;
  std::string id;
  while (std::getline(std::cin, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    bool is_event = false;
    std::string error = parse_update(line, doc, u, event, is_event, id);
    if (error.empty() && !is_event && !id.empty()) error = "\"id\" is for events";
    if (error.empty()) {
      error = (is_event ? s->apply_event(u.key, u.time, event, id) : s->apply(u)).why();
    }
    if (!error.empty()) {
      ++errors;
      std::fprintf(stderr, "error %llu: %s\n", static_cast<unsigned long long>(n), error.c_str());
      continue;
    }
    std::printf("ack %llu\n", static_cast<unsigned long long>(n));
    std::fflush(stdout);
  }
  return 0;
}

json value_json(const FeatureValue& v) {
  switch (v.type) {
    case store::FeatureType::kNumber:
      if (v.number == std::floor(v.number) && std::abs(v.number) < 9.007199254740992e15) {
        return static_cast<int64_t>(v.number);
      }
      return v.number;
    case store::FeatureType::kCategory:
      return v.text;
    case store::FeatureType::kVector:
      return v.vector;
  }
  return nullptr;
}

int run_dump(const StoreOptionsCli& o) {
  auto opts = make_options(o);
  opts.snapshot_wal_bytes = 0;
  opts.read_only = true;
  auto s = store::EmbeddedStore::open(opts);
  if (o.report) {
    report_recovery(*s);
  } else {
    // What recovery passed over is said whatever the flag: a torn tail, a snapshot not used.
    for (const auto& w : s->recovery().warnings)
      std::fprintf(stderr, "rtml: store: %s\n", w.c_str());
  }
  std::vector<std::pair<EntityKey, json>> rows;
  s->for_each(
      [&](const EntityKey& key, const std::vector<std::pair<std::string, FeatureValue>>& fs) {
        json features = json::object();
        for (const auto& [name, v] : fs) features[name] = value_json(v);
        rows.emplace_back(key, std::move(features));
      });
  for (const auto& [key, features] : rows) {
    nlohmann::ordered_json line;
    if (key.is_int()) {
      line["key"] = key.id();
    } else {
      line["key"] = key.text();
    }
    line["features"] = features;
    std::printf("%s\n", line.dump().c_str());
  }
  return 0;
}

int run_repair(const StoreOptionsCli& o) {
  auto opts = make_options(o);
  opts.snapshot_wal_bytes = 0;
  auto r = store::EmbeddedStore::repair(opts);
  if (!r.changed) {
    std::printf("%s: sound (%llu WAL records, %llu entities): nothing changed\n", o.dir.c_str(),
                static_cast<unsigned long long>(r.records),
                static_cast<unsigned long long>(r.entities));
    return 0;
  }
  for (const auto& d : r.dropped) std::printf("dropped: %s\n", d.c_str());
  std::printf("kept: %llu entities and %llu WAL records, in %s (through LSN %llu)\n",
              static_cast<unsigned long long>(r.entities),
              static_cast<unsigned long long>(r.records), r.snapshot.c_str(),
              static_cast<unsigned long long>(r.lsn));
  std::printf("moved to %s: ", r.lost_dir.c_str());
  for (size_t i = 0; i < r.moved.size(); ++i) {
    std::printf("%s%s", i ? ", " : "", r.moved[i].c_str());
  }
  std::printf("\n");
  return 0;
}

// rtml store export: the training log (DIR/training/) as JSON Lines, oldest first. Reads
// files only: works beside a running writer (a record being written is left out).
int run_export(const std::string& dir) {
  if (!std::filesystem::is_directory(dir)) throw Error(dir + ": no such store folder");
  uint64_t n = 0;
  runtime::TrainingLog::read(dir + "/training", [&](std::string_view line) {
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    ++n;
  });
  std::fflush(stdout);
  std::fprintf(stderr, "rtml store export: %llu records\n", static_cast<unsigned long long>(n));
  return 0;
}

}  // namespace

std::function<int()> add_store_command(CLI::App& app) {
  auto o = std::make_shared<StoreOptionsCli>();
  auto* cmd = app.add_subcommand(
      "store", "The embedded feature store: apply updates, dump the state, repair damage");
  cmd->require_subcommand(1);
  auto* apply = cmd->add_subcommand(
      "apply", "Apply JSON Lines updates from stdin; print 'ack N' once each is durable");
  auto* dump = cmd->add_subcommand(
      "dump", "Print the recovered state as JSON Lines, one entity per line, sorted by key");
  auto* repair = cmd->add_subcommand(
      "repair",
      "Salvage a store that will not open: keep every valid record, say what is dropped, "
      "move replaced files into DIR/lost/");
  for (auto* sub : {apply, dump, repair}) {
    sub->add_option("--dir", o->dir, "The store's folder (WAL and snapshots)")->required();
    sub->add_option("--aggregates", o->aggregates,
                    "File of aggregate declarations, one per line: clicks_1h = count(click) by "
                    "user over 1h every 1m");
    sub->add_option("--ttl", o->ttl,
                    "GROUP=SECONDS: values of features GROUP.* expire after that long")
        ->take_all();
  }
  apply->add_option("--fsync", o->fsync, "always, every=10ms or never");
  apply->add_option("--snapshot-every", o->snapshot_bytes,
                    "Snapshot after this many bytes of WAL (0: never; default 256 MiB)");
  dump->add_flag("--report", o->report, "Say on stderr what recovery found");
  auto* exp = cmd->add_subcommand(
      "export", "Print the training log (the events rtml run learned from) as JSON Lines");
  auto export_dir = std::make_shared<std::string>();
  exp->add_option("--dir", *export_dir, "The store's folder")->required();
  return [o, apply, repair, exp, export_dir] {
    if (exp->parsed()) return run_export(*export_dir);
    if (apply->parsed()) return run_apply(*o);
    return repair->parsed() ? run_repair(*o) : run_dump(*o);
  };
}

}  // namespace rtml::cli
