#include "rtml/runtime/training_log.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "rtml/core/error.h"
#include "rtml/core/file_io.h"

namespace rtml::runtime {
namespace fs = std::filesystem;
namespace {

std::string segment_name(uint64_t n) { return fmt::format("training-{:012}.jsonl", n); }

// The segment numbers in dir, ascending.
std::vector<uint64_t> segment_numbers(const std::string& dir) {
  std::vector<uint64_t> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    if (name.size() != 27 || name.rfind("training-", 0) != 0 || name.substr(21) != ".jsonl")
      continue;
    try {
      out.push_back(std::stoull(name.substr(9, 12)));
    } catch (const std::exception&) {
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The time of a record ("_time", the first key a record has), or NaN.
double record_time(std::string_view line) {
  constexpr std::string_view kKey = "{\"_time\":";
  if (line.rfind(kKey, 0) != 0) return NAN;
  return std::strtod(std::string(line.substr(kKey.size(), 32)).c_str(), nullptr);
}

}  // namespace

TrainingLog::TrainingLog(std::string dir, Limits limits) : dir_(std::move(dir)), limits_(limits) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) throw Error(dir_ + ": cannot create the training log's folder: " + ec.message());
  // What earlier runs left: counted, so that the bounds hold across runs.
  scan();
  if (segments_.empty()) {
    open_segment(1, true);
  } else {
    open_segment(segments_.back().number, false);
  }
}

TrainingLog::~TrainingLog() {
  if (fd_ >= 0) ::close(fd_);
}

void TrainingLog::open_segment(uint64_t n, bool truncate) {
  if (fd_ >= 0) ::close(fd_);
  const std::string path = dir_ + "/" + segment_name(n);
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0),
               0644);
  if (fd_ < 0) throw Error(path + ": cannot open: " + std::strerror(errno));
  off_t end = ::lseek(fd_, 0, SEEK_END);
  if (!truncate && end > 0) {
    // A record cut by a crash (no newline at the end) is cut off, so that the next one
    // does not run into it.
    std::string tail;
    {
      std::ifstream in(path, std::ios::binary);
      in.seekg(std::max<off_t>(0, end - 65536));
      tail.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    if (!tail.empty() && tail.back() != '\n') {
      size_t nl = tail.rfind('\n');
      off_t keep = nl == std::string::npos ? end - static_cast<off_t>(tail.size())
                                           : end - static_cast<off_t>(tail.size() - nl - 1);
      if (::ftruncate(fd_, std::max<off_t>(0, keep)) != 0) {
        throw Error(path + ": cannot cut its torn last record: " + std::strerror(errno));
      }
      end = std::max<off_t>(0, keep);
    }
  }
  segment_ = n;
  bytes_ = end > 0 ? static_cast<uint64_t>(end) : 0;
  if (segments_.empty() || segments_.back().number != n) {
    segments_.push_back({n, 0, INFINITY, -INFINITY});
  }
}

void TrainingLog::scan() {
  segments_.clear();
  for (uint64_t n : segment_numbers(dir_)) {
    Segment s{n, 0, INFINITY, -INFINITY};
    std::ifstream in(dir_ + "/" + segment_name(n), std::ios::binary);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line.back() != '}' || in.eof()) continue;
      ++s.records;
      double t = record_time(line);
      if (std::isfinite(t)) {
        s.first_time = std::min(s.first_time, t);
        s.last_time = std::max(s.last_time, t);
      }
    }
    segments_.push_back(s);
  }
}

void TrainingLog::append(std::string_view record) {
  double time = record_time(record);
  if (!std::isfinite(time)) time = segments_.back().last_time;
  Segment& s = segments_.back();
  // A segment holds a quarter of the bound, by count or by time.
  const uint64_t per_segment = limits_.keep ? std::max<uint64_t>(1, limits_.keep / 4) : 0;
  const bool full_by_count = per_segment && s.records >= per_segment;
  const bool full_by_time =
      std::isfinite(limits_.window) && s.records > 0 && time - s.first_time >= limits_.window / 4;
  if (full_by_count || full_by_time) open_segment(segment_ + 1, true);
  std::string line(record);
  line += '\n';
  write_all(fd_, line.data(), line.size(), dir_ + "/" + segment_name(segment_));
  bytes_ += line.size();
  Segment& now = segments_.back();
  ++now.records;
  now.first_time = std::min(now.first_time, time);
  now.last_time = std::max(now.last_time, time);
  prune();
}

void TrainingLog::prune() {
  // Whole segments leave, oldest first, while what remains still holds the bound.
  while (segments_.size() > 1) {
    const Segment& oldest = segments_.front();
    if (oldest.number >= pinned_) break;
    uint64_t rest = 0;
    for (size_t i = 1; i < segments_.size(); ++i) rest += segments_[i].records;
    const bool over_count = limits_.keep && rest >= limits_.keep;
    const bool over_time = std::isfinite(limits_.window) &&
                           segments_.back().last_time - oldest.last_time > limits_.window;
    if (!over_count && !over_time) break;
    std::error_code ec;
    fs::remove(dir_ + "/" + segment_name(oldest.number), ec);
    segments_.erase(segments_.begin());
  }
}

void TrainingLog::sync() {
  if (fd_ >= 0) ::fdatasync(fd_);
}

void TrainingLog::truncate_to(Position p) {
  // Segments after p's go; p's is cut to its size then.
  for (uint64_t n : segment_numbers(dir_)) {
    if (n > p.segment) fs::remove(dir_ + "/" + segment_name(n));
  }
  const std::string path = dir_ + "/" + segment_name(p.segment);
  if (!fs::exists(path)) {
    if (p.bytes == 0) {
      if (fd_ >= 0) ::close(fd_);
      fd_ = -1;
      scan();
      open_segment(p.segment, true);
      return;
    }
    throw Error(path + ": the checkpoint's training log segment is missing");
  }
  if (fs::file_size(path) < p.bytes) {
    throw Error(path + ": holds fewer bytes than the checkpoint recorded (" +
                std::to_string(p.bytes) + "): it was cut or replaced");
  }
  if (::truncate(path.c_str(), static_cast<off_t>(p.bytes)) != 0) {
    throw Error(path + ": cannot cut back to " + std::to_string(p.bytes) +
                " bytes: " + std::strerror(errno));
  }
  // Count again what is left.
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  scan();
  open_segment(p.segment, false);
}

void TrainingLog::read(const std::string& dir, const std::function<void(std::string_view)>& fn) {
  for (uint64_t n : segment_numbers(dir)) {
    std::ifstream in(dir + "/" + segment_name(n), std::ios::binary);
    std::string line;
    while (std::getline(in, line)) {
      // A line cut by a crash has no closing brace (nor newline): skipped.
      if (line.empty() || line.back() != '}' || in.eof()) continue;
      fn(line);
    }
  }
}

}  // namespace rtml::runtime
