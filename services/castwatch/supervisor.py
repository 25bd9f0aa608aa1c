"""Run a set of child processes as one: prefixed log stream, restart with backoff, clean stop.

Used by ``castwatch up``. Each child is a :class:`ChildSpec` (a name, an argv, an
environment). The :class:`Supervisor` starts them, copies every output line to one stream as
``[name] line``, restarts a child that exits (after a backoff that grows with consecutive
quick failures and resets once the child has stayed up for ``stable_after_s``), and on
:meth:`Supervisor.stop` sends SIGTERM to every child, waits, then SIGKILLs what is left.

A child whose command line argparse refused is marked ``unavailable`` and not restarted: the
same arguments cannot succeed, so it must not crash-loop forever. The decisions (delay, usage
error) are pure functions, tested alone.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TextIO

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChildSpec:
    """One supervised process. ``url`` is shown in the status table (what runs where)."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    url: str = ""


def backoff_delay(consecutive_failures: int, *, base_s: float = 1.0, cap_s: float = 30.0) -> float:
    """Seconds to wait before restart number ``consecutive_failures`` (1, 2, 4 … capped)."""
    if consecutive_failures <= 0:
        return 0.0
    return min(cap_s, base_s * 2 ** (consecutive_failures - 1))


def is_usage_error(returncode: int | None, last_lines: Iterable[str]) -> bool:
    """True when argparse refused the child's command line (exit 2, "error:"): a restart with
    the same arguments cannot help."""
    return returncode == 2 and any(line.startswith("castwatch: error:") for line in last_lines)


@dataclass
class ChildState:
    """Runtime state of one child; ``status`` is running | backoff | unavailable | stopped."""

    spec: ChildSpec
    process: subprocess.Popen[bytes] | None = None
    status: str = "stopped"
    starts: int = 0
    failures: int = 0
    started_at: float = 0.0
    restart_at: float = 0.0
    last_lines: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=20))
    reader: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None


class Supervisor:
    """Start, watch, restart and stop ``specs``; all output goes to ``out`` line by line."""

    def __init__(self, specs: Sequence[ChildSpec], out: TextIO, *, base_s: float = 1.0,
                 cap_s: float = 30.0, stable_after_s: float = 10.0, stop_timeout_s: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.children = {spec.name: ChildState(spec) for spec in specs}
        self._out = out
        self._out_lock = threading.Lock()
        self._base_s = base_s
        self._cap_s = cap_s
        self._stable_after_s = stable_after_s
        self._stop_timeout_s = stop_timeout_s
        self._clock = clock
        self._stopping = False

    # -- output -----------------------------------------------------------------------------
    def emit(self, name: str, line: str) -> None:
        """Write one ``[name] line`` to the shared stream (thread-safe)."""
        with self._out_lock:
            self._out.write(f"[{name}] {line.rstrip()}\n")
            self._out.flush()

    def _pump(self, child: ChildState, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        for raw in iter(process.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            child.last_lines.append(line)
            self.emit(child.spec.name, line)
        process.stdout.close()

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        for child in self.children.values():
            self._spawn(child)

    def _spawn(self, child: ChildState) -> None:
        env = {**os.environ, **child.spec.env}
        env.setdefault("PYTHONUNBUFFERED", "1")
        child.last_lines.clear()
        # A session of its own: Ctrl-C at the terminal reaches only us; we stop children in order.
        process = subprocess.Popen(
            list(child.spec.argv), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        child.process = process
        child.status = "running"
        child.starts += 1
        child.started_at = self._clock()
        child.reader = threading.Thread(target=self._pump, args=(child, process),
                                         name=f"log-{child.spec.name}", daemon=True)
        child.reader.start()
        if child.starts > 1:
            self.emit("up", f"{child.spec.name} restarted (pid {process.pid}, start #{child.starts})")

    def poll(self) -> None:
        """One supervision step: notice exits, schedule and perform restarts."""
        now = self._clock()
        for child in self.children.values():
            if child.status == "running" and child.process is not None:
                code = child.process.poll()
                if code is None:
                    continue
                self._on_exit(child, code, now)
            elif child.status == "backoff" and now >= child.restart_at and not self._stopping:
                self._spawn(child)

    def _on_exit(self, child: ChildState, code: int, now: float) -> None:
        if child.reader is not None:
            child.reader.join(timeout=2)  # the last lines carry the reason
        name = child.spec.name
        if is_usage_error(code, child.last_lines):
            child.status = "unavailable"
            self.emit("up", f"{name} refused its command line; not restarting it")
            return
        if now - child.started_at >= self._stable_after_s:
            child.failures = 0
        child.failures += 1
        delay = backoff_delay(child.failures, base_s=self._base_s, cap_s=self._cap_s)
        child.status = "backoff"
        child.restart_at = now + delay
        self.emit("up", f"{name} exited with code {code}; restarting in {delay:.1f}s")

    def run_until(self, stop: threading.Event, *, tick_s: float = 0.2) -> None:
        """Supervise until ``stop`` is set (by a signal handler or a caller)."""
        while not stop.wait(tick_s):
            self.poll()

    def stop(self) -> None:
        """SIGTERM every running child, wait up to ``stop_timeout_s``, SIGKILL the rest."""
        self._stopping = True
        running = [c for c in self.children.values()
                   if c.process is not None and c.process.poll() is None]
        for child in running:
            assert child.process is not None
            self._signal(child.process, signal.SIGTERM)
        deadline = time.monotonic() + self._stop_timeout_s
        for child in running:
            assert child.process is not None
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.emit("up", f"{child.spec.name} did not stop in time; killing it")
                self._signal(child.process, signal.SIGKILL)
                child.process.wait(timeout=5)
        for child in self.children.values():
            if child.reader is not None:
                child.reader.join(timeout=2)
            if child.status != "unavailable":
                child.status = "stopped"

    @staticmethod
    def _signal(process: subprocess.Popen[bytes], sig: int) -> None:
        """Signal the child's whole process group (gunicorn workers, ffmpeg …)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)


def status_table(rows: Sequence[tuple[str, str, str]]) -> str:
    """Aligned ``name  state  where`` lines for the start-up banner."""
    width = max((len(r[0]) for r in rows), default=0)
    state_width = max((len(r[1]) for r in rows), default=0)
    return "\n".join(f"  {n.ljust(width)}  {s.ljust(state_width)}  {w}".rstrip() for n, s, w in rows)
