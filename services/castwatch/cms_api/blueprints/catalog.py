"""Channels, templates (with their ABR ladder) and probes: ``/api/v1/channels|templates|probes``.

Templates go through :func:`castwatch.cms_api.crud.crud_resource`: the ladder is its
``before_save`` hook (nested rows), "in use" its ``before_delete`` hook, the eager load of the
ladder its ``list_options``. Channels stay hand-written on purpose: their list is a filtered,
paged, per-worker cached page (not a plain list), DELETE disables the channel and answers it
(200 with the row, not 204), the API names differ from the columns (``channel_code`` → ``code``,
also in error ``field``s), nulls of required fields are refused by name, and a write derives
``protocol``, badges and ``status`` from other fields. Forcing those through crud_resource would
need a hook per view and change nothing but where the code lives.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from flask import Blueprint, Response, request
from sqlalchemy import or_, select, update
from sqlalchemy.orm import selectinload

from castwatch.cms_api.context import db
from castwatch.cms_api.crud import (
    CrudNames,
    apply,
    cached_json,
    changes,
    check_refs,
    check_unique,
    crud_resource,
    get_or_404,
    paged,
)
from castwatch.cms_api.derive import badges, infer_protocol
from castwatch.cms_api.errors import ApiError
from castwatch.cms_api.registry import api_route
from castwatch.cms_api.schemas.catalog import (
    ChannelCreate,
    ChannelOut,
    ChannelPage,
    ChannelQuery,
    ChannelUpdate,
    ProbeOut,
    TemplateCreate,
    TemplateOut,
    TemplateUpdate,
)
from castwatch.common.models import (
    Channel,
    ChannelThumbnail,
    EncoderGroup,
    Probe,
    Template,
    TemplateRendition,
)

bp = Blueprint("catalog", __name__)

CHANNEL = "/api/v1/channels/<int:channel_id>"
_RENAMES = {"channel_code": "code", "channel_name": "name"}


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


@api_route(bp, "/api/v1/channels", query=ChannelQuery, response=ChannelPage, tag="channels")
def list_channels(query: ChannelQuery) -> Response:
    """List channels, filtered by tier, enabled, protocol, type, status and a text search.

    Answers are cached per worker until the next change of the channels table (see cache.py).
    """
    return cached_json(("channels", query.model_dump_json()), ("channels",),
                       lambda: _channel_page(query))


def _channel_page(query: ChannelQuery) -> bytes:
    stmt = select(Channel).order_by(Channel.id)
    for column, value in ((Channel.tier, query.tier), (Channel.enabled, query.enabled),
                          (Channel.protocol, query.protocol), (Channel.status, query.status),
                          (Channel.channel_type, query.channel_type)):
        if value is not None:
            stmt = stmt.where(column == value)
    if query.q:
        stmt = stmt.where(or_(Channel.code.ilike(_like(query.q)), Channel.name.ilike(_like(query.q))))
    rows, total = paged(db(), stmt, query.limit, query.offset)
    return ChannelPage(items=[ChannelOut.model_validate(r) for r in rows], total=total,
                       limit=query.limit, offset=query.offset).model_dump_json().encode()


def _check_channel_refs(values: dict[str, object]) -> None:
    check_refs(Probe, [values.get("probe_id")], "probe_id")  # type: ignore[list-item]
    check_refs(Template, [values.get("template_id")], "template_id")  # type: ignore[list-item]
    check_refs(EncoderGroup, [values.get("encoder_group_id")], "encoder_group_id")  # type: ignore[list-item]


def _template_badges(template_id: int | None) -> dict[str, bool]:
    if template_id is None:
        return badges([])
    return badges(db().scalars(select(TemplateRendition)
                               .where(TemplateRendition.template_id == template_id)))


@api_route(bp, "/api/v1/channels", ["POST"], body=ChannelCreate, response=ChannelOut, status=201,
           scope="write", errors=(409,), tag="channels")
def create_channel(body: ChannelCreate) -> ChannelOut:
    """Create a channel; protocol is inferred from input_url (``.mpd`` → DASH) when omitted.

    A duplicate ``channel_code`` answers 409; an unknown probe, template or encoder group 400.
    """
    values = changes(body, _RENAMES)
    values.update({k: getattr(body, k) for k in ("channel_type", "tier", "enabled")})
    check_unique(Channel, "code", body.channel_code, "channel_code")
    _check_channel_refs(values)
    values["protocol"] = body.protocol or infer_protocol(body.input_url)
    values.update(_template_badges(body.template_id))
    channel = Channel(**values)
    session = db()
    session.add(channel)
    session.commit()
    return ChannelOut.model_validate(channel)


@api_route(bp, CHANNEL, response=ChannelOut, errors=(404,), tag="channels")
def get_channel(channel_id: int) -> ChannelOut:
    """One channel with its newest check result."""
    return ChannelOut.model_validate(get_or_404(Channel, channel_id, "channel"))


@api_route(bp, f"{CHANNEL}/thumbnail", errors=(404,), tag="channels")
def channel_thumbnail(channel_id: int) -> Response:
    """The channel's newest thumbnail (a key frame, ~320 px wide JPEG) taken by the probe.

    Answers ``image/jpeg`` with a strong ``ETag`` (304 to a matching ``If-None-Match``),
    ``Last-Modified`` (when it was taken) and ``Cache-Control: private, max-age=5``: the
    probe refreshes it every few seconds. 404 until the probe has taken one.
    """
    get_or_404(Channel, channel_id, "channel")
    thumb = db().get(ChannelThumbnail, channel_id)
    if thumb is None:
        raise ApiError(404, "not_found", "no thumbnail yet for this channel")
    etag = f'"{thumb.etag}"'
    headers = {"ETag": etag, "Cache-Control": "private, max-age=5",
               "Last-Modified": thumb.taken_at.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT"),
               "X-Thumbnail-Rendition": thumb.rendition or ""}
    wanted = [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]
    if etag in wanted or "*" in wanted:
        return Response(status=304, headers=headers)
    return Response(thumb.jpeg, mimetype="image/jpeg", headers=headers)


@api_route(bp, CHANNEL, ["PUT"], body=ChannelUpdate, response=ChannelOut, scope="write",
           errors=(404, 409), tag="channels")
def update_channel(channel_id: int, body: ChannelUpdate) -> ChannelOut:
    """Change the fields given; a new input_url re-infers the protocol unless one is given."""
    channel = get_or_404(Channel, channel_id, "channel")
    values = changes(body, _RENAMES)
    for required in ("code", "name", "channel_type", "tier", "input_url", "enabled"):
        if required in values and values[required] is None:
            raise ApiError(400, "invalid_value", f"{required} cannot be null",
                           {"code": "channel_code", "name": "channel_name"}.get(required, required))
    if "code" in values and values["code"] != channel.code:
        check_unique(Channel, "code", values["code"], "channel_code", exclude_id=channel.id)
    _check_channel_refs(values)
    if "input_url" in values and values.get("protocol") is None:
        values["protocol"] = infer_protocol(values["input_url"])
    elif "protocol" in values and values["protocol"] is None:
        values["protocol"] = infer_protocol(values.get("input_url") or channel.input_url)
    if "template_id" in values:
        values.update(_template_badges(values["template_id"]))
    if values.get("enabled") is True and channel.status == "disabled":
        values["status"] = "unknown"
    apply(channel, values)
    db().commit()
    return ChannelOut.model_validate(channel)


@api_route(bp, CHANNEL, ["DELETE"], response=ChannelOut, scope="write", errors=(404,),
           tag="channels")
def disable_channel(channel_id: int) -> ChannelOut:
    """Disable a channel (it stays, with its history; PUT ``enabled: true`` brings it back)."""
    channel = get_or_404(Channel, channel_id, "channel")
    channel.enabled = False
    channel.status = "disabled"
    db().commit()
    return ChannelOut.model_validate(channel)


def _template_ladder(values: dict[str, Any], template: Template | None) -> None:
    """``renditions`` as rows: a new template's ladder, or the whole ladder of an existing one
    replaced (old rungs go before new ones with the same names arrive) and its channels'
    badges derived again; absent or null on update keeps the ladder."""
    ladder = values.pop("renditions", None)
    if template is None:
        values["renditions"] = [TemplateRendition(**r) for r in ladder or []]
        return
    if ladder is None:
        return
    session = db()
    template.renditions.clear()
    session.flush()
    template.renditions.extend(TemplateRendition(**r) for r in ladder)
    session.flush()
    session.execute(update(Channel).where(Channel.template_id == template.id)
                    .values(**badges(template.renditions)))


def _template_unused(template: Template) -> None:
    """409 while a channel still uses ``template``."""
    used = db().scalars(select(Channel.id).where(Channel.template_id == template.id).limit(1)).first()
    if used is not None:
        raise ApiError(409, "in_use", f"template {template.id} is used by channel {used}")


crud_resource(
    bp, "/api/v1/templates", Template, TemplateCreate, TemplateUpdate, TemplateOut,
    what="template", tag="templates", before_save=_template_ladder,
    before_delete=_template_unused, list_options=(selectinload(Template.renditions),),
    names=CrudNames(
        param="template_id",
        views={"list": "list_templates", "create": "create_template", "get": "get_template",
               "update": "update_template", "delete": "delete_template"},
        docs={"list": "All templates with their ladders.",
              "create": "Create a template with its ABR ladder (``renditions``).",
              "get": "One template with its ladder.",
              "update": "Change the fields given; ``renditions`` replaces the whole ladder and "
                        "the channels'\nbadges are derived again.",
              "delete": "Delete a template no channel uses (409 while channels still use it)."},
        errors={"delete": (404, 409)}))


@api_route(bp, "/api/v1/probes", response=list[ProbeOut], tag="probes")
def list_probes() -> list[ProbeOut]:
    """Probe replicas with their status and last heartbeat."""
    return [ProbeOut.model_validate(p) for p in db().scalars(select(Probe).order_by(Probe.id))]


@api_route(bp, "/api/v1/probes/<int:probe_id>", response=ProbeOut, errors=(404,), tag="probes")
def get_probe(probe_id: int) -> ProbeOut:
    """One probe replica."""
    return ProbeOut.model_validate(get_or_404(Probe, probe_id, "probe"))
