"""``GET /api/v1/meta``: the vocabulary (``castwatch.common.vocab``) as the console reads it."""

from __future__ import annotations

from castwatch.cms_api.schemas.base import OutModel


class SeverityOut(OutModel):
    name: str
    rank: int


class AlertTypeOut(OutModel):
    name: str
    source: str
    sources: list[str]
    severity: str
    confirmations: int
    incident_rank: int | None
    description: str


class AlertTypePrefixOut(OutModel):
    prefix: str
    source: str


class MetaOut(OutModel):
    """Severities worst first (``rank``: higher is worse), every stable alert type, and the
    kinds the API accepts."""

    severities: list[SeverityOut]
    alert_types: list[AlertTypeOut]
    alert_type_prefixes: list[AlertTypePrefixOut]
    sources: list[str]
    driver_kinds: list[str]
    transports: list[str]
    simulator_kinds: list[str]
    recipient_roles: list[str]
