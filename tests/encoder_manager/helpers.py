"""Helpers of the encoder-manager tests: drivers for simulators, a manager on a thread, rows."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from castwatch.encoder_manager.drivers import DriverConfig, EncoderDriver, create_driver
from castwatch.simulators.encoders import EncoderSimulator
from tests.support.egress import LOOPBACK

T = TypeVar("T")


def driver_for(sim: EncoderSimulator, *, timeout_s: float = 1.0, **options: Any) -> EncoderDriver:
    return create_driver(sim.kind, DriverConfig(
        address=sim.address, username=sim.state.username, password=sim.state.password,
        options=options, timeout_s=timeout_s, retries=1, egress=LOOPBACK,
    ))


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


async def with_driver(driver: EncoderDriver, fn: Callable[[EncoderDriver], Coroutine[Any, Any, T]]) -> T:
    try:
        return await fn(driver)
    finally:
        await driver.close()


class ManagerHandle:
    """An :class:`EncoderManager` running on its own event loop thread."""

    def __init__(self, manager: Any) -> None:
        import threading

        self.manager = manager
        self.loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self._stop = asyncio.Event()
        try:
            self.loop.run_until_complete(self.manager.run(self._stop))
        except BaseException as exc:  # surfaced by stop()
            self.error = exc

    def start(self) -> ManagerHandle:
        self._thread.start()
        wait_for(lambda: self._stop is not None and self.manager.ready.is_set(), timeout=10)
        return self

    def stop(self) -> None:
        if self._stop is not None and self._thread.is_alive():
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=60)
        if self._thread.is_alive():
            import faulthandler
            import sys

            faulthandler.dump_traceback(file=sys.stderr, all_threads=True)  # where it is stuck
            for task in asyncio.all_tasks(self.loop):
                task.print_stack(file=sys.stderr)
            raise AssertionError("the manager did not stop within 60 s")
        self.loop.close()
        if self.error is not None:
            raise self.error


def wait_for(predicate: Callable[[], Any], *, timeout: float = 20.0, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until truthy (returned) or fail after ``timeout`` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def encoder_settings(**overrides: Any) -> Any:
    from castwatch.encoder_manager.settings import EncoderSettings

    base = dict(poll_interval_s=0.2, poll_timeout_s=0.5, reload_interval_s=0.5, command_poll_s=0.2,
                lock_interval_s=0.2, sample_write_interval_s=0.5, metrics_bind=("127.0.0.1", 0),
                credentials_env={"ENCODER_SECRET_SIM": "admin:admin", "ENCODER_SECRET_SIM_PW": "admin"},
                egress=LOOPBACK,
                credentials_bindings={"env:ENCODER_SECRET_SIM": (("127.0.0.1", None),),
                                      "env:ENCODER_SECRET_SIM_PW": (("127.0.0.1", None),)})
    return EncoderSettings(**(base | overrides))



def fast_group(db: Any, name: str = "main", **overrides: Any) -> Any:
    """An encoder group with test-speed policy (0.2 s polls, short holds)."""
    from castwatch.common.models import EncoderGroup

    values = dict(name=name, failure_threshold=3, poll_interval_s=0.2, verify_timeout_s=2.0,
                  failback_hold_s=1.0, min_switch_interval_s=5.0,
                  thresholds={"clear_after_s": 0.6, "raise_after_count": 2})
    group = EncoderGroup(**(values | overrides))
    db.add(group)
    db.flush()
    return group


def encoder_row(db: Any, sim: EncoderSimulator, name: str, group: Any = None, **overrides: Any) -> Any:
    from castwatch.common.models import Encoder

    # OBS has no user name: its secret is the bare password
    ref = "env:ENCODER_SECRET_SIM_PW" if sim.kind == "obs" else "env:ENCODER_SECRET_SIM"
    values = dict(name=name, driver_kind=sim.kind, address=sim.address, credentials_ref=ref,
                  group_id=group.id if group else None,
                  role="primary", thresholds={"clear_after_s": 0.6, "raise_after_count": 2})
    encoder = Encoder(**(values | overrides))
    db.add(encoder)
    db.flush()
    return encoder
