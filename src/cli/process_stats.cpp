#include "process_stats.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

namespace rtml::cli {

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

bool stderr_is_terminal() { return ::isatty(2) == 1; }

std::string find_data_dir() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("RTML_DATA"); env && *env) return env;
  std::error_code ec;
  std::vector<fs::path> starts{fs::current_path(ec)};
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) starts.push_back(exe.parent_path());
  for (auto d : starts) {
    for (int up = 0; up < 6 && !d.empty(); ++up) {
      if (fs::is_directory(d / "shared" / "datasets", ec))
        return (d / "shared" / "datasets").string();
      if (d == d.parent_path()) break;
      d = d.parent_path();
    }
  }
  return {};
}

}  // namespace rtml::cli
