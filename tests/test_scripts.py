"""scripts/up.sh and scripts/test.sh install into a project virtualenv, so they work on
distribution Pythons that refuse system-wide pip installs (PEP 668)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEBIAN_PYTHON = Path("/usr/bin/python3")


def _externally_managed(python: Path) -> bool:
    stdlib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('stdlib'))"],
                            capture_output=True, text=True, timeout=30).stdout.strip()
    return bool(stdlib) and (Path(stdlib) / "EXTERNALLY-MANAGED").is_file()


def _fresh_clone(dest: Path) -> Path:
    """The repository's tracked files (as they are in the work tree), without .venv or caches."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True,
                           timeout=60).stdout.decode().split("\0")
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


@pytest.mark.slow
@pytest.mark.timeout(1800)  # two real installs from the lock files
@pytest.mark.skipif(not DEBIAN_PYTHON.exists() or not _externally_managed(DEBIAN_PYTHON),
                    reason="needs a distribution /usr/bin/python3 with the PEP 668 marker")
def test_both_scripts_install_into_a_venv_with_the_distribution_python(tmp_path):
    clone = _fresh_clone(tmp_path / "clone")
    env = dict(os.environ, CASTWATCH_PYTHON=str(DEBIAN_PYTHON), CASTWATCH_SETUP_ONLY="1",
               PIP_BREAK_SYSTEM_PACKAGES="0")
    env.pop("VIRTUAL_ENV", None)
    env.pop("CASTWATCH_VENV", None)
    # The system Python itself refuses: this is the error the scripts used to stop at.
    refused = subprocess.run([str(DEBIAN_PYTHON), "-m", "pip", "install", "--dry-run", "castwatch-nothing"],
                             capture_output=True, text=True, timeout=120, env=env)
    if "No module named pip" not in refused.stderr:
        assert "externally-managed-environment" in refused.stderr

    for script in ("scripts/up.sh", "scripts/test.sh"):
        out = subprocess.run(["bash", script], cwd=clone, capture_output=True, text=True, timeout=900,
                             env=env)
        assert out.returncode == 0, f"{script}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"

    venv_python = clone / ".venv" / "bin" / "python"
    base = subprocess.run([str(venv_python), "-c", "import sys; print(sys.base_prefix)"],
                          capture_output=True, text=True, timeout=30, check=True).stdout.strip()
    assert base == "/usr"  # the venv was made from the distribution Python, not this one
    for tool in ("castwatch", "pytest", "ruff"):
        assert (clone / ".venv" / "bin" / tool).exists(), tool
    out = subprocess.run([str(clone / ".venv" / "bin" / "castwatch"), "--help"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and "usage: castwatch" in out.stdout
    # castwatch runs from the clone (editable install), not from this checkout
    where = subprocess.run([str(venv_python), "-c", "import castwatch; print(castwatch.__file__)"],
                           capture_output=True, text=True, timeout=60, check=True).stdout.strip()
    assert where.startswith(str(clone))


def test_a_python_without_venv_gets_the_apt_get_hint(tmp_path):
    # A stand-in interpreter whose venv module is missing, as on Debian without python3-venv.
    fake = tmp_path / "python3"
    fake.write_text("#!/bin/sh\n"
                    "if [ \"$1\" = -m ] && [ \"$2\" = venv ]; then\n"
                    "  echo 'ensurepip is not available.' >&2\n"
                    "  exit 1\n"
                    "fi\n"
                    f"exec {sys.executable} \"$@\"\n")
    fake.chmod(0o755)
    clone = _fresh_clone(tmp_path / "clone")
    env = dict(os.environ, CASTWATCH_PYTHON=str(fake), CASTWATCH_SETUP_ONLY="1")
    out = subprocess.run(["bash", "scripts/up.sh"], cwd=clone, capture_output=True, text=True, timeout=120,
                         env=env)
    assert out.returncode == 1
    assert "apt-get install python3-venv" in out.stderr
    assert not (clone / ".venv").exists()


def test_the_lock_files_pin_every_dependency_with_hashes():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime, test = project["dependencies"], project["optional-dependencies"]["test"]
    for lock_name, deps in (("runtime.lock", runtime), ("test.lock", runtime + test)):
        lock = (ROOT / "requirements" / lock_name).read_text()
        pinned = {line.split("==")[0].split("[")[0].lower().replace("_", "-")
                  for line in lock.splitlines() if "==" in line and not line.startswith((" ", "#"))}
        wanted = {_name(dep) for dep in deps}
        assert wanted - pinned == set(), f"{lock_name} is stale: run bash scripts/lock.sh"
        assert "--hash=sha256:" in lock


def _name(requirement: str) -> str:
    import re

    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")

