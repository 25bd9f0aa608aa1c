"""The docs document every environment variable the code reads (in a variable table of
docs/*.md, and in deploy/.env.example); the README keeps the two quick-start commands, and its
layout section matches the tree."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "services" / "castwatch"
ENV_CALL = re.compile(
    r"""env_(?:str|required|int|float|bool|choice|secret|bind)\(\s*env,\s*["']([A-Z0-9_]+)["']""")
#: a settings module's own helpers, e.g. ``positive("INCIDENTS_WINDOW_S", 60.0)``
HELPER_CALL = re.compile(r'\(\s*"([A-Z][A-Z0-9]*_[A-Z0-9_]+)"\s*,')


def _variables_read_by_the_code() -> set[str]:
    names: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        names.update(ENV_CALL.findall(path.read_text()))
    for path in [PACKAGE / "settings.py", PACKAGE / "common" / "env.py",
                 *PACKAGE.glob("*/settings.py")]:
        names.update(HELPER_CALL.findall(path.read_text()))
    return names


def _table_rows() -> str:
    """Every table row of docs/*.md (a variable counts as documented only in a table)."""
    return "\n".join(line for path in sorted((ROOT / "docs").glob("*.md"))
                     for line in path.read_text().splitlines() if line.startswith("|"))


def test_every_environment_variable_is_in_a_docs_table_and_the_env_example():
    variables = _variables_read_by_the_code()
    assert len(variables) > 20
    assert {"DATABASE_URL", "SCHEDULE_HORIZON_DAYS", "INCIDENTS_WINDOW_S"} <= variables
    rows = _table_rows()
    assert sorted(v for v in variables if f"`{v}`" not in rows) == []
    example = (ROOT / "deploy" / ".env.example").read_text()
    assert sorted(v for v in variables if not re.search(rf"^#? ?{v}=", example, re.M)) == []


def test_the_readme_claims_no_generator_that_does_not_exist():
    readme = (ROOT / "README.md").read_text()
    for script in re.findall(r"generated (?:from|by) `?([\w/.]+\.py)", readme):
        assert (ROOT / script).exists(), script
    assert "generated from docs" not in readme


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "bash scripts/test.sh" in readme
    assert "bash scripts/test.sh" in ci
    assert "bash scripts/up.sh --demo" in readme


def _layout_block() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Layout\n", 1)[1]
    return section.split("```", 2)[1].strip("\n").splitlines()


def test_the_readme_layout_matches_the_tree():
    lines = _layout_block()
    named: set[str] = set()
    for line in lines:
        indent = len(line) - len(line.lstrip())
        if indent >= 20:
            continue  # a continued description
        head = line.strip().split("  ")[0]
        for token in re.split(r"[ ,]+", head):
            if token:
                named.add(("services/castwatch/" if indent == 2 else "") + token.rstrip("/"))
    missing = sorted(n for n in named if not (ROOT / n).exists())
    assert missing == [], f"the layout names what the tree lacks: {missing}"
    packages = {f"services/castwatch/{p.name}" for p in PACKAGE.iterdir()
                if p.is_dir() and (p / "__init__.py").exists()}
    top = {p.name for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith(".")
           and p.name not in ("test-artifacts", "__pycache__")}  # git-ignored outputs
    unlisted = sorted((packages | {t for t in top if t != "services"}) - named)
    assert unlisted == [], f"the tree has what the layout does not name: {unlisted}"
