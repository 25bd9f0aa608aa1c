#!/usr/bin/env bash
# Refresh the hashed lock files from pyproject.toml:   bash scripts/lock.sh
# requirements/runtime.lock (the image and scripts/up.sh) and requirements/test.lock (scripts/test.sh).
# Pins already in a lock file are kept; only what pyproject.toml no longer allows moves, so a
# re-run without a dependency change is a no-op. `bash scripts/lock.sh --upgrade` takes the newest
# releases. The lock is universal (every OS and CPU, Python >= 3.11), resolved with uv from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
UV=${UV:-.venv/bin/uv}
if [ ! -x "$UV" ]; then
  UV=$(command -v uv || true)
  if [ -z "$UV" ]; then
    echo "error: uv not found; run bash scripts/test.sh once (it installs uv into .venv) or pip install uv" >&2
    exit 1
  fi
fi
compile() {  # compile OUTPUT [uv args...]
  local out=$1; shift
  timeout 300 "$UV" pip compile pyproject.toml --quiet --universal --python-version 3.11 \
    --generate-hashes --no-header --annotation-style line \
    "$@" -o "$out"
}
compile requirements/runtime.lock "$@"
compile requirements/test.lock --extra test "$@"
echo "lock files refreshed: requirements/runtime.lock requirements/test.lock"
