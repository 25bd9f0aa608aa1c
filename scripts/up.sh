#!/usr/bin/env bash
# Install castwatch into the project virtualenv (.venv) and run the whole stack on this machine
# (see `castwatch up --help`). Without DATABASE_URL an embedded PostgreSQL is started in
# .castwatch/pg. CASTWATCH_SETUP_ONLY=1 stops after the install.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh

# The demo keeps history in an embedded VictoriaMetrics (Debian's victoria-metrics) when present:
# install it with apt when this user can (root or password-less sudo), else say how.
if [[ " $* " == *" --demo "* ]] && ! command -v victoria-metrics >/dev/null 2>&1 && command -v apt-get >/dev/null; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
  echo "== installing victoria-metrics (Debian) for the demo's time series"
  if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
         --no-install-recommends victoria-metrics >/dev/null; } 2>/dev/null; then
    echo "   not installed (needs root): sudo apt-get install victoria-metrics — the demo runs without history"
  fi
fi
castwatch_venv requirements/runtime.lock
[ "${CASTWATCH_SETUP_ONLY:-0}" = 1 ] && exit 0
exec "$CASTWATCH_VENV/bin/castwatch" up "$@"
