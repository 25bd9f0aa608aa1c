"""The device model every encoder simulator shares: state, fault plan, request log.

Values evolve with (monotonic) time, not with requests, so a test can reason about them:
frames grow at ``fps`` while live, drops at ``faults.drop_rate_per_s``, temperature ramps at
``faults.overheat_rate_c_per_s`` from the moment the overheat fault was switched on. The fault
plan can be changed at any time, in process (:meth:`SimState.set_faults`) or over HTTP
(``/_sim/faults``); ``flapping`` is seeded, so a run is reproducible.

Thread-safe: the servers run on an event loop thread while tests call in from another.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field, fields
from typing import Any

HTTP_ERROR_STATUSES = (401, 500, 503)
LOST_PER_S = 40.0  # packets lost per second while the link_errors fault is on


@dataclass(frozen=True)
class FaultPlan:
    """What is wrong with the device right now; the default is a healthy device."""

    overheat: bool = False
    overheat_rate_c_per_s: float = 2.0
    drop_rate_per_s: float = 0.0
    link_errors: bool = False
    stream_stop: bool = False
    hang: bool = False
    http_error: int | None = None
    session_ttl_s: float | None = None
    malformed: bool = False
    retry_storm: bool = False
    flapping: float = 0.0
    seed: int = 1
    disk_full: bool = False  # local recording stops (and will not start) for lack of space

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultPlan:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown faults: {', '.join(sorted(unknown))}")
        plan = cls(**data)
        if plan.http_error is not None and plan.http_error not in HTTP_ERROR_STATUSES:
            raise ValueError(f"http_error must be one of {HTTP_ERROR_STATUSES}")
        if not 0.0 <= plan.flapping <= 1.0:
            raise ValueError("flapping is a probability between 0 and 1")
        return plan


@dataclass(frozen=True)
class RequestRecord:
    at: float
    method: str
    path: str
    body: str = ""


@dataclass
class Snapshot:
    """What the device would report now (before protocol formatting)."""

    streaming: bool
    temperature_c: float
    cpu_percent: float
    memory_percent: float
    bitrate_kbps: float
    frames_total: int
    frames_dropped: int
    rtt_ms: float
    lost: int
    retransmitted: int
    reconnections: int
    resets: int
    uptime_s: float
    recording: bool = False
    disk_free_mb: float = 0.0


@dataclass
class SimState:
    """One simulated encoder. ``now`` is injectable for pure tests of the model."""

    name: str = "sim-encoder"
    username: str = "admin"
    password: str = "admin"
    fps: float = 30.0
    base_temperature_c: float = 45.0
    base_cpu_percent: float = 35.0
    bitrate_kbps: float = 6000.0
    streaming: bool = False
    recording: bool = False
    disk_free_mb: float = 250_000.0
    faults: FaultPlan = field(default_factory=FaultPlan)
    max_log: int = 2000

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._born = time.monotonic()
        self._live_since: float | None = time.monotonic() if self.streaming else None
        self._frames_base = 0.0
        self._drops_base = 0.0
        self._drops_since = time.monotonic()
        self._overheat_since: float | None = None
        self._lost_base = 0.0
        self._link_since = time.monotonic()
        self._reconnections = 0
        self._rng = random.Random(self.faults.seed)
        self._session_gen = 0
        self.record_stop_reason: str | None = None
        self.requests: deque[RequestRecord] = deque(maxlen=self.max_log)

    # -- control ---------------------------------------------------------------------------

    def set_faults(self, **changes: Any) -> FaultPlan:
        """Change some faults (unknown names raise ``ValueError``); returns the new plan."""
        with self._lock:
            now = time.monotonic()
            plan = FaultPlan.from_dict({**asdict(self.faults), **changes})
            self._accumulate(now)
            if plan.overheat and not self.faults.overheat:
                self._overheat_since = now
            if not plan.overheat:
                self._overheat_since = None
            if plan.seed != self.faults.seed or "flapping" in changes:
                self._rng = random.Random(plan.seed)
            if plan.stream_stop and not self.faults.stream_stop:
                self._stop(now)
            if plan.disk_full and not self.faults.disk_full and self.recording:
                self.recording = False
                self.record_stop_reason = "disk full"
            self.faults = plan
            return plan

    def clear_faults(self) -> FaultPlan:
        with self._lock:
            return self.set_faults(**asdict(FaultPlan()))

    def expire_sessions(self) -> None:
        """Invalidate every login (the next authenticated request is refused)."""
        with self._lock:
            self._session_gen += 1

    def session_token(self) -> str:
        with self._lock:
            return f"{self._session_gen}:{time.monotonic():.6f}"

    def session_valid(self, token: str | None) -> bool:
        if not token or ":" not in token:
            return False
        gen, _, issued = token.partition(":")
        with self._lock:
            if gen != str(self._session_gen):
                return False
            ttl = self.faults.session_ttl_s
            try:
                return ttl is None or time.monotonic() - float(issued) < ttl
            except ValueError:
                return False

    def log(self, method: str, path: str, body: str = "") -> None:
        with self._lock:
            self.requests.append(RequestRecord(time.monotonic(), method, path, body))

    def requests_matching(self, text: str) -> list[RequestRecord]:
        with self._lock:
            return [r for r in self.requests if text in r.path or text in r.body]

    # -- device behaviour ------------------------------------------------------------------

    def start(self) -> bool:
        """Start streaming; False when the device refuses (stream_stop fault holds it down)."""
        with self._lock:
            if self.faults.stream_stop:
                return False
            if not self.streaming:
                self.streaming = True
                self._live_since = time.monotonic()
            return True

    def stop(self) -> None:
        with self._lock:
            self._stop(time.monotonic())

    def record_start(self) -> bool:
        """Start local recording; False when the device refuses (disk full)."""
        with self._lock:
            if self.faults.disk_full:
                self.record_stop_reason = "disk full"
                return False
            self.recording, self.record_stop_reason = True, None
            return True

    def record_stop(self) -> None:
        with self._lock:
            self.recording, self.record_stop_reason = False, None

    def _stop(self, now: float) -> None:
        self._accumulate(now)
        self.streaming = False
        self._live_since = None

    def flap_bad(self) -> bool:
        """One seeded draw: does this reply show the stream down because of flapping?"""
        with self._lock:
            return self.faults.flapping > 0 and self._rng.random() < self.faults.flapping

    def _accumulate(self, now: float) -> None:
        if self._live_since is not None:
            self._frames_base += (now - self._live_since) * self.fps
            self._live_since = now
        self._drops_base += (now - self._drops_since) * self.faults.drop_rate_per_s
        self._drops_since = now
        if self.faults.link_errors:
            self._lost_base += (now - self._link_since) * LOST_PER_S
        self._link_since = now

    def snapshot(self, now: float | None = None) -> Snapshot:
        with self._lock:
            now = time.monotonic() if now is None else now
            frames = self._frames_base
            if self._live_since is not None:
                frames += (now - self._live_since) * self.fps
            drops = self._drops_base + (now - self._drops_since) * self.faults.drop_rate_per_s
            temp = self.base_temperature_c
            if self._overheat_since is not None:
                temp += (now - self._overheat_since) * self.faults.overheat_rate_c_per_s
            link_bad = self.faults.link_errors
            lost = self._lost_base + ((now - self._link_since) * LOST_PER_S if link_bad else 0.0)
            uptime = now - self._born
            return Snapshot(
                streaming=self.streaming,
                temperature_c=round(temp, 1),
                cpu_percent=round(min(100.0, self.base_cpu_percent + (15 if self.streaming else 0)
                                      + max(0.0, temp - self.base_temperature_c)), 1),
                memory_percent=42.0,
                bitrate_kbps=self.bitrate_kbps if self.streaming else 0.0,
                frames_total=int(frames),
                frames_dropped=int(drops),
                rtt_ms=180.0 if link_bad else 12.0,
                lost=int(lost),
                retransmitted=int(lost * 2.5),
                reconnections=self._reconnections,
                resets=0,
                uptime_s=uptime,
                recording=self.recording,
                disk_free_mb=0.0 if self.faults.disk_full else self.disk_free_mb,
            )

    def describe(self) -> dict[str, Any]:
        """JSON for ``GET /_sim/state``."""
        with self._lock:
            return {"name": self.name, "faults": asdict(self.faults),
                    "snapshot": asdict(self.snapshot()), "requests": len(self.requests)}

