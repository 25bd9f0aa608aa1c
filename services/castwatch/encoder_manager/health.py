"""From samples to conditions: rates, thresholds, predictions, instability. Pure, no I/O.

:class:`EncoderHealth` keeps one encoder's recent history (counters, temperatures, drop rates,
connection events) and :meth:`EncoderHealth.assess` turns a new sample into an
:class:`Assessment`: whether the encoder is OK for its role, which alert conditions hold now
(with severity and a human summary), the derived rates and the instability score. Debouncing
(raise after N, clear after a hold time) is the caller's job with ``common.hysteresis``.

Times are monotonic seconds. Counters that go backwards are resets: that interval gives no
rate (never a negative or huge one) and counts as an encoder reset in the instability score.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from castwatch.encoder_manager.sample import HealthSample

UNREACHABLE = "ENCODER_UNREACHABLE"
STREAM_DOWN = "ENCODER_STREAM_DOWN"
OVERHEAT = "ENCODER_OVERHEAT"
CPU_HIGH = "ENCODER_CPU_HIGH"
DROPPED_FRAMES = "ENCODER_DROPPED_FRAMES"
LINK_ERRORS = "ENCODER_LINK_ERRORS"
RECORDING_STOPPED = "ENCODER_RECORDING_STOPPED"  # raised by the worker from encoder_manager.recording
CONDITION_TYPES = (UNREACHABLE, STREAM_DOWN, OVERHEAT, CPU_HIGH, DROPPED_FRAMES, LINK_ERRORS,
                   RECORDING_STOPPED)
MAX_EVENTS = 2000
_INT_KEYS = frozenset({"raise_after_count", "overheat_min_points", "overheat_confirm_polls",
                       "remedy_max_attempts"})


@dataclass(frozen=True)
class Thresholds:
    """Limits for one encoder: defaults ← group ``thresholds`` ← encoder ``thresholds``."""

    temperature_max_c: float = 75.0
    overheat_predict_minutes: float = 10.0
    # a prediction is trusted only from enough history, a good linear fit, and several polls
    overheat_min_span_s: float = 120.0
    overheat_min_points: int = 6
    overheat_min_fit_r2: float = 0.8
    overheat_confirm_polls: int = 3
    # auto-remediation of a failed standby (encoder_manager.remediation)
    remedy_max_attempts: int = 4
    remedy_backoff_s: float = 15.0
    cpu_max_percent: float = 90.0
    drop_rate_max_per_s: float = 1.0
    link_lost_rate_max_per_s: float = 5.0
    link_rtt_max_ms: float = 500.0
    link_congestion_max: float = 0.5
    raise_after_count: int = 2
    raise_after_s: float = 0.0
    clear_after_s: float = 10.0
    instability_window_s: float = 3 * 3600.0

    @classmethod
    def merged(cls, *layers: Mapping[str, Any] | None) -> Thresholds:
        """Defaults overridden by each layer in turn; unknown or non-numeric keys are ignored."""
        known = {f.name: f.type for f in fields(cls)}
        values: dict[str, Any] = {}
        for layer in layers:
            for key, value in (layer or {}).items():
                if key in known and isinstance(value, int | float) and not isinstance(value, bool):
                    values[key] = int(value) if key in _INT_KEYS else float(value)
        return cls(**values)


@dataclass(frozen=True)
class Condition:
    """One alert condition as seen in this sample."""

    bad: bool
    severity: str = "major"
    summary: str = ""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Assessment:
    ok: bool
    conditions: dict[str, Condition]
    rates: dict[str, float | None]
    instability: float
    overheat_predicted_in_s: float | None = None


def slope(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope (units per second) of ``(t, value)``; None with < 3 points."""
    if len(points) < 3:
        return None
    n = len(points)
    mt = sum(t for t, _ in points) / n
    mv = sum(v for _, v in points) / n
    var = sum((t - mt) ** 2 for t, _ in points)
    if var <= 0:
        return None
    return sum((t - mt) * (v - mv) for t, v in points) / var


def fit(points: list[tuple[float, float]]) -> tuple[float, float] | None:
    """``(slope per second, r²)`` of the least-squares line through ``(t, value)``; None with
    < 3 points or no spread. r² (0..1) says how much of the variation the trend explains: a
    flat series with one noisy reading has a slope but a tiny r²."""
    rising = slope(points)
    if rising is None:
        return None
    n = len(points)
    mt = sum(t for t, _ in points) / n
    mv = sum(v for _, v in points) / n
    total = sum((v - mv) ** 2 for _, v in points)
    if total <= 0:
        return None
    residual = sum((v - (mv + rising * (t - mt))) ** 2 for t, v in points)
    return rising, max(0.0, 1.0 - residual / total)


@dataclass
class EncoderHealth:
    """Recent history of one encoder; feed every poll to :meth:`assess`, in time order."""

    history_s: float = 600.0
    _counters: dict[str, tuple[float, int]] = field(default_factory=dict)
    _temps: deque[tuple[float, float]] = field(default_factory=deque)
    _drops: deque[tuple[float, float]] = field(default_factory=deque)
    # bounded: an encoder down for hours must not grow memory without end (the score caps at 100)
    _events: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=MAX_EVENTS))
    _last_reachable: bool | None = None
    _last_live: bool | None = None
    consecutive_failures: int = 0
    healthy_since: float | None = None
    last_sample: HealthSample | None = None
    overheat_streak: int = 0  # consecutive polls with an overheat prediction

    def rate(self, name: str, value: int | None, now: float) -> float | None:
        """Per-second rate of a cumulative counter; None on the first value or after a reset."""
        if value is None:
            return None
        previous = self._counters.get(name)
        self._counters[name] = (now, value)
        if previous is None or now <= previous[0]:
            return None
        if value < previous[1]:
            self._event(now, 3.0)  # counter reset: the encoder restarted its pipeline
            return None
        return (value - previous[1]) / (now - previous[0])

    def _event(self, now: float, weight: float) -> None:
        self._events.append((now, weight))

    def instability(self, now: float, window_s: float) -> float:
        """0–100: reconnects, flaps and error bursts, each decaying over ``window_s / 3``."""
        while self._events and now - self._events[0][0] > window_s:
            self._events.popleft()
        tau = max(window_s / 3, 1.0)
        score = sum(w * math.exp(-(now - t) / tau) for t, w in self._events)
        return round(min(100.0, score), 1)

    def assess(self, sample: HealthSample, now: float, th: Thresholds, *, expect_live: bool) -> Assessment:
        """Fold ``sample`` into the history and judge it (``expect_live``: it should be on air)."""
        self.last_sample = sample
        if self._last_reachable is not None and sample.reachable != self._last_reachable:
            self._event(now, 5.0 if sample.reachable else 1.0)  # a reconnect weighs most
        elif not sample.reachable:
            self._event(now, 0.5)  # each failed poll of a burst
        self._last_reachable = sample.reachable
        if sample.reachable:
            live = sample.live
            if self._last_live and not live:
                self._event(now, 10.0)  # a flap of the stream
            self._last_live = live
        ok = sample.live if expect_live else (sample.reachable and sample.state != "failed")
        self.consecutive_failures = 0 if ok else self.consecutive_failures + 1
        self.healthy_since = (self.healthy_since or now) if ok else None

        drop_rate = self.rate("dropped", sample.frames_dropped, now)
        link = sample.link
        lost_rate = self.rate("lost", link.lost if link else None, now)
        retrans_rate = self.rate("retransmitted", link.retransmitted if link else None, now)
        self.rate("resets", sample.encoder_resets, now)
        self._remember(now, sample.temperature_c, drop_rate)
        predicted = self.overheat_eta(now, th)
        self.overheat_streak = self.overheat_streak + 1 if predicted is not None else 0
        conditions = {
            UNREACHABLE: Condition(not sample.reachable, "critical",
                                   f"encoder does not answer: {sample.error or 'no reply'}",
                                   {"error": sample.error}),
            STREAM_DOWN: self._stream_condition(sample, expect_live),
        }
        if sample.reachable:
            conditions[OVERHEAT] = self._overheat(sample.temperature_c, predicted, th)
            if sample.cpu_percent is not None:
                bad = sample.cpu_percent >= th.cpu_max_percent
                conditions[CPU_HIGH] = Condition(bad, "major", f"CPU at {sample.cpu_percent:.0f}% "
                                                 f"(limit {th.cpu_max_percent:.0f}%)",
                                                 {"cpu_percent": sample.cpu_percent})
            if drop_rate is not None:
                conditions[DROPPED_FRAMES] = self._drops_condition(drop_rate, th)
            link_cond = self._link_condition(lost_rate, link.rtt_ms if link else None,
                                             link.congestion if link else None, th)
            if link_cond is not None:
                conditions[LINK_ERRORS] = link_cond
        return Assessment(
            ok=ok, conditions=conditions,
            rates={"drop_rate": drop_rate, "lost_rate": lost_rate, "retransmitted_rate": retrans_rate},
            instability=self.instability(now, th.instability_window_s),
            overheat_predicted_in_s=predicted,
        )

    def _remember(self, now: float, temp: float | None, drop_rate: float | None) -> None:
        if temp is not None:
            self._temps.append((now, temp))
        if drop_rate is not None:
            self._drops.append((now, drop_rate))
        for series in (self._temps, self._drops):
            while series and now - series[0][0] > self.history_s:
                series.popleft()

    def overheat_predicted(self, th: Thresholds) -> bool:
        """A prediction that has held for ``overheat_confirm_polls`` polls: enough to act on."""
        return self.overheat_streak >= max(1, th.overheat_confirm_polls)

    def overheat_signal(self, th: Thresholds) -> bool:
        """What the failover policy sees as "overheating": over the limit now, or a confirmed
        prediction. A single raw prediction never switches anything."""
        temp = self.last_sample.temperature_c if self.last_sample else None
        return self.overheat_predicted(th) or (temp is not None and temp >= th.temperature_max_c)

    def overheat_eta(self, now: float, th: Thresholds) -> float | None:
        """Seconds until the temperature trend crosses the limit, if within the horizon.

        Only from a history spanning ``overheat_min_span_s`` with ``overheat_min_points``
        readings whose linear fit explains at least ``overheat_min_fit_r2`` of their variation:
        one noisy reading after a flat stretch predicts nothing.
        """
        window = max(300.0, th.overheat_min_span_s)
        recent = [(t, v) for t, v in self._temps if now - t <= window]
        if (len(recent) < max(3, th.overheat_min_points)
                or recent[-1][0] - recent[0][0] < th.overheat_min_span_s):
            return None
        trend = fit(recent)
        if trend is None:
            return None
        rising, r2 = trend
        if rising <= 0.001 or r2 < th.overheat_min_fit_r2 or recent[-1][1] >= th.temperature_max_c:
            return None
        eta = (th.temperature_max_c - recent[-1][1]) / rising
        return eta if eta <= th.overheat_predict_minutes * 60 else None

    @staticmethod
    def _stream_condition(sample: HealthSample, expect_live: bool) -> Condition:
        bad = sample.reachable and (sample.state == "failed" or (expect_live and not sample.live))
        return Condition(bad, "critical", f"stream is {sample.state} (device says "
                         f"{sample.vendor_state or 'nothing'})",
                         {"state": sample.state, "vendor_state": sample.vendor_state})

    @staticmethod
    def _overheat(temp: float | None, eta: float | None, th: Thresholds) -> Condition:
        if temp is not None and temp >= th.temperature_max_c:
            return Condition(True, "critical", f"temperature {temp:.1f} °C over the "
                             f"{th.temperature_max_c:.0f} °C limit", {"temperature_c": temp})
        if eta is not None:
            return Condition(True, "minor", f"temperature {temp} °C rising: reaches "
                             f"{th.temperature_max_c:.0f} °C in about {eta / 60:.1f} min",
                             {"temperature_c": temp, "eta_s": round(eta)})
        return Condition(False, "minor", "", {"temperature_c": temp})

    def _drops_condition(self, rate: float, th: Thresholds) -> Condition:
        if rate > th.drop_rate_max_per_s:
            return Condition(True, "major", f"dropping {rate:.1f} frames/s (limit "
                             f"{th.drop_rate_max_per_s:g}/s)", {"drop_rate": round(rate, 2)})
        trend = slope(list(self._drops)[-10:])
        if trend is not None and trend > 0 and rate > th.drop_rate_max_per_s / 2:
            return Condition(True, "minor", f"drop rate rising ({rate:.1f} frames/s, limit "
                             f"{th.drop_rate_max_per_s:g}/s)", {"drop_rate": round(rate, 2)})
        return Condition(False, "minor", "", {"drop_rate": round(rate, 2)})

    @staticmethod
    def _link_condition(lost_rate: float | None, rtt: float | None, congestion: float | None,
                        th: Thresholds) -> Condition | None:
        if lost_rate is None and rtt is None and congestion is None:
            return None
        problems = []
        if lost_rate is not None and lost_rate > th.link_lost_rate_max_per_s:
            problems.append(f"losing {lost_rate:.0f} packets/s")
        if rtt is not None and rtt > th.link_rtt_max_ms:
            problems.append(f"RTT {rtt:.0f} ms")
        if congestion is not None and congestion > th.link_congestion_max:
            problems.append(f"congestion {congestion:.2f}")
        return Condition(bool(problems), "minor", "link: " + ", ".join(problems),
                         {"lost_rate": lost_rate, "rtt_ms": rtt, "congestion": congestion})
