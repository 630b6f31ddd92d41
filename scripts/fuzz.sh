#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ with clang (ASan and UBSan) in build-fuzz/ and
# runs each for FUZZ_SECONDS (default 30) from its seed corpus in fuzz/corpus/. Fails on
# the first crash, hang or sanitizer report, leaving the input that caused it in
# build-fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh clang
seconds="${FUZZ_SECONDS:-30}"
targets=(csv jsonl expression run_config wal snapshot model pending serve)
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRTML_FUZZ=ON -DRTML_BUILD_TESTS=OFF -DRTML_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz --target "${targets[@]/#/fuzz_}"
mkdir -p build-fuzz/artifacts
for t in "${targets[@]}"; do
  work=$(mktemp -d)
  cp fuzz/corpus/"$t"/* "$work"/
  # The server's request handling (fuzz_serve) gets at least 60 s (issue 15).
  run_for=$seconds
  if [ "$t" = serve ] && [ "$run_for" -lt 60 ]; then run_for=60; fi
  echo "fuzz_$t: ${run_for} s"
  set +e
  build-fuzz/fuzz/fuzz_"$t" -max_total_time="$run_for" -max_len=65536 -timeout=10 \
    -artifact_prefix=build-fuzz/artifacts/"$t"- "$work" > build-fuzz/fuzz_"$t".log 2>&1
  status=$?
  set -e
  grep -E '^#[0-9]+.*DONE|ERROR|SUMMARY' build-fuzz/fuzz_"$t".log || true
  rm -rf "$work"
  if [ "$status" -ne 0 ]; then echo "fuzz_$t failed (status $status)"; exit 1; fi
done
echo "fuzz: ${#targets[@]} targets ran ${seconds} s each (serve at least 60 s) without a finding"
