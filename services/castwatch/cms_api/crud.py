"""Small helpers the resource views share: lookups that 404, reference checks, updates."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, TypeVar

from flask import Response
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from castwatch.cms_api.context import api_context, db
from castwatch.cms_api.errors import ApiError, not_found
from castwatch.cms_api.schemas.base import INT32_MAX

T = TypeVar("T")


def get_or_404(model: type[T], ident: int, what: str) -> T:
    """The row of ``model`` with primary key ``ident``, or a 404 naming ``what``.

    Ids outside PostgreSQL's integer range cannot exist and never reach the database.
    """
    if not 1 <= ident <= INT32_MAX:
        raise not_found(what, ident)
    row = db().get(model, ident)
    if row is None:
        raise not_found(what, ident)
    return row


def check_refs(model: type[Any], ids: Iterable[int | None], field: str) -> None:
    """400 naming ``field`` unless every non-null id exists in ``model``'s table."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return
    found = set(db().scalars(select(model.id).where(model.id.in_(wanted))))
    missing = sorted(wanted - found)
    if missing:
        raise ApiError(400, "unknown_reference",
                       f"{field}: no {model.__tablename__} row with id {missing[0]}", field)


def check_unique(model: type[Any], column: str, value: Any, field: str, *,
                 exclude_id: int | None = None) -> None:
    """409 naming ``field`` when another row already has ``value`` in ``column``."""
    stmt = select(model.id).where(getattr(model, column) == value)
    if exclude_id is not None:
        stmt = stmt.where(model.id != exclude_id)
    if db().scalars(stmt.limit(1)).first() is not None:
        raise ApiError(409, "duplicate", f"{field} {value!r} is already in use", field)


def changes(body: BaseModel, renames: Mapping[str, str] | None = None,
            skip: Iterable[str] = ()) -> dict[str, Any]:
    """The fields the client sent (``model_fields_set``) as ``{column: value}``."""
    renames = renames or {}
    skipped = set(skip)
    data = body.model_dump(include=body.model_fields_set)
    return {renames.get(k, k): v for k, v in data.items() if k not in skipped}


def apply(row: Any, values: Mapping[str, Any]) -> None:
    for key, value in values.items():
        setattr(row, key, value)


def paged(session: Session, stmt: Select[Any], limit: int, offset: int) -> tuple[list[Any], int]:
    """One page of ``stmt``'s entities and the total count, in one query (a window count).

    Only when the page is empty past the end is a second query needed for the total.
    """
    rows = session.execute(stmt.add_columns(func.count().over()).limit(limit).offset(offset)).all()
    if rows:
        return [r[0] for r in rows], int(rows[0][-1])
    if offset == 0:
        return [], 0
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    return [], int(total or 0)


def cached_json(key: Hashable, tables: tuple[str, ...], build: Callable[[], bytes]) -> Response:
    """A JSON response from the worker's cache, built by ``build()`` when absent or stale.

    ``tables`` are every table the answer is read from: a change to any of them (by any
    process) invalidates it. See :mod:`castwatch.cms_api.cache`.
    """
    cache = api_context().cache
    token = cache.versions.token(tables)  # before the query: a change during it makes it stale
    body = cache.get(key, token)
    if body is None:
        body = build()
        cache.put(key, token, body)
    return Response(body, mimetype="application/json")
