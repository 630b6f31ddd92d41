#include "rtml/runtime/checkpoint.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <sys/file.h>
#include <unistd.h>
#include <xxhash.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "rtml/core/error.h"
#include "rtml/core/file_io.h"

namespace rtml::runtime {
namespace fs = std::filesystem;
namespace {

constexpr int kManifestVersion = 1;
constexpr char kPendingMagic[8] = {'R', 'T', 'M', 'L', 'P', 'E', 'N', 'D'};
// 2: each entry keeps its record (the training log's event).
constexpr uint32_t kPendingVersion = 2;

std::string hex64(uint64_t v) { return fmt::format("{:016x}", v); }

std::string file_hash(const std::string& path) {
  std::string bytes = read_file(path);
  return hex64(XXH3_64bits(bytes.data(), bytes.size()));
}

// The ckpt-<n> folders of dir, by n.
std::vector<std::pair<uint64_t, fs::path>> checkpoint_folders(const std::string& dir) {
  std::vector<std::pair<uint64_t, fs::path>> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    if (name.rfind("ckpt-", 0) != 0 || name.size() != 25) continue;
    try {
      out.emplace_back(std::stoull(name.substr(5)), e.path());
    } catch (const std::exception&) {
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Hard-links from at to (same file system), else copies it; then fsyncs to.
void link_or_copy(const std::string& from, const std::string& to) {
  std::error_code ec;
  fs::create_hard_link(from, to, ec);
  if (ec) write_file_atomically(to, read_file(from));
}

}  // namespace

std::string config_text_hash(const std::string& text) {
  return hex64(XXH3_64bits(text.data(), text.size()));
}

Checkpointer::Checkpointer(std::string dir) : dir_(std::move(dir)) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec || !fs::is_directory(dir_)) {
    throw Error(dir_ + ": cannot create the checkpoint folder: " + ec.message());
  }
  const std::string lock = dir_ + "/LOCK";
  lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) throw Error(lock + ": cannot open: " + std::strerror(errno));
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(lock_fd_);
    throw Error(dir_ + ": another process is running with this checkpoint folder");
  }
}

Checkpointer::~Checkpointer() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

std::optional<Checkpoint> Checkpointer::last() const {
  return read_manifest(dir_ + "/manifest.json");
}

std::optional<Checkpoint> Checkpointer::held() const {
  return read_manifest(dir_ + "/manifest-held.json");
}

void Checkpointer::promote() {
  const std::string held = dir_ + "/manifest-held.json";
  if (!fs::exists(held)) return;
  fs::rename(held, dir_ + "/manifest.json");
  fsync_dir(dir_);
  remove_others();
}

void Checkpointer::drop_held() {
  const std::string held = dir_ + "/manifest-held.json";
  if (!fs::exists(held)) return;
  fs::remove(held);
  fsync_dir(dir_);
  remove_others();
}

void Checkpointer::remove_others() const {
  std::set<uint64_t> keep;
  for (const char* name : {"/manifest.json", "/manifest-held.json"}) {
    try {
      auto j = nlohmann::json::parse(read_file(dir_ + name));
      keep.insert(j.at("sequence").get<uint64_t>());
    } catch (const std::exception&) {
      // none, or unreadable: last() and held() say so when asked
    }
  }
  for (const auto& [n, path] : checkpoint_folders(dir_)) {
    if (!keep.count(n)) fs::remove_all(path);
  }
}

std::optional<Checkpoint> Checkpointer::read_manifest(const std::string& manifest) const {
  if (!fs::exists(manifest)) return std::nullopt;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(manifest));
    if (j.at("version").get<int>() != kManifestVersion) {
      throw Error("version " + j.at("version").dump() + ", this rtml reads version " +
                  std::to_string(kManifestVersion));
    }
    Checkpoint c;
    c.sequence = j.at("sequence").get<uint64_t>();
    c.config_hash = j.at("config").get<std::string>();
    const auto& p = j.at("position");
    c.position.events_read = p.at("events_read").get<uint64_t>();
    c.position.labels_read = p.at("labels_read").get<uint64_t>();
    c.position.predictions_bytes = p.at("predictions_bytes").get<uint64_t>();
    c.position.dead_letters_bytes = p.at("dead_letters_bytes").get<uint64_t>();
    c.position.training_segment = p.value("training_segment", uint64_t{0});
    c.position.training_bytes = p.value("training_bytes", uint64_t{0});
    c.position.events_line = p.value("events_line", uint64_t{0});
    c.position.labels_line = p.value("labels_line", uint64_t{0});
    c.position.events = p.at("events").get<uint64_t>();
    c.position.learned = p.at("learned").get<uint64_t>();
    c.position.dead_letters = p.at("dead_letters").get<uint64_t>();
    c.position.labels_refused = p.at("labels_refused").get<uint64_t>();
    const fs::path folder = fs::path(dir_) / fmt::format("ckpt-{:020}", c.sequence);
    for (const auto& [name, hash] : j.at("files").items()) {
      // A file name from the manifest is used only inside the checkpoint's folder.
      if (name.find('/') != std::string::npos || name == "." || name == "..") {
        throw Error("file name '" + name + "' outside the checkpoint's folder");
      }
      std::string path = (folder / name).string();
      if (!fs::exists(path)) throw Error(path + " is missing");
      if (file_hash(path) != hash.get<std::string>()) {
        throw Error(path + " does not match the checksum the manifest holds (damaged)");
      }
      if (name == "model.rtml") {
        c.model = path;
      } else if (name == "pending.bin") {
        c.pending = path;
      } else if (name == "stream-acks.txt") {
        c.stream_acks = path;
      } else if (name.rfind("snapshot-", 0) == 0) {
        c.store_snapshot = path;
      }
    }
    if (c.model.empty() || c.pending.empty())
      throw Error("the model or the pending log is missing");
    return c;
  } catch (const nlohmann::json::exception& e) {
    throw Error(manifest + ": not a checkpoint manifest: " + e.what() + " (remove " + dir_ +
                " to start the run over)");
  } catch (const Error& e) {
    throw Error(manifest + ": " + e.what() + " (remove " + dir_ + " to start the run over)");
  }
}

Checkpoint Checkpointer::write(const std::string& config_hash, const CheckpointPosition& position,
                               const Pipeline& pipeline, const PredictionLog& pending,
                               store::EmbeddedStore* store,
                               const std::vector<std::string>& stream_acks, bool hold) {
  if (sequence_ == 0) {
    if (auto c = last()) sequence_ = c->sequence;
    if (auto h = held()) sequence_ = std::max(sequence_, h->sequence);
  }
  Checkpoint c;
  c.sequence = sequence_ + 1;
  c.config_hash = config_hash;
  c.position = position;
  const fs::path folder = fs::path(dir_) / fmt::format("ckpt-{:020}", c.sequence);
  // Left by a run killed while writing it: never named by a manifest.
  fs::remove_all(folder);
  fs::create_directories(folder);
  c.model = (folder / "model.rtml").string();
  pipeline.save(c.model);
  c.pending = (folder / "pending.bin").string();
  BinaryWriter w;
  pending.save(w);
  w.write_file(c.pending, std::string_view(kPendingMagic, 8), kPendingVersion);
  if (store) {
    std::string snap = store->snapshot();
    c.store_snapshot = (folder / fs::path(snap).filename()).string();
    link_or_copy(snap, c.store_snapshot);
  }
  if (!stream_acks.empty()) {
    std::string text;
    for (const auto& id : stream_acks) (text += id) += '\n';
    c.stream_acks = (folder / "stream-acks.txt").string();
    write_file_atomically(c.stream_acks, text);
  }
  fsync_dir(folder.string());
  fsync_dir(dir_);

  nlohmann::ordered_json files;
  for (const std::string& path : {c.model, c.pending, c.store_snapshot, c.stream_acks}) {
    if (!path.empty()) files[fs::path(path).filename().string()] = file_hash(path);
  }
  nlohmann::ordered_json j = {{"version", kManifestVersion},
                              {"sequence", c.sequence},
                              {"config", config_hash},
                              {"position",
                               {{"events_read", position.events_read},
                                {"labels_read", position.labels_read},
                                {"predictions_bytes", position.predictions_bytes},
                                {"dead_letters_bytes", position.dead_letters_bytes},
                                {"training_segment", position.training_segment},
                                {"training_bytes", position.training_bytes},
                                {"events_line", position.events_line},
                                {"labels_line", position.labels_line},
                                {"events", position.events},
                                {"learned", position.learned},
                                {"dead_letters", position.dead_letters},
                                {"labels_refused", position.labels_refused}}},
                              {"files", files}};
  sequence_ = c.sequence;
  if (hold) {
    write_file_atomically(dir_ + "/manifest-held.json", j.dump(2) + "\n");
    remove_others();
    return c;
  }
  write_file_atomically(dir_ + "/manifest.json", j.dump(2) + "\n");
  // A held checkpoint is older than this one: it will never be promoted.
  std::error_code ec;
  fs::remove(dir_ + "/manifest-held.json", ec);
  remove_others();
  return c;
}

void load_pending(const Checkpoint& c, PredictionLog& log) {
  BinaryReader r =
      BinaryReader::open_file(c.pending, std::string_view(kPendingMagic, 8), kPendingVersion);
  if (r.version() < kPendingVersion) {
    throw Error(c.pending + ": written by an older rtml (format " + std::to_string(r.version()) +
                "); remove the checkpoint folder to start the run over");
  }
  log.load(r);
  if (!r.at_end()) r.fail("bytes after the log");
}

std::vector<std::string> load_stream_acks(const Checkpoint& c) {
  std::vector<std::string> ids;
  if (c.stream_acks.empty()) return ids;
  const std::string text = read_file(c.stream_acks);
  size_t at = 0;
  while (at < text.size()) {
    size_t nl = text.find('\n', at);
    if (nl == std::string::npos) throw Error(c.stream_acks + ": the last line is cut short");
    ids.push_back(text.substr(at, nl - at));
    at = nl + 1;
  }
  return ids;
}

}  // namespace rtml::runtime
