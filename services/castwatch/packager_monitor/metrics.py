"""Prometheus metrics of the packager monitor (names are a contract with the stack's rules)."""

from __future__ import annotations

import contextlib
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_FETCH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0)
_LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class ProbeMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.polls = Counter("castwatch_probe_polls_total", "Playlist/MPD polls by outcome",
                             ["protocol", "result"], registry=registry)
        self.errors = Counter("castwatch_probe_errors_total", "Failed fetches and invalid content",
                              ["type"], registry=registry)
        self.fetch = Histogram("castwatch_probe_fetch_seconds", "HTTP fetch duration", ["kind"],
                               buckets=_FETCH_BUCKETS, registry=registry)
        self.lag = Histogram("castwatch_probe_schedule_lag_seconds",
                             "How late a poll started against its schedule",
                             buckets=_LAG_BUCKETS, registry=registry)
        self.channels = Gauge("castwatch_probe_channels_assigned", "Channels leased by this replica",
                              registry=registry)
        self.open_alerts = Gauge("castwatch_probe_open_alerts", "Alerts this replica holds open",
                                 registry=registry)
        self.db_queue = Gauge("castwatch_probe_db_queue_depth",
                              "Alert/status writes waiting for the database", registry=registry)
        # label children resolved once: .labels() costs more than the increment itself
        self._polls: dict[tuple[str, str], Counter] = {}
        self._errors: dict[str, Counter] = {}
        self.fetch_playlist = self.fetch.labels("playlist")
        self.fetch_segment = self.fetch.labels("segment")
        self.fetch_mpd = self.fetch.labels("mpd")
        self.content_gauges: ContentGauges | None = ContentGauges(registry)

    def poll(self, protocol: str, result: str) -> None:
        child = self._polls.get((protocol, result))
        if child is None:
            child = self._polls[(protocol, result)] = self.polls.labels(protocol, result)
        child.inc()

    def error(self, kind: str) -> None:
        child = self._errors.get(kind)
        if child is None:
            child = self._errors[kind] = self.errors.labels(kind)
        child.inc()


class ContentGauges:
    """The content layer's latest figures (labels: channel code, rendition, kind: bounded by
    the configuration, never URLs)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.loudness = Gauge("castwatch_probe_loudness_lufs",
                              "Loudness of the decoded rendition's first audio track",
                              ["channel", "kind"], registry=registry)
        self.true_peak = Gauge("castwatch_probe_true_peak_dbtp", "True peak of the newest segment",
                               ["channel"], registry=registry)
        self.mos = Gauge("castwatch_probe_video_mos", "Video MOS (ITU-T P.1203.1 mode 0), 1..5",
                         ["channel", "rendition"], registry=registry)
        self.bitrate = Gauge("castwatch_probe_measured_bitrate_bps",
                             "Rendition bitrate measured from segment sizes and durations",
                             ["channel", "rendition"], registry=registry)

    def observe_audio(self, channel: str, audio: list[dict[str, Any]]) -> None:
        if not audio:
            return
        first = audio[0]
        for kind in ("momentary", "short_term", "integrated"):
            value = first.get(f"{kind}_lufs")
            if value is not None:
                self.loudness.labels(channel, kind).set(value)
        if first.get("true_peak_dbtp") is not None:
            self.true_peak.labels(channel).set(first["true_peak_dbtp"])

    def observe_rendition(self, channel: str, rendition: str, mos: float | None,
                          bps: float | None) -> None:
        if mos is not None:
            self.mos.labels(channel, rendition).set(mos)
        if bps is not None:
            self.bitrate.labels(channel, rendition).set(bps)

    def forget(self, channel: str, renditions: list[str]) -> None:
        """Remove a channel's series when it is no longer watched here."""
        for gauge, labels in ((self.loudness, [(channel, k) for k in ("momentary", "short_term",
                                                                       "integrated")]),
                              (self.true_peak, [(channel,)]),
                              (self.mos, [(channel, r) for r in renditions]),
                              (self.bitrate, [(channel, r) for r in renditions])):
            for values in labels:
                with contextlib.suppress(KeyError):
                    gauge.remove(*values)
