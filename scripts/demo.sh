#!/usr/bin/env bash
# Installs what is missing, builds rtml and runs the main job: the shop whose tastes
# change (rtml demo), a recommender that keeps learning against the same model frozen and
# a most-popular baseline. Extra arguments go to rtml demo (e.g. --seed 2, --json).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build >/dev/null
exec ./build/rtml demo --plot build/shop-demo.svg "$@"
