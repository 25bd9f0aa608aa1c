"""The simulated origin over HTTP (aiohttp): HLS, DASH, segments and the ``/_sim/faults`` API.

URLs (``CODE`` is a channel code, ``R`` a rendition name such as ``720p``)::

    /live/CODE/master.m3u8            HLS master playlist
    /live/CODE/R/index.m3u8           HLS media playlist (ETag / Last-Modified, 304 supported)
    /live/CODE/R/seg_N.ts             MPEG-TS segment with media sequence number N
                                      (R = audio_LANG: a separate audio rendition, AAC in TS)
    /live/CODE/manifest.mpd           DASH MPD (SegmentTemplate + SegmentTimeline, $Number$)
    /live/CODE/dash/R/init.mp4, /live/CODE/dash/R/N.m4s
    GET /_sim/channels                the channels and their URLs
    GET /_sim/faults                  active faults and the fault catalogue
    POST /_sim/faults                 {"channel": CODE, "rendition": R|null, "fault": F, "value": V}
    DELETE /_sim/faults?channel=CODE&rendition=R&fault=F   (every parameter optional)

Use :class:`OriginSimulator` inside an event loop, or :class:`SimulatorThread` from sync code.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import ssl
import threading
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from aiohttp import web

from castwatch.simulators.origin import media as media_bytes
from castwatch.simulators.origin import render
from castwatch.simulators.origin.lavfi import CONTENT_FAULTS, MediaCache, MediaError
from castwatch.simulators.origin.model import FAULTS, FaultError, OriginModel, Rendition, SimConfig

logger = logging.getLogger(__name__)

_TS = media_bytes.ts_segment()
_INIT = media_bytes.fmp4_init()


class OriginSimulator:
    def __init__(self, config: SimConfig | None = None, host: str = "127.0.0.1", port: int = 0,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.model = OriginModel(config or SimConfig())
        self.host, self.port = host, port
        self.ssl_context = ssl_context
        self._runner: web.AppRunner | None = None
        self._cache: dict[tuple[str, str], tuple[tuple[int, int, int], bytes, str, str]] = {}
        self.requests = 0
        self.media = MediaCache()

    @property
    def base_url(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def master_url(self, code: str) -> str:
        return f"{self.base_url}/live/{code}/master.m3u8"

    def mpd_url(self, code: str) -> str:
        return f"{self.base_url}/live/{code}/manifest.mpd"

    def app(self) -> web.Application:
        app = web.Application()
        app.add_routes([
            web.get("/live/{code}/master.m3u8", self._master),
            web.get("/live/{code}/manifest.mpd", self._mpd),
            web.get("/live/{code}/dash/{rend}/init.mp4", self._dash_init),
            web.get("/live/{code}/dash/{rend}/{num}.m4s", self._dash_segment),
            web.get("/live/{code}/{rend}/index.m3u8", self._media),
            web.get("/live/{code}/{rend}/seg_{num}.ts", self._ts_segment),
            web.get("/_sim/channels", self._channels),
            web.get("/_sim/faults", self._faults_get),
            web.post("/_sim/faults", self._faults_post),
            web.delete("/_sim/faults", self._faults_delete),
        ])
        return app

    async def start(self) -> str:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=1024,
                           ssl_context=self.ssl_context)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- HLS --------------------------------------------------------------------------
    def _rendition(self, request: web.Request) -> tuple[str, Rendition]:
        code, name = request.match_info["code"], request.match_info["rend"]
        try:
            return code, self.model.rendition(code, name)
        except FaultError:
            raise web.HTTPNotFound() from None

    async def _master(self, request: web.Request) -> web.Response:
        self.requests += 1
        code = request.match_info["code"]
        if code not in self.model.channels:
            raise web.HTTPNotFound()
        with self.model._lock:
            text = render.master(self.model, code)
        return web.Response(text=text, content_type="application/vnd.apple.mpegurl")

    async def _media(self, request: web.Request) -> web.Response:
        self.requests += 1
        code, r = self._rendition(request)
        name = r.spec.name
        if self.model.fault(code, name, "drop_rendition"):
            raise web.HTTPNotFound()
        status = self.model.fault(code, name, "playlist_status")
        if status:
            return web.Response(status=int(status), text="simulated failure\n")
        with self.model._lock:
            key = (self.model.edge(r), r.shift, self.model.version)
            cached = self._cache.get((code, name))
            if cached is None or cached[0] != key:
                body = render.media(self.model, code, r).encode()
                etag = '"' + hashlib.blake2b(body, digest_size=8).hexdigest() + '"'
                wall = datetime.now(UTC).timestamp() - (self.model.clock() - self.model.edge_time(r))
                modified = format_datetime(datetime.fromtimestamp(wall, UTC), usegmt=True)
                cached = (key, body, etag, modified)
                self._cache[(code, name)] = cached
        _, body, etag, modified = cached
        headers = {"ETag": etag, "Last-Modified": modified, "Cache-Control": "max-age=0"}
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, headers=headers, content_type="application/vnd.apple.mpegurl")

    async def _segment_faults(self, code: str, name: str) -> web.Response | None:
        delay = self.model.fault(code, name, "slow_segments")
        if delay:
            await asyncio.sleep((1500 if delay is True else float(delay)) / 1000)
        status = self.model.fault(code, name, "segment_status")
        if status:
            return web.Response(status=int(status), text="simulated failure\n")
        return None

    async def _ts_segment(self, request: web.Request) -> web.Response:
        self.requests += 1
        code, r = self._rendition(request)
        num = request.match_info["num"]
        if not num.lstrip("-").isdigit() or self.model.index_of(r, int(num)) is None:
            raise web.HTTPNotFound()
        failed = await self._segment_faults(code, r.spec.name)
        if failed is not None:
            return failed
        data = await self._real_media(code, r) or _TS
        if self.model.fault(code, r.spec.name, "corrupt_segments"):
            data = media_bytes.corrupt(data)
        return web.Response(body=data, content_type="video/mp2t")

    async def _real_media(self, code: str, r: Rendition) -> bytes | None:
        """A real segment in the rendition's content state, or None for the synthetic one."""
        state = next((f for f in CONTENT_FAULTS if self.model.fault(code, r.spec.name, f)), None)
        if state is None and not self.model.config.real_media:
            return None
        value = self.model.fault(code, r.spec.name, "starved") if state == "starved" else None
        kbps = int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
        if state != "starved":  # hold the video to the rung's BANDWIDTH (TS and audio overhead)
            kbps = max(100, int(r.spec.bandwidth * 0.6 / 1000) - 64) if r.spec.bandwidth else None
        try:
            return await asyncio.to_thread(self.media.get, r.spec.width, r.spec.height,
                                           self.model.config.segment_s, state or "normal", kbps,
                                           r.spec.kind == "audio" or not self.model.demuxed(code))
        except MediaError as exc:
            logger.error("real media unavailable: %s", exc)
            return None

    # -- DASH -------------------------------------------------------------------------
    async def _mpd(self, request: web.Request) -> web.Response:
        self.requests += 1
        code = request.match_info["code"]
        if code not in self.model.channels:
            raise web.HTTPNotFound()
        with self.model._lock:
            text = render.mpd(self.model, code, datetime.now(UTC), self.model.clock())
        if self.model.faults.get((code, None), {}).get("mpd_invalid"):
            text = text[: len(text) // 2]
        return web.Response(text=text, content_type="application/dash+xml")

    async def _dash_init(self, request: web.Request) -> web.Response:
        self._rendition(request)
        return web.Response(body=_INIT, content_type="video/mp4")

    async def _dash_segment(self, request: web.Request) -> web.Response:
        self.requests += 1
        code, r = self._rendition(request)
        num = request.match_info["num"]
        if not num.lstrip("-").isdigit() or self.model.index_of(r, int(num)) is None:
            raise web.HTTPNotFound()
        failed = await self._segment_faults(code, r.spec.name)
        if failed is not None:
            return failed
        data = media_bytes.fmp4_segment(int(num))
        if self.model.fault(code, r.spec.name, "corrupt_segments"):
            data = media_bytes.corrupt(data)
        return web.Response(body=data, content_type="video/iso.segment")

    # -- control ----------------------------------------------------------------------
    async def _channels(self, request: web.Request) -> web.Response:
        return web.json_response([
            {"code": code, "hls": self.master_url(code), "dash": self.mpd_url(code),
             "renditions": list(rends)} for code, rends in self.model.channels.items()])

    async def _faults_get(self, request: web.Request) -> web.Response:
        return web.json_response({"active": self.model.snapshot(), "catalogue": FAULTS})

    async def _faults_post(self, request: web.Request) -> web.Response:
        try:
            body: dict[str, Any] = await request.json()
            self.model.set_fault(str(body["channel"]), body.get("rendition"), str(body["fault"]),
                                 body.get("value", True))
        except (ValueError, KeyError, TypeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"active": self.model.snapshot()})

    async def _faults_delete(self, request: web.Request) -> web.Response:
        q = request.query
        try:
            self.model.clear_fault(q.get("channel"), q.get("rendition"), q.get("fault"))
        except FaultError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"active": self.model.snapshot()})


class SimulatorThread:
    """Runs an :class:`OriginSimulator` on its own event loop in a daemon thread.

    ``with SimulatorThread(SimConfig(channels=2)) as sim: sim.master_url("CH_SIM_001")``.
    """

    def __init__(self, config: SimConfig | None = None, host: str = "127.0.0.1", port: int = 0,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.sim = OriginSimulator(config, host, port, ssl_context)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sim-origin", daemon=True)

    def __enter__(self) -> OriginSimulator:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.sim.start(), self._loop).result(timeout=10)
        return self.sim

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.sim.stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()
