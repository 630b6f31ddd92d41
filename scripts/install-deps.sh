#!/usr/bin/env bash
# Installs everything rtml needs to build, test and benchmark on Debian 12.
# Idempotent: packages already present are left alone, and apt is not touched at all
# when nothing is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libgtest-dev libgmock-dev libbenchmark-dev
  libboost-dev libcli11-dev nlohmann-json3-dev libsimdjson-dev libyaml-cpp-dev libfmt-dev
  zlib1g-dev libxxhash-dev libzstd-dev libhiredis-dev redis-server redis-tools librdkafka-dev
  clang-format prometheus chromium wrk
  python3-dev pybind11-dev python3-pybind11 python3-pytest python3-numpy python3-pandas
)
# Node.js for the browser test (the machine's own, if it has one; else Debian's).
command -v node >/dev/null 2>&1 || packages+=(nodejs npm)

# Extra packages a caller needs (scripts/fuzz.sh: clang).
packages+=("$@")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# puppeteer-core for the live page's browser test, at the version the lock file pins.
page_tests="$(cd "$(dirname "$0")/.." && pwd)/tests/page"
if [ ! -d "$page_tests/node_modules/puppeteer-core" ]; then
  echo "install-deps: npm ci in tests/page (puppeteer-core)" >&2
  npm ci --prefix "$page_tests" --no-audit --no-fund --loglevel=error >/dev/null
fi
