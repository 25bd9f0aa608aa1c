"""``@api_route``: declare an endpoint once; auth, validation, serialization and docs follow.

Every JSON endpoint of the API (in any blueprint) is declared with :func:`api_route`::

    @api_route(bp, "/api/v1/channels/<int:channel_id>", ["PUT"], body=ChannelUpdate,
               response=ChannelOut, scope="write", errors=(404, 409))
    def update_channel(channel_id: int, body: ChannelUpdate) -> ChannelOut: ...

The wrapper, before the view runs: authenticates the caller and checks ``scope``
(``"read" < "write" < "admin"``; ``None`` = public), applies the rate limit, parses the query
string into the ``query`` model (passed as ``query=``) and the JSON body into the ``body`` model
(passed as ``body=``); any problem becomes a JSON error and the view never runs. After: the
view's return value (a pydantic model, a list of them, a dict/list, ``None`` for 204, or a
``(value, status)`` tuple, or a ready ``Response``) is serialized to JSON.

The declaration is stored on the view function as ``__api_operation__``; the OpenAPI document
(:mod:`castwatch.cms_api.openapi`) is built from the app's URL map and these records, so a
route declared this way is documented with no further work.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args, get_origin

from flask import Blueprint, Response, request
from pydantic import BaseModel, TypeAdapter, ValidationError

from castwatch.cms_api.errors import ApiError, validation_error

Scope = Literal["read", "write", "admin", "webhook"]
_ANY: TypeAdapter[Any] = TypeAdapter(Any)
View = Callable[..., Any]


@dataclass(frozen=True)
class Operation:
    """What the docs need to know about one endpoint (all its rules and methods)."""

    methods: tuple[str, ...]
    scope: Scope | None
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: Any
    status: int
    errors: tuple[int, ...]
    summary: str
    description: str
    tag: str
    body_required: bool = True
    adapter: TypeAdapter[Any] | None = field(default=None, compare=False)


def _doc_parts(view: View) -> tuple[str, str]:
    doc = inspect.getdoc(view) or view.__name__.replace("_", " ")
    doc = doc.replace("``", "`")
    first, _, rest = doc.partition("\n")
    return first.strip(), rest.strip()


def api_route(
    bp: Blueprint,
    rule: str | Sequence[str],
    methods: Sequence[str] = ("GET",),
    *,
    scope: Scope | None = "read",
    body: type[BaseModel] | None = None,
    body_required: bool = True,
    query: type[BaseModel] | None = None,
    response: Any = None,
    status: int = 200,
    errors: Sequence[int] = (),
    tag: str | None = None,
    summary: str | None = None,
) -> Callable[[View], View]:
    """Register ``view`` on ``bp`` at ``rule`` (one or several) for ``methods``; see module doc.

    ``response`` is a pydantic model class, a type such as ``list[Model]`` or ``dict[str, Any]``,
    or ``None`` (no body; use ``status=204``). ``errors`` lists the error statuses the view
    itself may answer (400/401/403/429 are documented automatically from ``body``/``scope``).
    """
    rules = [rule] if isinstance(rule, str) else list(rule)

    def decorate(view: View) -> View:
        first, rest = _doc_parts(view)
        op = Operation(
            methods=tuple(m.upper() for m in methods), scope=scope, body=body, query=query,
            response=response, status=status, errors=tuple(errors), summary=summary or first,
            description=rest, tag=tag or bp.name, body_required=body_required,
            adapter=TypeAdapter(response) if response is not None else None,
        )

        @functools.wraps(view)
        def wrapper(**kwargs: Any) -> Response:
            from castwatch.cms_api.context import guard  # late: context imports this module

            guard(scope)
            if query is not None:
                kwargs["query"] = parse_query(query)
            if body is not None:
                kwargs["body"] = parse_body(body, required=body_required)
            return to_response(view(**kwargs), op)

        wrapper.__api_operation__ = op  # type: ignore[attr-defined]
        for one in rules:
            bp.add_url_rule(one, view_func=wrapper, methods=list(op.methods))
        return wrapper

    return decorate


def operation_of(view: View) -> Operation | None:
    return getattr(view, "__api_operation__", None)


def _is_list(annotation: Any) -> bool:
    """Whether a field annotation is a list, possibly inside ``Optional``/``Annotated``."""
    if get_origin(annotation) is list:
        return True
    return any(_is_list(arg) for arg in get_args(annotation))


def parse_query(model: type[BaseModel]) -> BaseModel:
    """The query string as ``model``; repeated keys become lists only for list fields."""
    data: dict[str, Any] = {}
    for key in request.args:
        info = model.model_fields.get(key)
        values = request.args.getlist(key)
        data[key] = values if info is not None and _is_list(info.annotation) else values[-1]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, "query") from None


def parse_body(model: type[BaseModel], *, required: bool = True) -> BaseModel | None:
    """The JSON body as ``model``; 400 naming the field on any problem."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if required:
            raise ApiError(400, "missing_body", "a JSON object body is required")
        return model.model_validate({})
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        if errors and errors[0].get("type") in ("json_invalid", "model_type", "model_attributes_type"):
            raise ApiError(400, "invalid_json", "the body must be a JSON object") from None
        raise validation_error(exc) from None


def to_response(value: Any, op: Operation) -> Response:
    """Serialize a view's return value as described in the module doc."""
    if isinstance(value, Response):
        return value
    status = op.status
    if isinstance(value, tuple):
        value, status = value
    if value is None or status == 204:
        return Response(status=204)
    if op.adapter is not None and not isinstance(value, BaseModel):
        payload = op.adapter.dump_json(value)
    elif isinstance(value, BaseModel):
        payload = value.model_dump_json().encode()
    else:
        payload = _ANY.dump_json(value)
    return Response(payload, status=status, mimetype="application/json")
