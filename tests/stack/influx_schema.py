"""The InfluxDB schema: documented (docs/influx-schema.md) and as written by the code."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
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


@dataclass
class _Package:
    """What literal dict keys a package's code gives names to."""

    tag_attrs: dict[str, set[str]] = field(default_factory=dict)  # ``self.tags = {…}``
    returns: dict[str, set[str]] = field(default_factory=dict)  # ``def f(): return {…}``
    variables: dict[str, list[ast.AST]] = field(default_factory=dict)  # ``tags = dict(…)``


def _literal_keys(node: ast.AST | None) -> set[str] | None:
    if isinstance(node, ast.Dict):
        return {k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}
    return None


def _index(trees: list[ast.Module]) -> _Package:
    package = _Package()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and (keys := _literal_keys(node.value)) is not None:
                for target in node.targets:
                    if isinstance(target, ast.Attribute):
                        package.tag_attrs.setdefault(target.attr, set()).update(keys)
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict | ast.Call):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        package.variables.setdefault(target.id, []).append(node.value)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for ret in ast.walk(node):
                    if isinstance(ret, ast.Return) and (keys := _literal_keys(ret.value)) is not None:
                        package.returns.setdefault(node.name, set()).update(keys)
    return package


def _keys(node: ast.AST | None, package: _Package) -> set[str]:
    """Keys of a literal dict, ``dict(self.tags, k=v)``, or a call to a function returning one."""
    if (keys := _literal_keys(node)) is not None:
        return keys
    if isinstance(node, ast.Name):
        return {k for value in package.variables.get(node.id, []) for k in _keys(value, package)}
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
        found = {k.arg for k in node.keywords if k.arg}
        for arg in node.args:
            if isinstance(arg, ast.Attribute):
                found |= package.tag_attrs.get(arg.attr, set())
            else:
                found |= _keys(arg, package)
        return found
    if isinstance(node, ast.Call):
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        return set(package.returns.get(name, set()))
    return set()


def written_schema(packages: tuple[str, ...] = ("packager_monitor", "encoder_manager")) -> Schema:
    """Measurements, tags and fields of every ``<sink>.write("measurement", tags, fields)`` call
    in the writers' code, where tags and fields are dict literals, ``dict(self.tags, k=v)`` or a
    call to a function that returns a dict literal."""
    schema: Schema = {}
    for package_name in packages:
        paths = sorted(Path(REPO / "services/castwatch" / package_name).rglob("*.py"))
        trees = [ast.parse(path.read_text()) for path in paths]
        package = _index(trees)
        for tree in trees:
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
                tags = _keys(node.args[1] if len(node.args) > 1 else kwargs.get("tags"), package)
                fields = _keys(node.args[2] if len(node.args) > 2 else kwargs.get("fields"), package)
                known_tags, known_fields = schema.setdefault(measurement, (set(), set()))
                known_tags |= tags
                known_fields |= fields
    return schema
