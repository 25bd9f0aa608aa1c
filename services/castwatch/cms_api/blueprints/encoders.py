"""Encoders and encoder groups (CRUD), control commands and the newest metrics sample.

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
from castwatch.cms_api.crud import apply, changes, check_refs, check_unique, get_or_404
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
from castwatch.encoder_manager.credentials import check_ref
from castwatch.encoder_manager.validator import validate_output

bp = Blueprint("encoders", __name__)

ENCODER = "/api/v1/encoders/<int:encoder_id>"
GROUP = "/api/v1/encoder-groups/<int:group_id>"


def _check_output(output: dict[str, Any] | None) -> None:
    """400 naming ``output.<field>`` for the first problem the encoder manager finds."""
    if output is None:
        return
    problems = validate_output(output)
    if problems:
        first = problems[0]
        field = f"output.{first.field}" if first.field else "output"
        raise ApiError(400, "invalid_value", f"{field}: {first.message}", field)


def _check_credentials(ref: str | None) -> None:
    """400 on a reference the encoder manager would refuse (it must not leak other secrets)."""
    if ref is None:
        return
    problem = check_ref(ref, api_context().settings.encoders)
    if problem:
        raise ApiError(400, "invalid_value", f"credentials_ref: {problem}", "credentials_ref")


@api_route(bp, "/api/v1/encoders", response=list[EncoderOut], tag="encoders")
def list_encoders() -> list[EncoderOut]:
    """All encoders with their state and newest sample."""
    rows = db().scalars(select(Encoder).order_by(Encoder.id))
    return [EncoderOut.model_validate(e) for e in rows]


@api_route(bp, "/api/v1/encoders", ["POST"], body=EncoderCreate, response=EncoderOut, status=201,
           scope="write", errors=(409,), tag="encoders")
def create_encoder(body: EncoderCreate) -> EncoderOut:
    """Create an encoder; its ``output`` configuration is validated first."""
    check_unique(Encoder, "name", body.name, "name")
    check_refs(EncoderGroup, [body.group_id], "group_id")
    _check_credentials(body.credentials_ref)
    _check_output(body.output)
    encoder = Encoder(**body.model_dump())
    session = db()
    session.add(encoder)
    session.commit()
    return EncoderOut.model_validate(encoder)


@api_route(bp, ENCODER, response=EncoderOut, errors=(404,), tag="encoders")
def get_encoder(encoder_id: int) -> EncoderOut:
    """One encoder."""
    return EncoderOut.model_validate(get_or_404(Encoder, encoder_id, "encoder"))


@api_route(bp, ENCODER, ["PUT"], body=EncoderUpdate, response=EncoderOut, scope="write",
           errors=(404, 409), tag="encoders")
def update_encoder(encoder_id: int, body: EncoderUpdate) -> EncoderOut:
    """Change the fields given; a new ``output`` is validated first."""
    encoder = get_or_404(Encoder, encoder_id, "encoder")
    if body.name is not None and body.name != encoder.name:
        check_unique(Encoder, "name", body.name, "name", exclude_id=encoder.id)
    check_refs(EncoderGroup, [body.group_id], "group_id")
    _check_credentials(body.credentials_ref)
    _check_output(body.output)
    apply(encoder, changes(body))
    db().commit()
    return EncoderOut.model_validate(encoder)


@api_route(bp, ENCODER, ["DELETE"], status=204, scope="write", errors=(404,), tag="encoders")
def delete_encoder(encoder_id: int) -> None:
    """Delete an encoder (its pending commands go with it; failover history keeps a null)."""
    session = db()
    session.delete(get_or_404(Encoder, encoder_id, "encoder"))
    session.commit()


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


@api_route(bp, "/api/v1/encoder-groups", response=list[GroupOut], tag="encoder-groups")
def list_groups() -> list[GroupOut]:
    """All encoder groups with their failover policy and active encoder."""
    return [GroupOut.model_validate(g)
            for g in db().scalars(select(EncoderGroup).order_by(EncoderGroup.id))]


@api_route(bp, "/api/v1/encoder-groups", ["POST"], body=GroupCreate, response=GroupOut,
           status=201, scope="write", errors=(409,), tag="encoder-groups")
def create_group(body: GroupCreate) -> GroupOut:
    """Create an encoder group with its failover policy."""
    check_unique(EncoderGroup, "name", body.name, "name")
    group = EncoderGroup(**body.model_dump())
    session = db()
    session.add(group)
    session.commit()
    return GroupOut.model_validate(group)


@api_route(bp, GROUP, response=GroupOut, errors=(404,), tag="encoder-groups")
def get_group(group_id: int) -> GroupOut:
    """One encoder group."""
    return GroupOut.model_validate(get_or_404(EncoderGroup, group_id, "encoder group"))


@api_route(bp, GROUP, ["PUT"], body=GroupUpdate, response=GroupOut, scope="write",
           errors=(404, 409), tag="encoder-groups")
def update_group(group_id: int, body: GroupUpdate) -> GroupOut:
    """Change the fields given."""
    group = get_or_404(EncoderGroup, group_id, "encoder group")
    if body.name is not None and body.name != group.name:
        check_unique(EncoderGroup, "name", body.name, "name", exclude_id=group.id)
    apply(group, changes(body))
    db().commit()
    return GroupOut.model_validate(group)


@api_route(bp, GROUP, ["DELETE"], status=204, scope="write", errors=(404,), tag="encoder-groups")
def delete_group(group_id: int) -> None:
    """Delete a group; its encoders and channels stay, unlinked; its failover history goes."""
    session = db()
    session.delete(get_or_404(EncoderGroup, group_id, "encoder group"))
    session.commit()


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
