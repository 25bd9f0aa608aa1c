"""What is monitored: probes, templates with their ABR ladder, channels."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from castwatch.common.models.base import Base, created_at, enum_check, updated_at

CHANNEL_TYPES = ("LIVE", "EVENT", "VOD")
PROTOCOLS = ("HLS", "DASH")
VIDEO_RANGES = ("SDR", "PQ", "HLG")
CONTENT_MODES = ("continuous", "sampled", "off")
LOUDNESS_STANDARDS = ("ebu_r128", "atsc_a85")


class Probe(Base):
    """A packager-monitor replica; its heartbeat says it is alive."""

    __tablename__ = "probes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    hostname: Mapped[str | None] = mapped_column(String(255))
    location: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20), default="unknown", server_default="unknown")
    version: Mapped[str | None] = mapped_column(String(50))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    created_at: Mapped[datetime] = created_at()

    __table_args__ = (enum_check("status", ("unknown", "online", "offline", "stopped")),)


class Template(Base):
    """What a channel's output must look like: segment timing and the ABR ladder."""

    __tablename__ = "templates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    segment_duration_target: Mapped[float] = mapped_column(Float, default=6.0)
    segment_duration_tolerance: Mapped[float] = mapped_column(Float, default=0.5)
    max_download_time_ms: Mapped[int] = mapped_column(Integer, default=2000)
    min_download_ratio: Mapped[float] = mapped_column(Float, default=1.5)
    poll_interval_s: Mapped[float | None] = mapped_column(Float)
    # the content layer (issue #14); NULL content_mode = by channel tier
    content_mode: Mapped[str | None] = mapped_column(String(12))
    content_sample_interval_s: Mapped[float] = mapped_column(Float, default=10.0, server_default="10")
    content_rendition: Mapped[str] = mapped_column(String(50), default="lowest", server_default="lowest")
    black_min_s: Mapped[float] = mapped_column(Float, default=2.0, server_default="2")
    frozen_min_s: Mapped[float] = mapped_column(Float, default=2.0, server_default="2")
    silence_threshold_dbfs: Mapped[float] = mapped_column(Float, default=-60.0, server_default="-60")
    silence_min_s: Mapped[float] = mapped_column(Float, default=2.0, server_default="2")
    loudness_standard: Mapped[str] = mapped_column(String(10), default="ebu_r128",
                                                   server_default="ebu_r128")
    loudness_target_lufs: Mapped[float | None] = mapped_column(Float)
    loudness_tolerance_lu: Mapped[float] = mapped_column(Float, default=5.0, server_default="5")
    loudness_min_s: Mapped[float] = mapped_column(Float, default=10.0, server_default="10")
    true_peak_max_dbtp: Mapped[float] = mapped_column(Float, default=-1.0, server_default="-1")
    mos_min: Mapped[float] = mapped_column(Float, default=3.5, server_default="3.5")
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    renditions: Mapped[list[TemplateRendition]] = relationship(
        back_populates="template", cascade="all, delete-orphan", order_by="TemplateRendition.bandwidth.desc()"
    )

    __table_args__ = (
        CheckConstraint("segment_duration_target > 0", name="segment_duration_target_positive"),
        CheckConstraint("segment_duration_tolerance >= 0", name="tolerance_not_negative"),
        CheckConstraint("max_download_time_ms > 0", name="max_download_time_positive"),
        CheckConstraint("poll_interval_s IS NULL OR poll_interval_s > 0", name="poll_interval_positive"),
        CheckConstraint("content_mode IS NULL OR content_mode IN ('continuous', 'sampled', 'off')",
                        name="content_mode"),
        enum_check("loudness_standard", LOUDNESS_STANDARDS),
        CheckConstraint("content_sample_interval_s > 0 AND black_min_s > 0 AND frozen_min_s > 0 AND "
                        "silence_min_s > 0 AND loudness_min_s > 0 AND loudness_tolerance_lu >= 0",
                        name="content_durations_positive"),
        CheckConstraint("mos_min BETWEEN 1 AND 5", name="mos_min_range"),
    )


class TemplateRendition(Base):
    """One rung of a template's ABR ladder."""

    __tablename__ = "template_renditions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("templates.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    bandwidth: Mapped[int] = mapped_column(BigInteger)
    resolution: Mapped[str | None] = mapped_column(String(20))
    codecs: Mapped[str | None] = mapped_column(String(200))
    frame_rate: Mapped[float | None] = mapped_column(Float)
    video_range: Mapped[str | None] = mapped_column(String(10))
    audio_channels: Mapped[str | None] = mapped_column(String(20))

    template: Mapped[Template] = relationship(back_populates="renditions")

    __table_args__ = (
        UniqueConstraint("template_id", "name", name="uq_template_renditions_template_name"),
        CheckConstraint("bandwidth > 0", name="bandwidth_positive"),
        CheckConstraint(
            "video_range IS NULL OR video_range IN ('SDR', 'PQ', 'HLG')", name="video_range"
        ),
    )


class Channel(Base):
    """A monitored output: one master playlist or MPD, probed by one probe against one template."""

    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    channel_type: Mapped[str] = mapped_column(String(10), default="LIVE")
    tier: Mapped[int] = mapped_column(Integer, default=2)
    protocol: Mapped[str] = mapped_column(String(10), default="HLS")
    input_url: Mapped[str] = mapped_column(Text)
    probe_id: Mapped[int | None] = mapped_column(ForeignKey("probes.id", ondelete="SET NULL"))
    template_id: Mapped[int | None] = mapped_column(ForeignKey("templates.id", ondelete="RESTRICT"))
    encoder_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("encoder_groups.id", ondelete="SET NULL")
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    is_4k: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    is_hdr: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    is_atmos: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    status: Mapped[str] = mapped_column(String(20), default="unknown", server_default="unknown")
    last_checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_check: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    template: Mapped[Template | None] = relationship()

    __table_args__ = (
        enum_check("channel_type", CHANNEL_TYPES),
        enum_check("protocol", PROTOCOLS),
        enum_check("status", ("unknown", "ok", "warning", "critical", "disabled")),
        CheckConstraint("tier BETWEEN 1 AND 3", name="tier"),
    )


class ChannelThumbnail(Base):
    """The newest thumbnail (a key frame, ~320 px JPEG) of a channel, written by the probe."""

    __tablename__ = "channel_thumbnails"

    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"),
                                            primary_key=True)
    jpeg: Mapped[bytes] = mapped_column(LargeBinary)
    etag: Mapped[str] = mapped_column(String(64))
    rendition: Mapped[str | None] = mapped_column(String(50))
    taken_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
