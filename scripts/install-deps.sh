#!/usr/bin/env bash
# Installs everything rtml needs to build, test and benchmark on Debian 12.
# Idempotent: packages already present are left alone, and apt is not touched at all
# when nothing is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libgtest-dev libgmock-dev libbenchmark-dev
  libboost-dev libcli11-dev nlohmann-json3-dev libsimdjson-dev libyaml-cpp-dev libfmt-dev
  zlib1g-dev libxxhash-dev libzstd-dev libhiredis-dev redis-server
  clang-format prometheus
)

# Extra packages a caller needs (scripts/fuzz.sh: clang).
packages+=("$@")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
