"""Channels, templates (with their ABR ladder) and probes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from castwatch.cms_api.schemas.base import (
    INT64_MAX,
    Id,
    Model,
    OutModel,
    Page,
    text,
)

ChannelType = Literal["LIVE", "EVENT", "VOD"]
Protocol = Literal["HLS", "DASH"]
VideoRange = Literal["SDR", "PQ", "HLG"]
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"
URL_PATTERN = r"^https?://[^\s\x00]+$"

Code = Annotated[str, text(64, pattern=CODE_PATTERN)]
Url = Annotated[str, text(2000, pattern=URL_PATTERN)]


class ChannelFields(Model):
    channel_name: Annotated[str, text(200)] | None = None
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
    channel_name: Annotated[str, text(200)]
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
    q: Annotated[str, text(200)] | None = Field(None, description="substring of code or name")


class ChannelPage(OutModel):
    items: list[ChannelOut]
    total: int
    limit: int
    offset: int


class RenditionIn(Model):
    name: Annotated[str, text(50)]
    bandwidth: int = Field(ge=1, le=INT64_MAX, description="bits per second")
    resolution: Annotated[str, text(20, pattern=r"^[0-9]{1,5}x[0-9]{1,5}$")] | None = None
    codecs: Annotated[str, text(200)] | None = None
    frame_rate: float | None = Field(None, gt=0, le=1000)
    video_range: VideoRange | None = None
    audio_channels: Annotated[str, text(20)] | None = None


ContentMode = Literal["continuous", "sampled", "off"]
LoudnessStandard = Literal["ebu_r128", "atsc_a85"]
#: content thresholds that cannot be null (the others: NULL means "by tier" / "by standard")
CONTENT_REQUIRED = ("content_sample_interval_s", "content_rendition", "black_min_s", "frozen_min_s",
                    "silence_threshold_dbfs", "silence_min_s", "loudness_standard",
                    "loudness_tolerance_lu", "loudness_min_s", "true_peak_max_dbtp", "mos_min")


class TemplateFields(Model):
    description: Annotated[str, text(2000, 0)] | None = None
    segment_duration_target: float | None = Field(None, gt=0, le=3600)
    segment_duration_tolerance: float | None = Field(None, ge=0, le=3600)
    max_download_time_ms: int | None = Field(None, ge=1, le=3_600_000)
    min_download_ratio: float | None = Field(None, ge=0, le=1000)
    poll_interval_s: float | None = Field(None, gt=0, le=3600)
    renditions: list[RenditionIn] | None = Field(None, max_length=64)
    # the probe's content layer (issue #14); see docs/probe.md "Content"
    content_mode: ContentMode | None = Field(
        None, description="continuous | sampled | off; null = by channel tier (tier 1 continuous)")
    content_sample_interval_s: float | None = Field(None, gt=0, le=3600)
    content_rendition: Annotated[str, text(50)] | None = Field(
        None, description="rendition decoded: lowest, highest or a rendition name")
    black_min_s: float | None = Field(None, gt=0, le=3600)
    frozen_min_s: float | None = Field(None, gt=0, le=3600)
    silence_threshold_dbfs: float | None = Field(None, ge=-150, le=0)
    silence_min_s: float | None = Field(None, gt=0, le=3600)
    loudness_standard: LoudnessStandard | None = None
    loudness_target_lufs: float | None = Field(
        None, ge=-70, le=0, description="null = the standard's target (-23 EBU R128, -24 ATSC A/85)")
    loudness_tolerance_lu: float | None = Field(None, ge=0, le=60)
    loudness_min_s: float | None = Field(None, gt=0, le=3600)
    true_peak_max_dbtp: float | None = Field(None, ge=-60, le=20)
    mos_min: float | None = Field(None, ge=1, le=5, description="QUALITY_LOW below this MOS")

    @model_validator(mode="before")
    @classmethod
    def _seconds_alias(cls, data: Any) -> Any:
        """The seed's ``max_download_time`` (seconds) is accepted beside ``max_download_time_ms``."""
        if not isinstance(data, dict) or "max_download_time" not in data:
            return data
        data = dict(data)
        seconds = data.pop("max_download_time")
        if seconds is None:
            data.setdefault("max_download_time_ms", None)
            return data
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not (
                0 < seconds <= 3600):
            raise ValueError("max_download_time must be a number of seconds in (0, 3600]")
        ms = max(1, int(round(seconds * 1000)))
        if data.get("max_download_time_ms") not in (None, ms):
            raise ValueError("max_download_time (s) and max_download_time_ms disagree")
        data["max_download_time_ms"] = ms
        return data

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

    name: Annotated[str, text(100)]
    segment_duration_target: float = Field(6.0, gt=0, le=3600)
    segment_duration_tolerance: float = Field(0.5, ge=0, le=3600)
    max_download_time_ms: int = Field(2000, ge=1, le=3_600_000)
    min_download_ratio: float = Field(1.5, ge=0, le=1000)
    renditions: list[RenditionIn] = Field(default_factory=list, max_length=64)
    content_sample_interval_s: float = Field(10.0, gt=0, le=3600)
    content_rendition: Annotated[str, text(50)] = "lowest"
    black_min_s: float = Field(2.0, gt=0, le=3600)
    frozen_min_s: float = Field(2.0, gt=0, le=3600)
    silence_threshold_dbfs: float = Field(-60.0, ge=-150, le=0)
    silence_min_s: float = Field(2.0, gt=0, le=3600)
    loudness_standard: LoudnessStandard = "ebu_r128"
    loudness_tolerance_lu: float = Field(5.0, ge=0, le=60)
    loudness_min_s: float = Field(10.0, gt=0, le=3600)
    true_peak_max_dbtp: float = Field(-1.0, ge=-60, le=20)
    mos_min: float = Field(3.5, ge=1, le=5)


class TemplateUpdate(TemplateFields):
    """Fields to change; ``renditions``, when given, replaces the whole ladder."""

    name: Annotated[str, text(100)] | None = None

    @model_validator(mode="after")
    def _not_null_required(self) -> TemplateUpdate:
        for name in ("segment_duration_target", "segment_duration_tolerance",
                     "max_download_time_ms", "min_download_ratio", "renditions", "name",
                     *CONTENT_REQUIRED):
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
    content_mode: str | None
    content_sample_interval_s: float
    content_rendition: str
    black_min_s: float
    frozen_min_s: float
    silence_threshold_dbfs: float
    silence_min_s: float
    loudness_standard: str
    loudness_target_lufs: float | None
    loudness_tolerance_lu: float
    loudness_min_s: float
    true_peak_max_dbtp: float
    mos_min: float
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

