"""Demo data for ``castwatch up --demo``, written idempotently through the database.

Every row is found by its unique name (channel code, template/group/encoder/recipient/rule
name) and updated in place, so restarting the demo keeps ids, alerts and history while the
simulator addresses (which may change between runs) stay current.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from castwatch.common.models import (
    ApiKey,
    Channel,
    Encoder,
    EncoderGroup,
    NotificationRule,
    Recipient,
    Template,
    TemplateRendition,
    utcnow,
)
from castwatch.simulators.origin.model import DEFAULT_LADDER

M = TypeVar("M")

TEMPLATE_NAME = "demo-ladder"
GROUP_NAME = "demo-studio"
PRIMARY_NAME, BACKUP_NAME = "demo-primary", "demo-backup"
RULE_NAME = "demo: every alert to the demo team"
ADMIN_KEY_NAME = "demo-admin"
SEGMENT_SECONDS = 2.0


@dataclass(frozen=True)
class DemoTopology:
    """Where the simulators of this run listen."""

    origin_url: str
    channel_codes: tuple[str, ...]
    primary_address: str
    backup_address: str


@dataclass(frozen=True)
class Seeded:
    channel_ids: dict[str, int]
    group_id: int
    primary_id: int
    backup_id: int
    admin_key: str


def _upsert(session: Session, model: type[M], key: str, value: Any, **fields: Any) -> M:
    row = session.scalar(select(model).where(getattr(model, key) == value))
    if row is None:
        row = model(**{key: value}, **fields)
        session.add(row)
    else:
        for name, field_value in fields.items():
            if getattr(row, name) != field_value:
                setattr(row, name, field_value)
    session.flush()
    return row


def _template(session: Session) -> Template:
    template = _upsert(session, Template, "name", TEMPLATE_NAME,
                       description="The demo origin's four-rung ladder, 2 s segments",
                       segment_duration_target=SEGMENT_SECONDS, segment_duration_tolerance=0.5,
                       max_download_time_ms=1000, min_download_ratio=1.5)
    have = {r.name for r in template.renditions}
    for rung in DEFAULT_LADDER:
        if rung.name not in have:
            template.renditions.append(TemplateRendition(
                name=rung.name, bandwidth=rung.bandwidth, resolution=rung.resolution,
                codecs=rung.codecs, frame_rate=25.0, video_range="SDR"))
    session.flush()
    return template


def _encoders(session: Session, topo: DemoTopology,
              credentials_ref: str | None) -> tuple[EncoderGroup, Encoder, Encoder]:
    group = _upsert(session, EncoderGroup, "name", GROUP_NAME,
                    description="Studio A: a primary encoder with a hot backup",
                    failover_enabled=True, failure_threshold=3, poll_interval_s=1.0,
                    verify_timeout_s=10.0, preference="primary_preferred", failback_hold_s=20.0,
                    min_switch_interval_s=10.0)
    primary = _upsert(session, Encoder, "name", PRIMARY_NAME, driver_kind="generic_http",
                      address=topo.primary_address, group_id=group.id, role="primary", priority=0,
                      enabled=True, credentials_ref=credentials_ref, driver_options={"auth": "bearer"})
    backup = _upsert(session, Encoder, "name", BACKUP_NAME, driver_kind="generic_http",
                     address=topo.backup_address, group_id=group.id, role="backup", priority=1,
                     enabled=True, credentials_ref=credentials_ref, driver_options={"auth": "bearer"})
    if group.active_encoder_id is None:
        group.active_encoder_id = primary.id
    session.flush()
    return group, primary, backup


def _channels(session: Session, topo: DemoTopology, template: Template,
              group: EncoderGroup) -> dict[str, int]:
    ids = {}
    for index, code in enumerate(topo.channel_codes):
        dash = index == len(topo.channel_codes) - 1 and index > 0  # the last one is DASH
        url = (f"{topo.origin_url}/live/{code}/manifest.mpd" if dash
               else f"{topo.origin_url}/live/{code}/master.m3u8")
        channel = _upsert(session, Channel, "code", code, name=f"Demo channel {index + 1}",
                          channel_type="LIVE", tier=min(3, 1 + index // 2),
                          protocol="DASH" if dash else "HLS", input_url=url, template_id=template.id,
                          encoder_group_id=group.id if index == 0 else None, enabled=True)
        ids[code] = channel.id
    return ids


#: Telegram chats (and users) of the demo recipients in the Bot API stand-in
DEMO_CHATS = {"Demo Cablecaster": 1001, "Demo Engineer": 1002}


def _people(session: Session, notify: bool, demo_chats: bool = False) -> None:
    def chat(name: str) -> dict[str, object]:
        ident = DEMO_CHATS[name]
        return {"telegram_chat_id": ident, "telegram_user_id": ident} if demo_chats else {}

    _upsert(session, Recipient, "name", "Demo Cablecaster", role="cablecaster",
            email="cablecaster@demo.invalid", enabled=True, **chat("Demo Cablecaster"))
    _upsert(session, Recipient, "name", "Demo Engineer", role="engineer",
            email="engineer@demo.invalid", is_admin=True, enabled=True, **chat("Demo Engineer"))
    _upsert(session, NotificationRule, "name", RULE_NAME, enabled=notify, priority=100, match={},
            roles=["cablecaster", "engineer"], transports=["telegram", "email"], group_wait_s=10,
            send_resolved=True, escalation=[{"after_s": 600, "roles": ["engineer"]}])


def _admin_key(session: Session) -> str:
    """A fresh admin key; earlier demo keys are revoked (only their hashes were kept)."""
    from castwatch.cms_api.auth import create_key

    session.execute(update(ApiKey).where(ApiKey.name == ADMIN_KEY_NAME, ApiKey.revoked_at.is_(None))
                    .values(revoked_at=utcnow()))
    _row, key = create_key(session, name=ADMIN_KEY_NAME, scope="admin",
                           expires_in=timedelta(days=30))
    return key


def seed(session: Session, topo: DemoTopology, *, notify: bool = True,
         credentials_ref: str | None = None, demo_chats: bool = False) -> Seeded:
    """Create or refresh every demo row; the caller commits. ``notify=False`` (no Telegram or
    SMTP configured) keeps the demo rule disabled, so no delivery is planned that must fail;
    ``demo_chats`` gives the recipients Telegram chats in the demo's Bot API stand-in."""
    template = _template(session)
    group, primary, backup = _encoders(session, topo, credentials_ref)
    channel_ids = _channels(session, topo, template, group)
    _people(session, notify, demo_chats)
    return Seeded(channel_ids, group.id, primary.id, backup.id, _admin_key(session))
