#include "stop_signals.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "rtml/core/error.h"

namespace rtml::cli {
namespace {

// Shared with the handler, hence globals. std::atomic<int> is lock-free, so storing to it
// is async-signal-safe.
std::atomic<int> g_signal{0};
int g_pipe[2] = {-1, -1};
struct sigaction g_previous_int, g_previous_term;
bool g_installed = false;

extern "C" void on_stop_signal(int sig) {
  int saved = errno;
  int none = 0;
  g_signal.compare_exchange_strong(none, sig);
  char byte = 1;
  // A full pipe already wakes its readers: nothing to do if the write fails.
  [[maybe_unused]] ssize_t w = ::write(g_pipe[1], &byte, 1);
  errno = saved;
}

}  // namespace

StopSignals::StopSignals() {
  if (g_installed) throw Error("StopSignals: already installed");
  // The pipe lives as long as the process: a handler still running on another thread as
  // an instance dies must never write to a closed descriptor whose number was reused.
  if (g_pipe[0] < 0 && ::pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    throw Error(std::string("cannot create the stop pipe: ") + std::strerror(errno));
  }
  char drain[64];
  while (::read(g_pipe[0], drain, sizeof(drain)) > 0) {
  }
  g_signal.store(0);
  struct sigaction sa;
  std::memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND;  // no SA_RESTART: blocking calls return EINTR
  ::sigaction(SIGINT, &sa, &g_previous_int);
  ::sigaction(SIGTERM, &sa, &g_previous_term);
  g_installed = true;
}

StopSignals::~StopSignals() {
  ::sigaction(SIGINT, &g_previous_int, nullptr);
  ::sigaction(SIGTERM, &g_previous_term, nullptr);
  g_installed = false;
}

int StopSignals::received() const { return g_signal.load(std::memory_order_relaxed); }

int StopSignals::fd() const { return g_pipe[0]; }

const char* StopSignals::name(int signal) {
  return signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : "a signal";
}

}  // namespace rtml::cli
