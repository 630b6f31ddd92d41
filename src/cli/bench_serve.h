// rtml bench serve: rtml serve's speed over loopback, beside an echo server on Beast.
#pragma once

#include <cstddef>

namespace rtml::cli {

struct BenchServeOptions {
  size_t pipelined = 400000;     // predictions sent pipelined on one connection
  size_t request_reply = 20000;  // sequential requests, to each server
  size_t paced = 20000;          // predictions with a store lookup at 10,000/s
  size_t batches = 300;          // requests of 1,000 events
  int threads = 1;               // the servers' HTTP threads
  bool no_wrk = false;
  bool json = false;
};

// Runs an in-process rtml serve (one model, standard_scaler | logistic_regression,
// trained on 2,000 events; 1,000 users in its store) and an echo server on the same
// library, and measures: pipelined predictions per second on one connection,
// request-reply p50 over the echo server's, the p99 of a prediction with one store
// lookup paced at 10,000 requests/s, batch predictions (1,000 events a request) per
// second, and with Debian's wrk, 64 connections on predict, learn and echo. Prints a
// table (unless json) and, last, one JSON line. Returns the exit code.
int run_bench_serve(const BenchServeOptions& options);

}  // namespace rtml::cli
