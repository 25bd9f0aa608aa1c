"""The README documents every environment variable the code reads, and the two commands."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV_CALL = re.compile(
    r"""env_(?:str|required|int|float|bool|choice|secret|bind)\(\s*env,\s*["']([A-Z0-9_]+)["']""")


def _variables_read_by_the_code() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "services" / "castwatch").rglob("*.py"):
        names.update(ENV_CALL.findall(path.read_text()))
    return names


def test_every_environment_variable_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    variables = _variables_read_by_the_code()
    assert len(variables) > 20
    missing = sorted(v for v in variables if f"`{v}`" not in readme)
    assert missing == []


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "bash scripts/test.sh" in readme
    assert "bash scripts/test.sh" in ci
    assert "bash scripts/up.sh --demo" in readme
