# shellcheck shell=bash
# Sourced by scripts/up.sh and scripts/test.sh: the project virtualenv.
#
# Distribution Pythons (Debian 12, Ubuntu 24.04) refuse `pip install` into the system Python
# (PEP 668, "externally-managed-environment"), so castwatch always installs into its own
# virtualenv, .venv/ at the repository root, from the hashed lock files in requirements/
# (refresh them with `bash scripts/lock.sh`).
#
#   CASTWATCH_PYTHON   the interpreter that creates .venv (default: python3 on PATH)
#   CASTWATCH_VENV     where the virtualenv lives (default: .venv)

CASTWATCH_PYTHON=${CASTWATCH_PYTHON:-python3}
CASTWATCH_VENV=${CASTWATCH_VENV:-.venv}

# castwatch_venv LOCKFILE: create .venv when needed, install LOCKFILE (hashes required) and
# castwatch itself (editable, no dependencies of its own: the lock file holds them all).
castwatch_venv() {
  local lock=$1 py=$CASTWATCH_VENV/bin/python
  if ! "$py" -m pip --version >/dev/null 2>&1; then
    if ! command -v "$CASTWATCH_PYTHON" >/dev/null 2>&1; then
      echo "error: $CASTWATCH_PYTHON not found; castwatch needs Python >= 3.11 (set CASTWATCH_PYTHON)." >&2
      exit 1
    fi
    if ! "$CASTWATCH_PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
      echo "error: castwatch needs Python >= 3.11; $CASTWATCH_PYTHON is $("$CASTWATCH_PYTHON" -V 2>&1)." >&2
      exit 1
    fi
    echo "== creating the project virtualenv $CASTWATCH_VENV with $("$CASTWATCH_PYTHON" -V 2>&1)"
    rm -rf "$CASTWATCH_VENV"
    if ! "$CASTWATCH_PYTHON" -m venv "$CASTWATCH_VENV" >/tmp/castwatch-venv.$$.log 2>&1; then
      rm -rf "$CASTWATCH_VENV"
      echo "error: $CASTWATCH_PYTHON cannot create a virtualenv (its venv/ensurepip module is missing)." >&2
      echo "       On Debian or Ubuntu install it with:  sudo apt-get install python3-venv" >&2
      rm -f /tmp/castwatch-venv.$$.log
      exit 1
    fi
    rm -f /tmp/castwatch-venv.$$.log
  fi
  "$py" -m pip install -q --disable-pip-version-check --require-hashes -r "$lock"
  "$py" -m pip install -q --disable-pip-version-check --no-deps -e .
}
