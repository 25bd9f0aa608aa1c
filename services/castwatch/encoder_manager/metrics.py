"""Prometheus metrics of the encoder manager (names are a contract with the stack's rules)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)


class EncoderMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.polls = Counter("castwatch_encoders_polls_total", "Encoder polls by driver kind and result",
                             ["kind", "result"], registry=registry)
        self.poll_lag = Histogram("castwatch_encoders_poll_lag_seconds",
                                  "How late a poll started against its schedule",
                                  buckets=LAG_BUCKETS, registry=registry)
        self.poll_seconds = Histogram("castwatch_encoders_poll_seconds", "Duration of one poll",
                                      ["kind"], buckets=LAG_BUCKETS, registry=registry)
        self.controller_active = Gauge("castwatch_encoders_controller_active",
                                       "1 when this replica holds the group's controller lock",
                                       ["group"], registry=registry)
        self.failovers = Counter("castwatch_encoders_failovers_total", "Failover attempts by result",
                                 ["result"], registry=registry)
        self.temperature = Gauge("castwatch_encoders_temperature_celsius", "Last reported temperature",
                                 ["encoder"], registry=registry)
        self.encoders = Gauge("castwatch_encoders_watched", "Encoders this replica polls",
                              registry=registry)
        self.commands = Counter("castwatch_encoders_commands_total", "Control commands carried out",
                                ["action", "status"], registry=registry)
        self.loop_errors = Counter("castwatch_encoders_loop_errors_total",
                                   "Unexpected errors caught by the outermost loop", ["task"],
                                   registry=registry)
