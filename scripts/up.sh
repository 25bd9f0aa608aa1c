#!/usr/bin/env bash
# Install castwatch and run the whole stack on this machine (see `castwatch up --help`).
# Without DATABASE_URL an embedded PostgreSQL is started in .castwatch/pg.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q --disable-pip-version-check -e .
exec castwatch up "$@"
