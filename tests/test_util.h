// Helpers shared by the tests: data location, temporary folders, running the CLI.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "rtml/core/random.h"
#include "rtml/store/wal.h"

namespace rtml::test {

// The shared data sets: $RTML_DATA, else ../shared/datasets beside the source tree.
inline std::string data_dir() {
  if (const char* env = std::getenv("RTML_DATA"); env && *env) return env;
  return std::string(RTML_SOURCE_DIR) + "/../shared/datasets";
}

inline bool have_data(const std::string& file) {
  return std::filesystem::exists(data_dir() + "/" + file);
}

#define RTML_REQUIRE_DATA(file)                                                         \
  do {                                                                                  \
    if (!::rtml::test::have_data(file)) GTEST_SKIP() << "data set not found: " << file; \
  } while (0)

// A fresh temporary folder, removed with everything in it at the end of the scope.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "rtml-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    // A store writer killed here left its WAL ring in /dev/shm, named after its
    // folder's inode: it goes with the folder.
    ::rtml::store::remove_wal_ring(path_);
    for (auto it = std::filesystem::recursive_directory_iterator(path_, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_directory(ec)) ::rtml::store::remove_wal_ring(it->path().string());
    }
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  std::string write(const std::string& name, const std::string& content) const {
    std::ofstream(file(name), std::ios::binary) << content;
    return file(name);
  }

 private:
  std::string path_;
};

// Writes a seeded CSV of n rows to path, for tests that need a data set but none of its
// figures: numeric columns x1..x4, a categorical column "colour" (red, green, blue), and
// the target "class": "UP" or "DOWN" from a noisy linear rule (with classes = 3, also
// "FLAT"), or, with classes = 0, a number "y". Returns path.
inline std::string synthetic_csv(const std::string& path, size_t n, int classes = 2,
                                 uint64_t seed = 1) {
  std::ofstream f(path);
  f << "x1,x2,x3,x4,colour," << (classes == 0 ? "y" : "class") << "\n";
  Random rng(seed);
  const char* colours[] = {"red", "green", "blue"};
  char line[256];
  for (size_t i = 0; i < n; ++i) {
    double x[4];
    for (double& v : x) v = rng.uniform();
    int colour = static_cast<int>(rng.uniform() * 3);
    double score = x[0] + 0.5 * x[1] - x[2] + 0.3 * colour + 0.3 * (rng.uniform() - 0.5);
    std::snprintf(line, sizeof(line), "%.6f,%.6f,%.6f,%.6f,%s,", x[0], x[1], x[2], x[3],
                  colours[colour]);
    f << line;
    if (classes == 0) {
      f << 10 * score + x[3] << "\n";
    } else if (classes == 3) {
      f << (score > 0.6 ? "UP" : score > 0.1 ? "FLAT" : "DOWN") << "\n";
    } else {
      f << (score > 0.35 ? "UP" : "DOWN") << "\n";
    }
  }
  return path;
}

struct CommandResult {
  int exit_code;
  std::string out;  // stdout and stderr, interleaved
};

// Runs a shell command and captures its output.
inline CommandResult run(const std::string& command) {
  std::string out;
  // In a subshell, so that a redirection inside command (2>/dev/null) wins over this one
  // (not a { } group: dash 0.5.12 drops the redirection of a ( ) inside one).
  FILE* p = ::popen(("( " + command + "\n) 2>&1").c_str(), "r");
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof(buf), p)) out.append(buf, n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// The whole content of a file ("" if it cannot be read).
inline std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), {});
}

inline std::string last_line(const std::string& s) {
  auto end = s.find_last_not_of('\n');
  if (end == std::string::npos) return "";
  auto start = s.find_last_of('\n', end);
  return s.substr(start == std::string::npos ? 0 : start + 1,
                  end - (start == std::string::npos ? 0 : start + 1) + 1);
}

// The kernel's transparent huge page mode: "always", "madvise" or "never".
inline std::string thp_mode() {
  std::ifstream f("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line;
  std::getline(f, line);
  auto open = line.find('['), close = line.find(']');
  return open == std::string::npos ? "" : line.substr(open + 1, close - open - 1);
}

// The THPeligible field of the mapping in /proc/self/smaps that holds address p, or -1.
inline int thp_eligible(const void* p) {
  auto at = reinterpret_cast<uintptr_t>(p);
  std::ifstream f("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(f, line)) {
    uintptr_t lo = 0, hi = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> lo >> dash >> hi && dash == '-') {
      inside = lo <= at && at < hi;
    } else if (inside && line.rfind("THPeligible:", 0) == 0) {
      return std::stoi(line.substr(12));
    }
  }
  return -1;
}

#ifdef RTML_BINARY
// Starts `rtml run config --quiet --json` in the background, its standard output into out
// and its standard error into err; returns its pid (-1 if it could not start).
inline pid_t spawn_rtml_run(const std::string& config, const std::string& out,
                            const std::string& err = "/dev/null") {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::string bin = RTML_BINARY;
  std::vector<std::string> args = {bin, "run", config, "--quiet", "--json"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, bin.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  return rc == 0 ? pid : -1;
}
#endif

}  // namespace rtml::test
