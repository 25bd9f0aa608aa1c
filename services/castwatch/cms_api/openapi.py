"""The OpenAPI 3.1 document, built from the app's URL map and the ``@api_route`` declarations.

Nothing is written by hand per endpoint: paths and methods come from the URL rules, schemas
from the pydantic models, security from the declared scope. Built once per app (cached).
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from pydantic import BaseModel, TypeAdapter

from castwatch import __version__
from castwatch.cms_api.registry import Operation, operation_of

REF = "#/components/schemas/{model}"
_ARG = re.compile(r"<(?:(?P<conv>[a-z]+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_ERROR_TEXT = {
    400: "invalid input (the error names the field)", 401: "no valid API key",
    403: "the key's scope is too low", 404: "not found", 409: "conflict with stored data",
    429: "rate limited (see Retry-After)", 503: "the database is unavailable",
}

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["code", "message", "field"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                       "field": {"type": ["string", "null"]}},
    }},
}


class _Schemas:
    """Collects component schemas; models become ``$ref`` entries."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {"Error": ERROR_SCHEMA}

    def of(self, tp: Any, mode: str) -> dict[str, Any]:
        schema = TypeAdapter(tp).json_schema(ref_template=REF, mode=mode)  # type: ignore[arg-type]
        self.components.update(schema.pop("$defs", {}))
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            self.components[tp.__name__] = schema
            return {"$ref": REF.format(model=tp.__name__)}
        return schema


def _path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    params = []
    for match in _ARG.finditer(rule):
        conv = match.group("conv") or "string"
        schema: dict[str, Any] = {"type": "integer", "minimum": 0} if conv == "int" else {"type": "string"}
        params.append({"name": match.group("name"), "in": "path", "required": True, "schema": schema})
    return _ARG.sub(lambda m: "{" + m.group("name") + "}", rule), params


def _query_params(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF, mode="validation")
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        description = prop.pop("description", None)
        prop.pop("title", None)
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required,
                                 "schema": prop}
        if description:
            param["description"] = description
        params.append(param)
    return params


def _operation(op: Operation, method: str, path_params: list[dict[str, Any]], op_id: str,
               schemas: _Schemas) -> dict[str, Any]:
    out: dict[str, Any] = {"operationId": op_id, "summary": op.summary, "tags": [op.tag]}
    if op.description:
        out["description"] = op.description
    params = list(path_params)
    if op.query is not None:
        params += _query_params(op.query)
    if params:
        out["parameters"] = params
    if op.body is not None:
        out["requestBody"] = {"required": op.body_required, "content": {
            "application/json": {"schema": schemas.of(op.body, "validation")}}}
    responses: dict[str, Any] = {}
    if op.response is None or op.status == 204:
        responses[str(op.status)] = {"description": "done"}
    else:
        responses[str(op.status)] = {"description": "success", "content": {
            "application/json": {"schema": schemas.of(op.response, "serialization")}}}
    errors = set(op.errors)
    if op.body is not None or op.query is not None:
        errors.add(400)
    if op.scope is not None:
        errors |= {401, 403, 429}
        out["security"] = [{"bearerAuth": []}, {"apiKey": []}]
        out["x-scope"] = op.scope
    else:
        out["security"] = []
    for status in sorted(errors):
        responses[str(status)] = {"description": _ERROR_TEXT.get(status, "error"), "content": {
            "application/json": {"schema": {"$ref": REF.format(model="Error")}}}}
    out["responses"] = responses
    return out


def build_openapi(app: Flask) -> dict[str, Any]:
    """The OpenAPI document of every ``@api_route`` endpoint registered on ``app``."""
    schemas = _Schemas()
    paths: dict[str, dict[str, Any]] = {}
    seen: dict[str, int] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        op = operation_of(app.view_functions.get(rule.endpoint))  # type: ignore[arg-type]
        if op is None:
            continue
        path, path_params = _path(rule.rule)
        for method in op.methods:
            base = rule.endpoint.replace(".", "_")
            seen[base] = seen.get(base, 0) + 1
            op_id = base if seen[base] == 1 else f"{base}_{seen[base]}"
            paths.setdefault(path, {})[method.lower()] = _operation(op, method, path_params, op_id,
                                                                    schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": "castwatch CMS API", "version": __version__,
                 "description": "Channels, templates, encoders, alerts, people and maintenance "
                 "windows of castwatch. Authenticate with `Authorization: Bearer <key>` or "
                 "`X-API-Key: <key>`; keys come from `castwatch keys create`."},
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.components.items())),
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
        },
    }
