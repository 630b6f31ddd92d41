// SIGINT and SIGTERM during rtml eval: reading stops, the events read are evaluated, the
// summary is printed (and --save honoured), and the exit status says which signal it was.
// A real child process reads a FIFO or a pipe that stays open, so it is waiting for
// input when the signal comes, as under a live stream.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "../test_util.h"

extern char** environ;

namespace rtml {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), {});
}

// Starts argv with stdin from stdin_fd (if >= 0) and stdout, stderr to files.
pid_t spawn(const std::vector<std::string>& argv, int stdin_fd, const std::string& out,
            const std::string& err) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (stdin_fd >= 0) posix_spawn_file_actions_adddup2(&actions, stdin_fd, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

// True when every thread of pid sleeps (waits for input, a lock or a condition).
bool all_threads_sleep(pid_t pid) {
  std::error_code ec;
  for (const auto& task :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::string stat = slurp(task.path().string() + "/stat");
    auto paren = stat.rfind(')');
    if (paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'S') {
      return false;
    }
  }
  return !ec;
}

// Waits until the child has read everything written to fd and sleeps, waiting for more.
bool wait_until_idle(pid_t pid, int fd) {
  int calm = 0;
  for (auto until = std::chrono::steady_clock::now() + 30s;
       std::chrono::steady_clock::now() < until;) {
    int unread = -1;
    ::ioctl(fd, FIONREAD, &unread);
    calm = unread == 0 && all_threads_sleep(pid) ? calm + 1 : 0;
    if (calm == 5) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

// The exit status of pid, or -1 (and the child killed) if it has not exited in time.
int wait_exit(pid_t pid) {
  for (auto until = std::chrono::steady_clock::now() + 30s;
       std::chrono::steady_clock::now() < until;) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(10ms);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return -1;
}

// Opens a FIFO for writing once its reader has, giving up after a while.
int open_fifo_writer(const std::string& path) {
  for (auto until = std::chrono::steady_clock::now() + 30s;
       std::chrono::steady_clock::now() < until;) {
    int fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
      return fd;
    }
    std::this_thread::sleep_for(10ms);
  }
  return -1;
}

void write_all(int fd, const std::string& s) {
  for (size_t done = 0; done < s.size();) {
    ssize_t w = ::write(fd, s.data() + done, s.size() - done);
    ASSERT_GT(w, 0);
    done += static_cast<size_t>(w);
  }
}

std::string rows(int n) {
  std::string s = "x,z,y\n";
  for (int i = 0; i < n; ++i) {
    s += std::to_string(i % 7) + "," + std::to_string((i * 13) % 5) + "," + (i % 3 ? "a" : "b") +
         "\n";
  }
  return s;
}

struct Case {
  const char* what;
  int signal;
  bool fifo;  // else a pipe on stdin
  int threads;
  int rows;  // past 10,000 the classes are decided and rows stream through
  bool json;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.what; }

class EvalInterrupt : public ::testing::TestWithParam<Case> {};

TEST_P(EvalInterrupt, StopsWithTheSummaryOfWhatItRead) {
  const Case& c = GetParam();
  test::TempDir dir;
  std::string fifo = dir.file("in.fifo");
  int write_fd = -1, read_fd = -1;
  if (c.fifo) {
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  } else {
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    read_fd = p[0];
    write_fd = p[1];
  }
  std::vector<std::string> argv = {RTML_BINARY,
                                   "eval",
                                   "--quiet",
                                   "--data",
                                   c.fifo ? fifo : "-",
                                   "--target",
                                   "y",
                                   "--model",
                                   "hoeffding_tree",
                                   "--threads",
                                   std::to_string(c.threads),
                                   "--save",
                                   dir.file("model.rtml")};
  if (c.json) argv.push_back("--json");
  pid_t pid = spawn(argv, read_fd, dir.file("out.txt"), dir.file("err.txt"));
  ASSERT_GT(pid, 0);
  if (read_fd >= 0) ::close(read_fd);
  if (c.fifo) write_fd = open_fifo_writer(fifo);
  ASSERT_GE(write_fd, 0) << slurp(dir.file("err.txt"));
  write_all(write_fd, rows(c.rows));
  // The writer stays open: the child waits for more when the signal comes.
  bool idle = wait_until_idle(pid, write_fd);
  ::kill(pid, c.signal);
  int status = wait_exit(pid);
  ::close(write_fd);
  ASSERT_TRUE(idle) << "the child never waited for input";
  std::string out = slurp(dir.file("out.txt")), err = slurp(dir.file("err.txt"));
  EXPECT_EQ(status, 128 + c.signal) << out << err;
  std::string name = c.signal == SIGINT ? "SIGINT" : "SIGTERM";
  EXPECT_NE(err.find("stopped by " + name + " after " + std::to_string(c.rows) + " events"),
            std::string::npos)
      << err;
  if (c.json) {
    std::string line = test::last_line(out);
    ASSERT_FALSE(line.empty()) << err;
    json j = json::parse(line);
    EXPECT_EQ(j["events"], c.rows);
    EXPECT_EQ(j["stopped_by"], name);
    // Binary metrics: the classes were decided from the rows held when the signal came.
    EXPECT_TRUE(j["metrics"].contains("roc_auc")) << line;
  } else {
    EXPECT_NE(out.find("events    " + std::to_string(c.rows) + " "), std::string::npos) << out;
    EXPECT_NE(out.find("stopped   by " + name), std::string::npos) << out;
  }
  EXPECT_EQ(slurp(dir.file("model.rtml")).substr(0, 8), "RTMLPIPE") << "--save was not honoured";
}

INSTANTIATE_TEST_SUITE_P(
    Signals, EvalInterrupt,
    ::testing::Values(Case{"SigintFifoTwoThreads", SIGINT, true, 2, 100, true},
                      Case{"SigtermStdinOneThread", SIGTERM, false, 1, 100, false},
                      Case{"SigintStdinPastTheLookahead", SIGINT, false, 2, 12000, true},
                      Case{"SigtermFifoPastTheLookahead", SIGTERM, true, 1, 12000, true}),
    [](const auto& info) { return std::string(info.param.what); });

}  // namespace
}  // namespace rtml
