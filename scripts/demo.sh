#!/usr/bin/env bash
# Installs what is missing, builds rtml and runs the main job: progressive validation
# of logistic regression on Elec2 (or, without the data sets, on a drifting SEA stream).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build >/dev/null
data="${RTML_DATA:-../shared/datasets}/elec2.csv.gz"
if [ -f "$data" ]; then
  exec ./build/rtml eval --data "$data" --target class --window 1000 \
    --model "standard_scaler | logistic_regression(optimizer=sgd, lr=0.005)"
else
  echo "demo: $data not found; using the synthetic SEA stream instead" >&2
  exec ./build/rtml eval --data "synth:sea?n=1000000&seed=1" --target class --window 1000 \
    --model "standard_scaler | logistic_regression(optimizer=sgd, lr=0.005)"
fi
