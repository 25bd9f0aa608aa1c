"""Encoders and encoder groups (CRUD), control commands and the newest metrics sample.

Both CRUD resources go through :func:`castwatch.cms_api.crud.crud_resource`; the encoders'
issue #11 rules are its hooks: ``guard`` (admin scope for the device fields, checked first)
and ``before_save`` (group reference, credentials binding, ``output`` validated and sealed).

Paths: ``/api/v1/encoders``, ``/api/v1/encoder-groups``, and the encoder seed's
``/encoders/{id}/control`` and ``/encoders/{id}/metrics`` (also under ``/api/v1``). Control
requests become ``encoder_commands`` rows that the group's active controller carries out.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from pydantic import Field
from sqlalchemy import or_, select

from castwatch.cms_api.context import api_context, db, principal
from castwatch.cms_api.crud import CrudNames, check_refs, crud_resource, get_or_404
from castwatch.cms_api.errors import ApiError
from castwatch.cms_api.registry import api_route
from castwatch.cms_api.schemas.base import Id, QueryModel
from castwatch.cms_api.schemas.encoders import (
    CommandOut,
    ControlRequest,
    EncoderCreate,
    EncoderMetricsOut,
    EncoderOut,
    EncoderUpdate,
    FailoverEventOut,
    GroupCreate,
    GroupOut,
    GroupUpdate,
)
from castwatch.common.models import Encoder, EncoderCommand, EncoderGroup, FailoverEvent
from castwatch.common.sealing import Sealer, SealingError, is_redacted
from castwatch.encoder_manager.credentials import check_ref
from castwatch.encoder_manager.validator import validate_driver_options, validate_output

bp = Blueprint("encoders", __name__)

ENCODER = "/api/v1/encoders/<int:encoder_id>"


def _check_output(output: dict[str, Any] | None) -> None:
    """400 naming ``output.<field>`` for the first problem the encoder manager finds."""
    if output is None:
        return
    problems = validate_output(output)
    if problems:
        first = problems[0]
        field = f"output.{first.field}" if first.field else "output"
        raise ApiError(400, "invalid_value", f"{field}: {first.message}", field)


def _check_driver_options(options: dict[str, Any] | None) -> None:
    """400 naming ``driver_options.<field>`` for what the encoder manager reads there
    (``capabilities``: a list of short strings)."""
    if options is None:
        return
    problems = validate_driver_options(options)
    if problems:
        first = problems[0]
        field = f"driver_options.{first.field}" if first.field else "driver_options"
        raise ApiError(400, "invalid_value", f"{field}: {first.message}", field)


#: Where a device's secret goes and how it is used: only an admin key may change these
DEVICE_FIELDS = ("address", "driver_kind", "driver_options", "credentials_ref")


def _require_admin_for_device_fields(changed: list[str]) -> None:
    """403 unless the caller is admin when ``changed`` touches what decides a secret's route."""
    device = [f for f in DEVICE_FIELDS if f in changed]
    if device and not principal().allows("admin"):
        raise ApiError(403, "forbidden", f"changing {', '.join(device)} needs the 'admin' scope; "
                       f"the key has {principal().scope!r}", device[0])


def _sealed_output(output: dict[str, Any], stored: dict[str, Any] | None = None) -> dict[str, Any]:
    """``output`` as stored: its clear ``stream_key`` sealed with ``CASTWATCH_SECRET_KEY``.

    The redacted value a client read back (``sk-…1234``) keeps the stored key. 400 when a stream
    key is sent and no ``CASTWATCH_SECRET_KEY`` is set: a clear key is never stored.
    """
    if output.get("stream_key") is None:
        return output
    secret = api_context().settings.secret_key
    if secret is None:
        raise ApiError(400, "invalid_value", "output.stream_key: stream keys are stored encrypted; "
                       "the operator must set CASTWATCH_SECRET_KEY", "output.stream_key")
    try:
        return Sealer(secret).seal_output(output, stored)
    except SealingError as exc:
        raise ApiError(400, "invalid_value", f"output.{exc}", "output.stream_key") from None


def _check_credentials(ref: str | None, address: str) -> None:
    """400 on a reference the encoder manager would refuse: malformed, outside the allowed
    variables or folder, or not bound by the operator to ``address`` (the secret is not read)."""
    if ref is None:
        return
    problem = check_ref(ref, api_context().settings.encoders, address=address)
    if problem:
        raise ApiError(400, "invalid_value", f"credentials_ref: {problem}", "credentials_ref")


def _guard_device_fields(values: dict[str, Any], encoder: Encoder | None) -> None:
    """403 unless admin when a write sets (create: ``credentials_ref``) or changes (update: any
    of :data:`DEVICE_FIELDS`) what decides a secret's route; runs before every other check."""
    if encoder is None:
        _require_admin_for_device_fields(
            ["credentials_ref"] if values.get("credentials_ref") is not None else [])
    else:
        _require_admin_for_device_fields(
            [k for k in DEVICE_FIELDS if k in values and values[k] != getattr(encoder, k)])


def _encoder_before_save(values: dict[str, Any], encoder: Encoder | None) -> None:
    """The group must exist, the credentials binding is checked again against the (new)
    address, ``driver_options.capabilities`` is checked, and a new ``output`` is validated and
    stored with its stream key sealed; a redacted key sent back (``sk-…1234``) keeps the stored one."""
    check_refs(EncoderGroup, [values.get("group_id")], "group_id")
    _check_driver_options(values.get("driver_options"))
    if encoder is None:
        _check_credentials(values.get("credentials_ref"), values["address"])
        _check_output(values["output"])
        values["output"] = _sealed_output(values["output"])
        return
    if "credentials_ref" in values or "address" in values:
        _check_credentials(values.get("credentials_ref", encoder.credentials_ref),
                           values.get("address", encoder.address))
    if values.get("output") is not None:
        output = values["output"]
        stored = dict(encoder.output or {})
        keep = is_redacted(output.get("stream_key")) and stored.get("stream_key") is not None
        # a redacted key sent back stands for the stored one: validate the rest around it
        _check_output({k: v for k, v in output.items() if not (keep and k == "stream_key")}
                      | ({"stream_key": "kept"} if keep else {}))
        values["output"] = _sealed_output(output, stored)


crud_resource(
    bp, "/api/v1/encoders", Encoder, EncoderCreate, EncoderUpdate, EncoderOut,
    what="encoder", tag="encoders", guard=_guard_device_fields, before_save=_encoder_before_save,
    names=CrudNames(
        param="encoder_id",
        views={"list": "list_encoders", "create": "create_encoder", "get": "get_encoder",
               "update": "update_encoder", "delete": "delete_encoder"},
        docs={"list": "All encoders with their state and newest sample.",
              "create": "Create an encoder; its ``output`` configuration is validated first.\n\n"
                        "A ``credentials_ref`` needs the admin scope and must be bound by the "
                        "operator to ``address``\n(``ENCODERS_CREDENTIALS_BINDINGS``); see "
                        "docs/security.md.",
              "get": "One encoder.",
              "update": "Change the fields given; a new ``output`` is validated first.\n\n"
                        "Changing ``address``, ``driver_kind``, ``driver_options`` or "
                        "``credentials_ref`` needs the\nadmin scope, and the (new) secret must be "
                        "bound to the (new) address.",
              "delete": "Delete an encoder (its pending commands go with it; failover history "
                        "keeps a null)."}))


@api_route(bp, [f"{ENCODER}/control", "/encoders/<int:encoder_id>/control"], ["POST"],
           body=ControlRequest, response=CommandOut, status=202, scope="write", errors=(404,),
           tag="encoders")
def control_encoder(encoder_id: int, body: ControlRequest) -> CommandOut:
    """Ask for start, stop, failover, failback, restart, record_start or record_stop; answers 202
    with the queued command (``record_*`` act on the device's local recording).

    The encoder manager's active controller for the encoder's group carries the command out and
    records the outcome on the command row (``status``, ``result``) and in the alert history.
    """
    encoder = get_or_404(Encoder, encoder_id, "encoder")
    command = EncoderCommand(encoder_id=encoder.id, action=body.action, params=body.params,
                             requested_by=principal().name)
    session = db()
    session.add(command)
    session.commit()
    return CommandOut.model_validate(command)


@api_route(bp, f"{ENCODER}/commands", response=list[CommandOut], errors=(404,), tag="encoders")
def list_commands(encoder_id: int) -> list[CommandOut]:
    """The newest 100 control commands of an encoder and how they ended."""
    get_or_404(Encoder, encoder_id, "encoder")
    rows = db().scalars(select(EncoderCommand).where(EncoderCommand.encoder_id == encoder_id)
                        .order_by(EncoderCommand.id.desc()).limit(100))
    return [CommandOut.model_validate(c) for c in rows]


@api_route(bp, [f"{ENCODER}/metrics", "/encoders/<int:encoder_id>/metrics"],
           response=EncoderMetricsOut, errors=(404,), tag="encoders")
def encoder_metrics(encoder_id: int) -> EncoderMetricsOut:
    """The newest health sample of an encoder (temperature, CPU, bitrate, dropped frames…)."""
    encoder = get_or_404(Encoder, encoder_id, "encoder")
    return EncoderMetricsOut(encoder_id=encoder.id, name=encoder.name, state=encoder.state,
                             reachable=encoder.reachable, last_seen_at=encoder.last_seen_at,
                             sample=encoder.last_sample or {})


crud_resource(
    bp, "/api/v1/encoder-groups", EncoderGroup, GroupCreate, GroupUpdate, GroupOut,
    what="encoder group", tag="encoder-groups", names=CrudNames(
        param="group_id",
        views={"list": "list_groups", "create": "create_group", "get": "get_group",
               "update": "update_group", "delete": "delete_group"},
        docs={"list": "All encoder groups with their failover policy and active encoder.",
              "create": "Create an encoder group with its failover policy.",
              "get": "One encoder group.", "update": "Change the fields given.",
              "delete": "Delete a group; its encoders and channels stay, unlinked; its failover "
                        "history goes."}))


class FailoverQuery(QueryModel):
    group: Id | None = Field(None, description="only this encoder group")
    encoder: Id | None = Field(None, description="only switches from or to this encoder")
    limit: int = Field(50, ge=1, le=1000, description="at most this many, newest first")


@api_route(bp, "/api/v1/failover-events", query=FailoverQuery, response=list[FailoverEventOut],
           tag="encoder-groups")
def list_failover_events(query: FailoverQuery) -> list[FailoverEventOut]:
    """Failover history (``failover_events``), newest first: automatic, manual and failbacks."""
    stmt = select(FailoverEvent).order_by(FailoverEvent.created_at.desc(), FailoverEvent.id.desc())
    if query.group is not None:
        stmt = stmt.where(FailoverEvent.group_id == query.group)
    if query.encoder is not None:
        stmt = stmt.where(or_(FailoverEvent.from_encoder_id == query.encoder,
                              FailoverEvent.to_encoder_id == query.encoder))
    return [FailoverEventOut.model_validate(f) for f in db().scalars(stmt.limit(query.limit))]
