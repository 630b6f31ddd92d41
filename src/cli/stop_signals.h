// StopSignals: SIGINT and SIGTERM as a request to stop, for a command that should end
// with a summary of what it did rather than die.
#pragma once

namespace rtml::cli {

// While an instance lives, SIGINT and SIGTERM do not end the process: the handler (no
// work but an atomic store and a one-byte write, both async-signal-safe) records the
// signal and makes fd() readable. A loop checks received() between events; a blocking
// read watches fd() (DecodeOptions::stop_fd) and stops. The handlers are installed with
// SA_RESETHAND, so a second signal ends the process as usual, and without SA_RESTART, so
// a blocking call returns EINTR. The destructor restores the previous handlers.
// One instance at a time per process; received() and fd() are thread-safe.
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // The first signal received (SIGINT or SIGTERM), or 0.
  int received() const;
  // Readable once a signal was received; never drained, so it stays readable.
  int fd() const;
  // The exit status for a process stopped by signal: 128 + its number (130, 143).
  static int exit_code(int signal) { return 128 + signal; }
  // "SIGINT" or "SIGTERM".
  static const char* name(int signal);
};

}  // namespace rtml::cli
