"""The API's one error shape, ``{"error": {"code", "message", "field"}}``, and its handlers.

Views raise :class:`ApiError` (or let pydantic / SQLAlchemy errors escape); the handlers
registered by :func:`register_error_handlers` turn every failure into that JSON shape with the
right status, so no client ever sees an HTML error page or a stack trace from ``/api``.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, json, request
from pydantic import ValidationError
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

logger = logging.getLogger(__name__)

#: Paths whose errors are always JSON (the web console may render its own pages elsewhere).
JSON_PREFIXES = ("/api/", "/health", "/encoders/", "/metrics")


class ApiError(Exception):
    """A failure to report to the client: HTTP ``status``, machine ``code``, human ``message``."""

    def __init__(
        self, status: int, code: str, message: str, field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}


def not_found(what: str, ident: object) -> ApiError:
    return ApiError(404, "not_found", f"{what} {ident} does not exist")


def error_response(
    status: int, code: str, message: str, field: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = json.dumps({"error": {"code": code, "message": message, "field": field}})
    resp = Response(body, status=status, mimetype="application/json")
    for name, value in (headers or {}).items():
        resp.headers[name] = value
    return resp


def field_of(loc: tuple[Any, ...]) -> str | None:
    """A dotted field path from a pydantic error location (``renditions.0.bandwidth``)."""
    parts = [str(p) for p in loc if not (isinstance(p, str) and p.startswith(("function-", "json-")))]
    return ".".join(parts) or None


def validation_error(exc: ValidationError, where: str = "body") -> ApiError:
    """The first problem of a pydantic error as a 400 naming its field."""
    first = exc.errors(include_url=False)[0]
    field = field_of(tuple(first.get("loc", ())))
    if where == "query" and field:
        field = field.split(".")[0]  # a query parameter, not an index into its values
    kind = first.get("type", "invalid")
    if kind == "extra_forbidden":
        message = f"unknown field {field!r}"
        code = "unknown_field"
    elif kind == "missing":
        message = f"field {field!r} is required"
        code = "missing_field"
    else:
        message = f"{field or where}: {first.get('msg', 'invalid value')}"
        code = "invalid_value"
    return ApiError(400, code, message, field)


def _wants_json() -> bool:
    return request.path.startswith(JSON_PREFIXES)


def register_error_handlers(app: Flask) -> None:
    """Install the handlers turning every error into the JSON error shape."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.field, exc.headers)

    @app.errorhandler(ValidationError)
    def _validation(exc: ValidationError) -> Response:
        err = validation_error(exc)
        return error_response(err.status, err.code, err.message, err.field)

    @app.errorhandler(IntegrityError)
    def _integrity(exc: IntegrityError) -> Response:
        # A constraint the pre-checks did not see (a concurrent insert): a conflict, not a 500.
        diag = getattr(getattr(exc, "orig", None), "diag", None)
        constraint = getattr(diag, "constraint_name", None)
        logger.info("integrity error constraint=%s", constraint)
        return error_response(409, "conflict", f"the change conflicts with stored data ({constraint})")

    @app.errorhandler(DataError)
    def _data(exc: DataError) -> Response:
        logger.info("data error: %s", getattr(exc, "orig", exc))
        return error_response(400, "invalid_value", "a value is out of the range the database accepts")

    @app.errorhandler(OperationalError)
    def _db_down(exc: OperationalError) -> Response:
        logger.warning("database unavailable: %s", getattr(exc, "orig", exc))
        return error_response(503, "database_unavailable", "the database is unavailable",
                              headers={"Retry-After": "5"})

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response | HTTPException:
        if not _wants_json():
            return exc
        code = (exc.name or "error").lower().replace(" ", "_")
        resp = error_response(exc.code or 500, code, exc.description or exc.name)
        if exc.code == 405 and exc.response is None:
            allowed = getattr(exc, "valid_methods", None)
            if allowed:
                resp.headers["Allow"] = ", ".join(allowed)
        return resp

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        logger.exception("unhandled error path=%s", request.path)
        return error_response(500, "internal_error", "an unexpected error occurred")
