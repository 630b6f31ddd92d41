#!/usr/bin/env bash
# End-to-end speed against Vowpal Wabbit's published run (../shared/reference/peers.md):
# VW 9.11.2 learns logistic regression over Elec2 x20 (906,240 events) in 0.575 s wall
# and 1.10 CPU-seconds. This runs `rtml eval` over the same events as CSV, with
# scaler + logistic regression, several times, and prints the median wall and CPU
# time and their ratio to VW's figures (the goal is at most 0.5 of each).
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${RUNS:-7}"
data="${RTML_DATA:-../shared/datasets}/elec2.csv.gz"
[ -f build/rtml ] || { cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build build >/dev/null; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{ zcat "$data" | sed -n 1p; for _ in $(seq 20); do zcat "$data" | tail -n +2; done; } > "$tmp/elec2x20.csv"
echo "input: $(($(wc -l < "$tmp/elec2x20.csv") - 1)) events, $(du -m "$tmp/elec2x20.csv" | cut -f1) MB of CSV"
TIMEFORMAT='%R %U %S'
for _ in $(seq "$runs"); do
  { time ./build/rtml eval --quiet --json --data "$tmp/elec2x20.csv" --target class \
      --model "standard_scaler | logistic_regression(optimizer=sgd, lr=0.005)" >/dev/null; } 2>> "$tmp/times"
done
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
wall=$(awk '{ print $1 }' "$tmp/times" | median)
cpu=$(awk '{ print $2 + $3 }' "$tmp/times" | median)
awk -v w="$wall" -v c="$cpu" -v n="$runs" 'BEGIN {
  printf "rtml eval: median wall %.3f s, median CPU %.3f s over %d runs\n", w, c, n;
  printf "ratio to VW (0.575 s wall, 1.10 CPU-s): wall %.2f, CPU %.2f (goal <= 0.50)\n", w / 0.575, c / 1.10 }'
