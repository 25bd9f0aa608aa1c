"""The InfluxDB schema: documented (docs/influx-schema.md) and as written by the code."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from _stack_support import REPO

Schema = dict[str, tuple[set[str], set[str]]]  # measurement → (tags, fields)


def documented_schema() -> Schema:
    """Parse the table of docs/influx-schema.md."""
    schema: Schema = {}
    for line in (REPO / "docs/influx-schema.md").read_text().splitlines():
        match = re.match(r"\|\s*`(\w+)`\s*\|\s*\w+\s*\|([^|]*)\|([^|]*)\|", line)
        if match:
            tags = {t.strip() for t in match.group(2).split(",") if t.strip()}
            fields = {f.strip() for f in match.group(3).split(",") if f.strip()}
            schema[match.group(1)] = (tags, fields)
    assert schema, "docs/influx-schema.md has no schema table"
    return schema


def _str_constants(tree: ast.Module) -> dict[str, str]:
    """Module-level ``NAME = "text"`` assignments, to resolve ``write(MEASUREMENT, …)``."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(
                node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = node.value.value
    return found


def _keys(node: ast.AST | None) -> set[str]:
    if isinstance(node, ast.Dict):
        return {k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
        return {k.arg for k in node.keywords if k.arg}
    return set()


def written_schema(packages: tuple[str, ...] = ("packager_monitor", "encoder_manager")) -> Schema:
    """Measurements, tags and fields of every ``<sink>.write("measurement", {tags}, {fields})``
    call with literal arguments in the writers' code."""
    schema: Schema = {}
    for package in packages:
        for path in sorted(Path(REPO / "services/castwatch" / package).rglob("*.py")):
            tree = ast.parse(path.read_text())
            names = _str_constants(tree)
            for node in ast.walk(tree):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr == "write" and node.args):
                    continue
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    measurement = first.value
                elif isinstance(first, ast.Name) and first.id in names:
                    measurement = names[first.id]
                else:
                    continue
                kwargs = {k.arg: k.value for k in node.keywords}
                tags = _keys(node.args[1] if len(node.args) > 1 else kwargs.get("tags"))
                fields = _keys(node.args[2] if len(node.args) > 2 else kwargs.get("fields"))
                known_tags, known_fields = schema.setdefault(measurement, (set(), set()))
                known_tags |= tags
                known_fields |= fields
    return schema
