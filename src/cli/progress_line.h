// ProgressLine: the live line rtml eval keeps on a terminal.
#pragma once

#include <chrono>
#include <cstdio>

#include "rtml/learn/progressive.h"

namespace rtml::cli {

// A live progress line on stderr: events, events/s and the main metric.
// Not thread-safe: the learning thread drives it.
class ProgressLine {
 public:
  using Clock = std::chrono::steady_clock;
  explicit ProgressLine(bool enabled) : enabled_(enabled), start_(Clock::now()), last_(start_) {}
  void tick(const ProgressiveValidation& pv) {
    if (!enabled_ || (pv.events() & 4095) != 0) return;
    auto now = Clock::now();
    if (now - last_ < std::chrono::milliseconds(250)) return;
    last_ = now;
    print(pv, now);
  }
  void done(const ProgressiveValidation& pv) {
    if (!enabled_) return;
    print(pv, Clock::now());
    std::fputc('\n', stderr);
  }

 private:
  void print(const ProgressiveValidation& pv, Clock::time_point now) {
    double s = std::chrono::duration<double>(now - start_).count();
    auto [name, value] = pv.headline();
    std::fprintf(stderr, "\r%12llu events  %10.0f events/s  %s %.4f   ",
                 static_cast<unsigned long long>(pv.events()), s > 0 ? pv.events() / s : 0.0,
                 name.c_str(), value);
    std::fflush(stderr);
  }
  bool enabled_;
  Clock::time_point start_, last_;
};

}  // namespace rtml::cli
