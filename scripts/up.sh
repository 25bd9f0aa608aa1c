#!/usr/bin/env bash
# Install castwatch into the project virtualenv (.venv) and run the whole stack on this machine
# (see `castwatch up --help`). Without DATABASE_URL an embedded PostgreSQL is started in
# .castwatch/pg. CASTWATCH_SETUP_ONLY=1 stops after the install.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh

castwatch_venv requirements/runtime.lock
[ "${CASTWATCH_SETUP_ONLY:-0}" = 1 ] && exit 0
exec "$CASTWATCH_VENV/bin/castwatch" up "$@"
