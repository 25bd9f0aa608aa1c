"""Prometheus metrics of the packager monitor (names are a contract with the stack's rules)."""

from __future__ import annotations

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
