"""The demo's fault rotation: what to break, how, and when — so alerts open, fail over and
resolve while a newcomer watches.

:func:`fault_plan` and :func:`schedule` are pure; :class:`FaultInjector` is the thin loop that
talks to the simulators' ``/_sim`` control APIs (see castwatch.simulators).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HttpCall:
    method: str
    url: str
    json: dict[str, Any] | None = None
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Fault:
    """One demo fault: what a person will see, and the calls that start and end it."""

    name: str
    description: str
    inject: tuple[HttpCall, ...]
    clear: tuple[HttpCall, ...]


def _origin_fault(origin: str, code: str, fault: str, value: Any) -> tuple[HttpCall, HttpCall]:
    return (HttpCall("POST", f"{origin}/_sim/faults",
                     {"channel": code, "rendition": None, "fault": fault, "value": value}),
            HttpCall("DELETE", f"{origin}/_sim/faults", params={"channel": code, "fault": fault}))


def fault_plan(origin_url: str, codes: Sequence[str], primary_control: str,
               backup_control: str) -> list[Fault]:
    """The rotation, fastest to notice first: playlist errors, a dead primary encoder (the group
    fails over to the backup), a stalled live edge, slow segments, an overheating backup."""
    first, second = codes[0], codes[1 % len(codes)]
    third = codes[2 % len(codes)]
    plan = []
    inject, clear = _origin_fault(origin_url, second, "playlist_status", 500)
    plan.append(Fault("playlist_error", f"{second}: media playlists answer HTTP 500", (inject,), (clear,)))
    plan.append(Fault(
        "encoder_down", "demo-primary stops streaming: demo-studio fails over to demo-backup",
        (HttpCall("POST", f"{primary_control}/_sim/faults", {"stream_stop": True}),
         HttpCall("POST", f"{primary_control}/_sim/stop")),
        (HttpCall("POST", f"{primary_control}/_sim/faults/clear"),)))
    inject, clear = _origin_fault(origin_url, first, "stall", True)
    plan.append(Fault("stall", f"{first}: the live edge stops advancing", (inject,), (clear,)))
    inject, clear = _origin_fault(origin_url, third, "slow_segments", 3000)
    plan.append(Fault("slow_segments", f"{third}: segments take 3 s to download", (inject,), (clear,)))
    plan.append(Fault(
        "overheat", "demo-backup overheats",
        (HttpCall("POST", f"{backup_control}/_sim/faults", {"overheat": True}),),
        (HttpCall("POST", f"{backup_control}/_sim/faults/clear"),)))
    return plan


def schedule(k: int, *, first_delay_s: float, interval_s: float, duration_s: float) -> tuple[float, float]:
    """Seconds after start at which fault number ``k`` (0-based) begins and ends."""
    begin = first_delay_s + k * interval_s
    return begin, begin + min(duration_s, interval_s)


class FaultInjector:
    """Injects the plan's faults in turn until stopped; the active fault is cleared on stop."""

    def __init__(self, plan: Sequence[Fault], *, interval_s: float, duration_s: float,
                 first_delay_s: float, emit: Callable[[str], None]) -> None:
        self.plan = list(plan)
        self.interval_s = interval_s
        self.duration_s = duration_s
        self.first_delay_s = first_delay_s
        self._emit = emit
        self._http = requests.Session()
        self.injected: list[str] = []

    def _call(self, call: HttpCall) -> bool:
        try:
            response = self._http.request(call.method, call.url, json=call.json, params=call.params,
                                          timeout=5)
            response.raise_for_status()
            return True
        except requests.RequestException as exc:
            logger.warning("demo fault call failed %s %s: %s", call.method, call.url, exc)
            return False

    def run(self, stop: threading.Event) -> None:
        start = time.monotonic()
        k = 0
        while True:
            fault = self.plan[k % len(self.plan)]
            begin, end = schedule(k, first_delay_s=self.first_delay_s, interval_s=self.interval_s,
                                  duration_s=self.duration_s)
            if stop.wait(max(0.0, start + begin - time.monotonic())):
                return
            if all([self._call(c) for c in fault.inject]):
                self.injected.append(fault.name)
                self._emit(f"fault injected: {fault.description} (for {end - begin:.0f}s)")
            else:
                self._emit(f"fault {fault.name} could not be injected (is its simulator running?)")
            stopped = stop.wait(max(0.0, start + end - time.monotonic()))
            for call in fault.clear:
                self._call(call)
            self._emit(f"fault cleared: {fault.name}")
            if stopped:
                return
            k += 1
