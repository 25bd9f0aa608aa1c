"""Simulator plumbing: an event-loop host thread, the ``/_sim`` control API, fault middleware.

Every simulator listens on 127.0.0.1 (port 0 by default) and exposes the same control API:

- ``GET /_sim/state`` — faults, a snapshot of the device values, request count;
- ``POST /_sim/faults`` — JSON object of fault changes (see :class:`FaultPlan`);
- ``POST /_sim/faults/clear``, ``POST /_sim/expire_sessions``;
- ``POST /_sim/start`` / ``POST /_sim/stop`` — change the stream as if an operator did;
- ``GET /_sim/requests`` — the request log (method, path, body).

HTTP simulators serve it on their own port; socket simulators (Blackmagic) on a side port.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import asdict
from typing import Any, ClassVar, TypeVar

from aiohttp import web

from castwatch.simulators.encoders.state import SimState

T = TypeVar("T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: A hung request is answered 504 after this long, so no handler lives forever.
HANG_LIMIT_S = 30.0


async def wait_while_hung(state: SimState) -> bool:
    """Sleep while the hang fault is on (bounded); True if we waited."""
    waited = 0.0
    while state.faults.hang and waited < HANG_LIMIT_S:
        await asyncio.sleep(0.05)
        waited += 0.05
    return waited > 0


class SimHost:
    """An asyncio loop in a daemon thread that hosts any number of simulators."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="sim-host", daemon=True)
        self._sims: list[EncoderSimulator] = []

    def start(self) -> SimHost:
        self._thread.start()
        return self

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def add(self, sim: EncoderSimulator) -> EncoderSimulator:
        self.run(sim.start())
        self._sims.append(sim)
        return sim

    def stop(self) -> None:
        for sim in self._sims:
            # a simulator that fails to stop must not keep the others running
            with contextlib.suppress(Exception):
                self.run(sim.stop(), timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)


def control_routes(state: SimState) -> list[web.RouteDef]:
    """The ``/_sim`` control API of one simulated device (see the module docstring)."""
    async def get_state(_req: web.Request) -> web.Response:
        return web.json_response(state.describe())

    async def set_faults(req: web.Request) -> web.Response:
        try:
            changes = await req.json()
            if not isinstance(changes, dict):
                raise ValueError("expected a JSON object")
            plan = state.set_faults(**changes)
        except (ValueError, TypeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(asdict(plan) | {"ok": True})

    async def clear(_req: web.Request) -> web.Response:
        state.clear_faults()
        return web.json_response({"ok": True})

    async def expire(_req: web.Request) -> web.Response:
        state.expire_sessions()
        return web.json_response({"ok": True})

    async def start(_req: web.Request) -> web.Response:
        return web.json_response({"ok": state.start()})

    async def stop(_req: web.Request) -> web.Response:
        state.stop()
        return web.json_response({"ok": True})

    async def requests(_req: web.Request) -> web.Response:
        rows = [{"at": r.at, "method": r.method, "path": r.path, "body": r.body}
                for r in list(state.requests)]
        return web.json_response(rows)

    return [
        web.get("/_sim/state", get_state), web.post("/_sim/faults", set_faults),
        web.post("/_sim/faults/clear", clear), web.post("/_sim/expire_sessions", expire),
        web.post("/_sim/start", start), web.post("/_sim/stop", stop),
        web.get("/_sim/requests", requests),
    ]


class EncoderSimulator(ABC):
    """One simulated device on loopback. ``address`` is what an encoder row's address holds."""

    kind: ClassVar[str]

    def __init__(self, state: SimState | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 control_port: int = 0) -> None:
        self.state = state or SimState()
        self.host = host
        self._port = port
        self._control_port = control_port
        self._runners: list[web.AppRunner] = []
        self.port = 0
        self.control_port = 0

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def control_url(self) -> str:
        return f"http://{self.host}:{self.control_port}/_sim"

    @abstractmethod
    async def start(self) -> None: ...

    async def stop(self) -> None:
        self.state.set_faults(hang=False)  # release hung handlers so the server can shut down
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()

    async def _serve(self, app: web.Application, port: int) -> int:
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, port, reuse_address=True)
        await site.start()
        self._runners.append(runner)
        server: Any = site._server
        assert server is not None and server.sockets
        return int(server.sockets[0].getsockname()[1])


class HttpSimulator(EncoderSimulator):
    """A device with an HTTP API: subclasses return their routes from :meth:`routes`."""

    @abstractmethod
    def routes(self) -> list[web.RouteDef]: ...

    async def start(self) -> None:
        app = web.Application(middlewares=[self._faults_middleware])
        app.add_routes(control_routes(self.state))
        app.add_routes(self.routes())
        self.port = self.control_port = await self._serve(app, self._port)

    @web.middleware
    async def _faults_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_sim/"):
            return await handler(request)
        body = await request.text() if request.can_read_body else ""
        self.state.log(request.method, request.path_qs, body)
        if await wait_while_hung(self.state):
            return web.Response(status=504, text="hung")
        status = self.state.faults.http_error
        if status is not None:
            return web.Response(status=status, text=f"simulated {status}")
        return await handler(request)


def json_text(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))
