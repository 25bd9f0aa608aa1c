"""What the resource views share: :func:`crud_resource` (list, create, get, update, delete of one
table, used by every plain CRUD resource), and the helpers hand-written views use — lookups
that 404, reference and uniqueness checks, partial updates, pages and cached answers."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Blueprint, Response
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from castwatch.cms_api.context import api_context, db
from castwatch.cms_api.errors import ApiError, not_found
from castwatch.cms_api.registry import api_route
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


Validate = Callable[[dict[str, Any], Any], None]  # (values, existing row or None)


@dataclass(frozen=True)
class CrudNames:
    """How a resource's five views are named and documented (OpenAPI operation ids, summaries);
    defaults derive from ``what`` and ``tag``."""

    param: str = "item_id"
    views: Mapping[str, str] = field(default_factory=dict)  # list/create/get/update/delete → name
    docs: Mapping[str, str] = field(default_factory=dict)  # same keys → docstring
    errors: Mapping[str, tuple[int, ...]] = field(default_factory=dict)  # same keys → documented


def crud_resource(
    bp: Blueprint, path: str, model: type[Any], create: type[BaseModel], update: type[BaseModel],
    out: type[BaseModel], *, what: str, tag: str, unique: str | None = "name",
    validate: Validate | None = None, validate_merged: bool = True,
    on_create: Callable[[dict[str, Any]], None] | None = None, names: CrudNames | None = None,
    before_save: Validate | None = None, guard: Validate | None = None,
    before_delete: Callable[[Any], None] | None = None, list_options: tuple[Any, ...] = (),
) -> None:
    """Register list/create/get/update/delete views of ``model`` at ``path`` on ``bp``.

    ``unique`` names a column whose duplicates answer 409. ``validate(values, row)`` runs before
    every write (row None on create); on update it gets the row's values merged with the
    changes, or only the changes when ``validate_merged`` is false. ``on_create`` may add
    values (e.g. the author). ``before_save(values, row)`` may rewrite the values first (row None
    on create), e.g. nested resources that are not columns. Rows are read back after every write,
    so values written by triggers are returned. Delete is a hard delete.

    ``guard(values, row)`` runs first on create and update, before the uniqueness check (row
    None on create; on update ``values`` are only the changes): permission checks (403) go
    there, so a caller who may not write a field learns that before anything else. The order
    of every write is guard, uniqueness (409), ``before_save``, ``validate``, ``on_create``.
    ``before_save`` may also stage rows that are not columns of ``model`` (a nested collection)
    in the session; the view's commit covers them. ``before_delete(row)`` may refuse a delete
    (e.g. 409 while other rows use it). ``list_options`` are loader options of the list query
    (e.g. ``selectinload`` of a nested collection).
    """
    names = names or CrudNames()
    param = names.param
    item = f"{path}/<int:{param}>"
    name = tag.replace("-", "_")

    def list_view() -> list[Any]:
        stmt = select(model).options(*list_options).order_by(model.id)
        return [out.model_validate(r) for r in db().scalars(stmt)]

    def create_view(body: BaseModel) -> Any:
        values = body.model_dump()
        if guard:
            guard(values, None)
        if unique:
            check_unique(model, unique, values[unique], unique)
        if before_save:
            before_save(values, None)
        if validate:
            validate(values, None)
        if on_create:
            on_create(values)
        row = model(**values)
        session = db()
        session.add(row)
        session.commit()
        session.refresh(row)
        return out.model_validate(row)

    def get_view(**ids: int) -> Any:
        return out.model_validate(get_or_404(model, ids[param], what))

    def update_view(body: BaseModel, **ids: int) -> Any:
        row = get_or_404(model, ids[param], what)
        values = changes(body)
        if guard:
            guard(values, row)
        if unique and values.get(unique) not in (None, getattr(row, unique)):
            check_unique(model, unique, values[unique], unique, exclude_id=row.id)
        if before_save:
            before_save(values, row)
        if validate:
            merged = {c.key: getattr(row, c.key) for c in model.__table__.columns} | values
            validate(merged if validate_merged else values, row)
        apply(row, values)
        db().commit()
        db().refresh(row)
        return out.model_validate(row)

    def delete_view(**ids: int) -> None:
        session = db()
        row = get_or_404(model, ids[param], what)
        if before_delete:
            before_delete(row)
        session.delete(row)
        session.commit()

    views: list[tuple[str, Callable[..., Any], str, str, list[str], dict[str, Any]]] = [
        ("list", list_view, f"List {what}s.", path, ["GET"], {}),
        ("create", create_view, f"Create a {what}.\n\n{create.__doc__ or ''}", path, ["POST"],
         dict(body=create, status=201, scope="write", errors=(409,))),
        ("get", get_view, f"One {what}.", item, ["GET"], dict(errors=(404,))),
        ("update", update_view, f"Change the fields given of a {what}.", item, ["PUT"],
         dict(body=update, scope="write", errors=(404, 409))),
        ("delete", delete_view, f"Delete a {what}.", item, ["DELETE"],
         dict(status=204, scope="write", errors=(404,))),
    ]
    for key, view, doc, rule, methods, options in views:
        view.__name__ = view.__qualname__ = names.views.get(key, f"{key}_{name}")
        view.__doc__ = names.docs.get(key, doc)
        if key in names.errors:
            options = options | {"errors": names.errors[key]}
        response = None if key == "delete" else (list[out] if key == "list" else out)  # type: ignore[valid-type]
        api_route(bp, rule, methods, response=response, tag=tag, **options)(view)
