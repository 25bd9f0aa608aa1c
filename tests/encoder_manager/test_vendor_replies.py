"""Drivers against replies shaped like the vendors' public references, not like our simulators.

Each test serves, on loopback, answers with the shapes a public reference documents or recorded
(Makito X4: the Bitfocus Companion module and the AVI-SPL driver's recorded device answers;
Blackmagic: the Web Presenter Ethernet Protocol; generic HTTP devices: plain HTTP semantics;
OBS: obs-websocket v5), and checks what the driver makes of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web

from castwatch.encoder_manager.drivers import DriverAuthExpired, DriverConfig, DriverError, create_driver
from tests.encoder_manager.helpers import run
from tests.support.egress import LOOPBACK

# -- Haivision Makito X4 ---------------------------------------------------------------------

MAKITO_STATUS = {"cardStatus": "OK", "cardType": "Makito X4 SDI Encoder", "firmwareVersion": "1.2.0-14",
                 "uptime": "0 days 21:51:28", "chipsetLoad": "4", "temperature": "54"}
MAKITO_VIDENC = {"data": [
    {"info": {"name": "Video Encoder 0", "id": 0, "codecAlgorithm": 1, "bitrate": 3000},
     "stats": {"encodedFrames": "23,093,165", "droppedFrames": "0", "encoderResets": 0,
               "encodedBitRate": "2,904", "encoderLoad": 25, "state": 7}},
    {"info": {"name": "Video Encoder 1", "id": 1},
     "stats": {"encodedFrames": "0", "droppedFrames": "0", "encoderResets": 0, "state": 0}},
]}


def _config(**options: Any) -> DriverConfig:
    """A driver config for a device on loopback (which the egress policy must allow)."""
    return DriverConfig(egress=LOOPBACK, **options)


def makito_stream(sid: int, name: str, state: int, rtt: int = 0) -> dict[str, Any]:
    return {"info": {"name": name, "id": sid, "type": "1", "encapsulation": "34", "latency": 250},
            "stats": {"uptime": "17d19h6m17s", "bitrate": "2,950 kbps" if state == 1 else "0 kbps",
                      "srt": {"state": state, "reconnections": "1", "resentPackets": "2",
                              "lostPackets": "2", "rtt": rtt, "latency": 250},
                      "state": state}}


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def makito_app(streams: list[dict[str, Any]], log: list[tuple[str, str]]) -> web.Application:
    async def login(request: web.Request) -> web.Response:
        body = await request.json()
        log.append((request.method, request.path))
        if body.get("password") != "secret":
            return web.Response(status=401, text="Unauthorized")
        resp = web.Response(text="OK", content_type="application/json")  # recorded: text, not JSON
        resp.set_cookie("SessionID", "SESSID16448589016542")
        return resp

    def guarded(payload: Callable[[web.Request], Any]) -> Callable[[web.Request], Any]:
        async def handler(request: web.Request) -> web.Response:
            log.append((request.method, request.path))
            if request.cookies.get("SessionID") != "SESSID16448589016542":
                return web.Response(status=401)
            return web.json_response(payload(request))
        return handler

    def act(request: web.Request) -> dict[str, Any]:
        sid = int(request.match_info["sid"])
        stream = next(s for s in streams if s["info"]["id"] == sid)
        stream["stats"]["state"] = 1 if request.match_info["action"] == "start" else 0
        return stream

    app = web.Application()
    app.add_routes([
        web.post("/apis/authentication", login),
        web.get("/apis/status", guarded(lambda _r: MAKITO_STATUS)),
        web.get("/apis/videnc", guarded(lambda _r: MAKITO_VIDENC)),
        web.get("/apis/streams", guarded(lambda _r: {"data": streams})),
        web.put("/apis/streams/{sid}/{action}", guarded(act)),
    ])
    return app


def test_makito_polls_a_device_shaped_like_the_public_references():
    streams = [makito_stream(1, "Stream&#32;Output&#32;0", 1, rtt=155193),
               makito_stream(2, "SRT&#32;Listen&#32;&#40;6001&#41;", 5)]
    log: list[tuple[str, str]] = []

    async def scenario():
        async with serve(makito_app(streams, log)) as address:
            driver = create_driver("haivision_makito", _config(address=address, password="secret"))
            try:
                return await driver.poll()
            finally:
                await driver.close()

    sample = run(scenario())
    assert sample.reachable and sample.state == "degraded"  # one streaming, one listening
    assert sample.vendor_state == "streaming,listening"
    assert [s.name for s in sample.streams] == ["Stream Output 0", "SRT Listen (6001)"]
    assert sample.temperature_c == 54.0 and sample.cpu_percent == 4.0 and sample.memory_percent is None
    assert sample.frames_total == 23_093_165 and sample.frames_dropped == 0 and sample.encoder_resets == 0
    assert sample.link is not None and sample.link.rtt_ms == pytest.approx(155.193)  # microseconds
    assert sample.link.retransmitted == 4 and sample.link.lost == 4 and sample.link.reconnections == 2
    assert sample.bitrate_kbps == 2950.0


def test_makito_starts_and_stops_with_put_and_reads_the_stream_object_back():
    streams = [makito_stream(1, "Stream&#32;Output&#32;0", 0)]
    log: list[tuple[str, str]] = []

    async def scenario():
        async with serve(makito_app(streams, log)) as address:
            driver = create_driver("haivision_makito", _config(address=address, password="secret",
                                                                    options={"stream_id": 1}))
            try:
                await driver.start_output()
                live = await driver.poll()
                await driver.stop_output()
                idle = await driver.poll()
                return live, idle
            finally:
                await driver.close()

    live, idle = run(scenario())
    assert (live.state, idle.state) == ("live", "idle")
    assert ("PUT", "/apis/streams/1/start") in log and ("PUT", "/apis/streams/1/stop") in log


def test_makito_with_a_wrong_password_is_auth_expired():
    async def scenario():
        async with serve(makito_app([makito_stream(1, "s", 1)], [])) as address:
            driver = create_driver("haivision_makito", _config(address=address, password="nope"))
            try:
                await driver.poll()
            finally:
                await driver.close()

    with pytest.raises(DriverAuthExpired):
        run(scenario())


# -- generic HTTP ------------------------------------------------------------------------------

def test_generic_http_matches_state_words_case_insensitively_and_takes_204_as_success():
    calls: list[str] = []

    async def status(_r: web.Request) -> web.Response:
        return web.json_response({"stream": {"state": "ONAIR"}})

    async def act(request: web.Request) -> web.Response:
        calls.append(request.path)
        return web.Response(status=204)

    app = web.Application()
    app.add_routes([web.get("/api/status", status), web.post("/api/stream/{which}", act)])

    async def scenario():
        async with serve(app) as address:
            driver = create_driver("generic_http", DriverConfig(egress=LOOPBACK,
                address=address, options={"auth": "none", "state_map": {"OnAir": "live"}}))
            try:
                sample = await driver.poll()
                await driver.start_output()
                await driver.stop_output()
                return sample
            finally:
                await driver.close()

    assert run(scenario()).state == "live"
    assert calls == ["/api/stream/start", "/api/stream/stop"]


# -- Blackmagic Web Presenter ------------------------------------------------------------------

async def web_presenter(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A device as the manual describes it: a state dump on connect with no end marker,
    ``Cache Used`` in percent, ``NACK`` for what it refuses."""
    state = {"Status": "Streaming"}
    writer.write(b"PROTOCOL PREAMBLE:\nVersion: 1.0\n\nIDENTITY:\nModel: Blackmagic Web Presenter\n"
                 b"Label: studio\n\nSTREAM STATE:\nStatus: Streaming\nBitrate: 6000000\n"
                 b"Cache Used: 2\n\n")
    await writer.drain()
    try:
        while True:
            lines = []
            while True:
                raw = await reader.readline()
                if not raw:
                    return
                line = raw.decode().rstrip("\n")
                if not line and lines:
                    break
                if line:
                    lines.append(line)
            if lines[0] != "STREAM STATE:":
                writer.write(b"NACK\n\n")
            elif any(x == "Action: Start" for x in lines):
                writer.write(b"NACK\n\n")  # e.g. no platform configured
            else:
                writer.write(f"ACK\n\nSTREAM STATE:\nStatus: {state['Status']}\nBitrate: 6000000\n"
                             f"Cache Used: 2\n\n".encode())
            await writer.drain()
    finally:
        writer.close()


def test_blackmagic_connects_without_an_end_prelude_and_reads_cache_as_a_percentage():
    from castwatch.encoder_manager.health import LINK_ERRORS, EncoderHealth, Thresholds

    async def scenario():
        server = await asyncio.start_server(web_presenter, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        driver = create_driver("blackmagic", _config(address=f"127.0.0.1:{port}", timeout_s=1.0))
        try:
            sample = await driver.poll()
            with pytest.raises(DriverError, match="NACK"):
                await driver.start_output()
            return sample, driver.identity  # type: ignore[attr-defined]
        finally:
            await driver.close()
            server.close()

    sample, identity = run(scenario())
    assert sample.state == "live" and identity.get("Label") == "studio"
    assert sample.link is not None and sample.link.congestion == pytest.approx(0.02)
    a = EncoderHealth().assess(sample, 0.0, Thresholds(), expect_live=True)
    assert not a.conditions[LINK_ERRORS].bad  # 2 % cache used is a healthy stream


# -- OBS -------------------------------------------------------------------------------------------

def test_obs_backs_off_after_a_refused_password(make_sim):
    sim = make_sim("obs")

    async def scenario():
        driver = create_driver("obs", _config(address=sim.address, password="wrong", timeout_s=1.0))
        try:
            for _ in range(6):
                with pytest.raises(DriverAuthExpired):
                    await driver.poll()
                await asyncio.sleep(0.05)
        finally:
            await driver.close()

    run(scenario())
    assert len(sim.state.requests_matching("Identify")) == 1  # one refusal, one notification


def test_obs_takes_a_password_with_a_colon_whole(make_sim):
    from castwatch.encoder_manager.credentials import resolve
    from castwatch.encoder_manager.drivers import driver_class
    from castwatch.encoder_manager.settings import EncoderSettings

    sim = make_sim("obs", password="studio:2024", streaming=True)
    cfg = EncoderSettings(metrics_bind=("127.0.0.1", 0),
                          credentials_env={"ENCODER_SECRET_OBS": "studio:2024"},
                          credentials_bindings={"env:ENCODER_SECRET_OBS": (("127.0.0.1", None),)})
    user, password = resolve("env:ENCODER_SECRET_OBS", cfg, None, address=sim.address,
                             password_only=driver_class("obs").password_only)
    assert password == "studio:2024"

    async def scenario():
        driver = create_driver("obs", _config(address=sim.address, username=user, password=password))
        try:
            return await driver.poll()
        finally:
            await driver.close()

    assert run(scenario()).state == "live"
