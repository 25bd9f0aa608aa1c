"""Channels, templates (with their ABR ladder) and probes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from castwatch.cms_api.schemas.base import (
    INT64_MAX,
    Id,
    Model,
    OutModel,
    Page,
    Text,
)

ChannelType = Literal["LIVE", "EVENT", "VOD"]
Protocol = Literal["HLS", "DASH"]
VideoRange = Literal["SDR", "PQ", "HLG"]
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"
URL_PATTERN = r"^https?://[^\s\x00]+$"

Code = Text(64, pattern=CODE_PATTERN)
Url = Text(2000, pattern=URL_PATTERN)


class ChannelFields(Model):
    channel_name: Text(200) | None = None  # type: ignore[valid-type]
    channel_type: ChannelType | None = None
    tier: int | None = Field(None, ge=1, le=3, description="1 = most important")
    protocol: Protocol | None = Field(None, description="inferred from input_url when omitted")
    input_url: Url | None = None  # type: ignore[valid-type]
    probe_id: Id | None = None
    template_id: Id | None = None
    encoder_group_id: Id | None = None
    enabled: bool | None = None


class ChannelCreate(ChannelFields):
    """A new channel; the seed's body plus optional protocol, encoder group and enabled."""

    channel_code: Code  # type: ignore[valid-type]
    channel_name: Text(200)  # type: ignore[valid-type]
    channel_type: ChannelType = "LIVE"
    tier: int = Field(2, ge=1, le=3, description="1 = most important")
    input_url: Url  # type: ignore[valid-type]
    enabled: bool = True


class ChannelUpdate(ChannelFields):
    """Fields to change; omitted fields keep their value. ``null`` clears an optional link."""

    channel_code: Code | None = None  # type: ignore[valid-type]


class ChannelOut(OutModel):
    id: int
    channel_code: str = Field(validation_alias="code")
    channel_name: str = Field(validation_alias="name")
    channel_type: str
    tier: int
    protocol: str
    input_url: str
    probe_id: int | None
    template_id: int | None
    encoder_group_id: int | None
    enabled: bool
    is_4k: bool
    is_hdr: bool
    is_atmos: bool
    status: str
    last_checked_at: datetime | None
    last_check: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class ChannelQuery(Page):
    tier: int | None = Field(None, ge=1, le=3)
    enabled: bool | None = None
    protocol: Protocol | None = None
    channel_type: ChannelType | None = None
    status: Literal["unknown", "ok", "warning", "critical", "disabled"] | None = None
    q: Text(200) | None = Field(None, description="substring of code or name")  # type: ignore[valid-type]


class ChannelPage(OutModel):
    items: list[ChannelOut]
    total: int
    limit: int
    offset: int


class RenditionIn(Model):
    name: Text(50)  # type: ignore[valid-type]
    bandwidth: int = Field(ge=1, le=INT64_MAX, description="bits per second")
    resolution: Text(20, pattern=r"^[0-9]{1,5}x[0-9]{1,5}$") | None = None  # type: ignore[valid-type]
    codecs: Text(200) | None = None  # type: ignore[valid-type]
    frame_rate: float | None = Field(None, gt=0, le=1000)
    video_range: VideoRange | None = None
    audio_channels: Text(20) | None = None  # type: ignore[valid-type]


class TemplateFields(Model):
    description: Text(2000, 0) | None = None  # type: ignore[valid-type]
    segment_duration_target: float | None = Field(None, gt=0, le=3600)
    segment_duration_tolerance: float | None = Field(None, ge=0, le=3600)
    max_download_time_ms: int | None = Field(None, ge=1, le=3_600_000)
    min_download_ratio: float | None = Field(None, ge=0, le=1000)
    poll_interval_s: float | None = Field(None, gt=0, le=3600)
    renditions: list[RenditionIn] | None = Field(None, max_length=64)

    @field_validator("renditions")
    @classmethod
    def _unique_names(cls, value: list[RenditionIn] | None) -> list[RenditionIn] | None:
        if value is not None:
            names = [r.name for r in value]
            if len(set(names)) != len(names):
                raise ValueError("rendition names must be unique within a template")
        return value


class TemplateCreate(TemplateFields):
    """A template: segment timing limits and the expected ABR ladder (``renditions``)."""

    name: Text(100)  # type: ignore[valid-type]
    segment_duration_target: float = Field(6.0, gt=0, le=3600)
    segment_duration_tolerance: float = Field(0.5, ge=0, le=3600)
    max_download_time_ms: int = Field(2000, ge=1, le=3_600_000)
    min_download_ratio: float = Field(1.5, ge=0, le=1000)
    renditions: list[RenditionIn] = Field(default_factory=list, max_length=64)


class TemplateUpdate(TemplateFields):
    """Fields to change; ``renditions``, when given, replaces the whole ladder."""

    name: Text(100) | None = None  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _not_null_required(self) -> TemplateUpdate:
        for name in ("segment_duration_target", "segment_duration_tolerance",
                     "max_download_time_ms", "min_download_ratio", "renditions", "name"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class RenditionOut(OutModel):
    name: str
    bandwidth: int
    resolution: str | None
    codecs: str | None
    frame_rate: float | None
    video_range: str | None
    audio_channels: str | None


class TemplateOut(OutModel):
    id: int
    name: str
    description: str | None
    segment_duration_target: float
    segment_duration_tolerance: float
    max_download_time_ms: int
    min_download_ratio: float
    poll_interval_s: float | None
    renditions: list[RenditionOut]
    created_at: datetime
    updated_at: datetime


class ProbeOut(OutModel):
    id: int
    name: str
    hostname: str | None
    location: str | None
    status: str
    version: str | None
    started_at: datetime | None
    last_heartbeat_at: datetime | None
    stats: dict[str, Any]
    created_at: datetime

