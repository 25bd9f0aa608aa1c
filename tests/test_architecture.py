"""Who may import whom (docs/architecture.md): ``common`` imports no area; areas import each other
only through the short, written allow-list below. Read from the source with ``ast`` (every
import, also those inside functions or ``TYPE_CHECKING``), so a new edge fails here first."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "services" / "castwatch"

#: The top of the package (the CLI, the composed settings, the all-in-one runner): may import
#: anything, and ``castwatch.settings`` is how every process's settings are passed in.
TOP = {"castwatch", "cli", "settings", "up", "supervisor", "check"}

#: area → the other areas it may import, and why. ``common`` and the top's ``settings`` and
#: ``__version__`` are open to every area; ``common`` itself may import only ``common``.
ALLOWED: dict[str, dict[str, str]] = {
    "cms_api": {
        "encoder_manager": "the API validates encoder outputs and credential refs as the manager does",
        "incidents": "the incident timeline view reads the incident store",
        "notifier": "the rule preview (route) runs the notifier's pure rules; recipient addresses "
                    "are checked by their transport",
        "schedules": "a schedule source's preview runs the importer without saving",
    },
    "incidents": {"schedules": "castwatch incidents also runs the schedule monitor"},
    "demo": {"cms_api": "the demo seeds an API key", "simulators": "the demo runs simulators",
             "supervisor": "the demo supervises its child processes"},
    "encoder_manager": {}, "notifier": {}, "packager_monitor": {}, "schedules": {},
    "simulators": {},
}


def _room(module: str) -> str:
    parts = module.split(".")
    return "castwatch" if len(parts) == 1 else parts[1]


def _imports() -> dict[str, set[tuple[str, str]]]:
    """room → {(imported room, importing file)} for every castwatch import across rooms."""
    edges: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        room = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                if name == "castwatch" or name.startswith("castwatch."):
                    target = _room(name)
                    if target != room:
                        edges[room].add((target, str(rel)))
    return edges


def test_common_imports_no_area_and_nothing_above_it():
    bad = sorted(f"{f} imports {t}" for t, f in _imports()["common"] if t not in ("castwatch",))
    assert bad == []


def test_areas_import_each_other_only_through_the_allow_list():
    rooms = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert rooms - {"common"} <= set(ALLOWED), "a new area needs its line in ALLOWED"
    bad = []
    for room, edges in _imports().items():
        if room in TOP or room == "common":
            continue
        for target, file in edges:
            if target in ("common", "castwatch", "settings") or target in ALLOWED[room]:
                continue
            bad.append(f"{file} imports {target}")
    assert sorted(bad) == []


def test_the_allow_list_has_no_stale_lines():
    """Every allowed edge is used: the list stays as short as the code lets it be."""
    used = {(room, target) for room, edges in _imports().items() for target, _ in edges}
    stale = [(room, target) for room, targets in ALLOWED.items() for target in targets
             if (room, target) not in used]
    assert stale == []


def test_the_vocab_and_env_modules_import_nothing_from_castwatch():
    for name in ("vocab.py", "env.py"):
        tree = ast.parse((PACKAGE / "common" / name).read_text())
        imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
        imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert not [m for m in imported if m.split(".")[0] == "castwatch"], name
