#!/usr/bin/env bash
# Installs the Python module `rtml` into the system's Python, offline: what it needs
# (Debian's packages, through apt-get), a release build of the extension, then the
# package into the interpreter's folder for local packages (Debian:
# /usr/local/lib/python3.11/dist-packages). Safe to run twice.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target _rtml
cmake --install build --component python
site=$(/usr/bin/python3 -c 'import sysconfig; print(sysconfig.get_path("platlib"))')

# Another python3 ahead on PATH (a pyenv one) of the same ABI gets the package too, so
# that `python3 -c "import rtml"` works whichever python3 a shell finds.
other=$(command -v python3 || true)
if [ -n "$other" ] && [ "$(readlink -f "$other")" != "$(readlink -f /usr/bin/python3)" ]; then
  suffix='import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))'
  if [ "$("$other" -c "$suffix")" = "$(/usr/bin/python3 -c "$suffix")" ]; then
    other_site=$("$other" -c 'import sysconfig; print(sysconfig.get_path("platlib"))')
    if [ "$other_site" != "$site" ]; then
      rm -rf "$other_site/rtml"
      cp -r "$site/rtml" "$other_site/rtml"
    fi
  else
    echo "install-python: $other is another Python version; rtml is installed for /usr/bin/python3" >&2
  fi
fi
cd /
python3 -c 'import rtml; print("rtml", rtml.__version__, "installed in", rtml.__path__[0])'
