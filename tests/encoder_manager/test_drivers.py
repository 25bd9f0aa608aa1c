"""Every driver against its simulator over real sockets: polls, control, typed errors."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from castwatch.encoder_manager.drivers import (
    DriverAuthExpired,
    DriverBusy,
    DriverError,
    DriverHTTPError,
    DriverProtocolError,
    DriverTimeout,
    driver_class,
)
from castwatch.encoder_manager.sample import HealthSample
from tests.encoder_manager.conftest import KINDS
from tests.encoder_manager.helpers import driver_for, run
from tests.support.egress import LOOPBACK

HTTP_KINDS = ("aja_helo", "matrox_monarch", "haivision_makito", "obs", "generic_http")


async def poll_twice(driver, pause: float = 0.15) -> HealthSample:
    try:
        await driver.poll()
        await asyncio.sleep(pause)
        return await driver.poll()
    finally:
        await driver.close()


@pytest.mark.parametrize("kind", KINDS)
def test_it_reads_a_live_encoder(kind, make_sim):
    sim = make_sim(kind, streaming=True)
    sample = run(poll_twice(driver_for(sim)))
    assert sample.reachable and sample.state == "live"
    assert sample.vendor_state


@pytest.mark.parametrize("kind", KINDS)
def test_it_starts_and_stops_the_stream_output(kind, make_sim):
    sim = make_sim(kind)

    async def scenario():
        driver = driver_for(sim)
        try:
            before = await driver.poll()
            await driver.start_output()
            live = await driver.poll()
            await driver.stop_output()
            after = await driver.poll()
            return before, live, after
        finally:
            await driver.close()

    before, live, after = run(scenario())
    assert (before.state, live.state, after.state) == ("idle", "live", "idle")
    assert not sim.state.streaming


@pytest.mark.parametrize("kind", KINDS)
def test_a_hung_device_times_out(kind, make_sim):
    sim = make_sim(kind, streaming=True)
    sim.state.set_faults(hang=True)
    try:
        with pytest.raises(DriverTimeout):
            run(poll_twice(driver_for(sim, timeout_s=0.3), pause=0))
    finally:
        sim.state.set_faults(hang=False)


@pytest.mark.parametrize("kind", KINDS)
def test_a_malformed_reply_is_a_protocol_error(kind, make_sim):
    sim = make_sim(kind, streaming=True)

    async def scenario():
        driver = driver_for(sim)
        try:
            await driver.poll()  # connected and logged in first
            sim.state.set_faults(malformed=True)
            return await driver.poll()
        finally:
            await driver.close()

    with pytest.raises(DriverProtocolError):
        run(scenario())


@pytest.mark.parametrize("kind", ["aja_helo", "matrox_monarch", "haivision_makito", "generic_http"])
def test_an_http_500_is_a_typed_http_error(kind, make_sim):
    sim = make_sim(kind)
    sim.state.set_faults(http_error=500)
    with pytest.raises(DriverHTTPError) as info:
        run(poll_twice(driver_for(sim), pause=0))
    assert info.value.status == 500


def test_a_503_is_retried_before_it_counts(make_sim):
    sim = make_sim("haivision_makito", streaming=True)
    sim.state.set_faults(http_error=503)

    async def scenario():
        driver = driver_for(sim)
        with contextlib.suppress(DriverHTTPError):
            await driver.poll()
        return len(sim.state.requests_matching("/apis/authentication"))

    run(scenario())
    # the login itself is retried once (1 + retries) before the poll gives up
    assert len(sim.state.requests) >= 2


@pytest.mark.parametrize("kind", ["haivision_makito", "generic_http", "matrox_monarch"])
def test_a_persistent_401_is_auth_expired_after_one_relogin(kind, make_sim):
    sim = make_sim(kind)
    sim.state.set_faults(http_error=401)
    with pytest.raises(DriverAuthExpired):
        run(poll_twice(driver_for(sim), pause=0))


@pytest.mark.parametrize("kind", ["aja_helo", "haivision_makito", "obs"])
def test_an_expired_session_logs_in_again_transparently(kind, make_sim):
    sim = make_sim(kind, streaming=True)

    async def scenario():
        driver = driver_for(sim)
        try:
            await driver.poll()
            sim.state.expire_sessions()
            return await driver.poll()
        finally:
            await driver.close()

    assert run(scenario()).state == "live"
    logins = sim.state.requests_matching("/authenticator/login") + sim.state.requests_matching(
        "/apis/authentication")
    assert kind == "obs" or len(logins) == 2


def test_aja_treats_404_as_an_expired_session(make_sim):
    sim = make_sim("aja_helo", streaming=True)
    sim.state.set_faults(session_ttl_s=0.05)

    async def scenario():
        driver = driver_for(sim)
        try:
            await driver.poll()
            await asyncio.sleep(0.1)
            return await driver.poll()
        finally:
            await driver.close()

    assert run(scenario()).state == "live"
    assert len(sim.state.requests_matching("/authenticator/login")) >= 2


def test_a_monarch_retry_storm_is_retried_then_reported_busy(make_sim):
    sim = make_sim("matrox_monarch")
    sim.state.set_faults(retry_storm=True)

    async def start():
        driver = driver_for(sim, timeout_s=2.0)
        try:
            await driver.start_output()
        finally:
            await driver.close()

    with pytest.raises(DriverBusy):
        run(start())
    assert len(sim.state.requests_matching("StartStreaming")) == 3
    assert not sim.state.streaming


def test_a_monarch_start_succeeds_when_the_storm_passes(make_sim, sim_host):
    sim = make_sim("matrox_monarch")
    sim.state.set_faults(retry_storm=True)

    async def start():
        driver = driver_for(sim, timeout_s=2.0)
        try:
            task = asyncio.create_task(driver.start_output())
            await asyncio.sleep(0.02)
            sim.state.set_faults(retry_storm=False)
            await task
        finally:
            await driver.close()

    run(start())
    assert sim.state.streaming


def test_wrong_obs_password_is_auth_expired(make_sim):
    from castwatch.encoder_manager.drivers import DriverConfig, create_driver

    sim = make_sim("obs")
    driver = create_driver("obs", DriverConfig(address=sim.address, password="wrong", timeout_s=1.0,
                                                egress=LOOPBACK))
    with pytest.raises(DriverAuthExpired):
        run(poll_twice(driver, pause=0))


def test_devices_that_do_not_report_a_value_give_none_not_zero(make_sim):
    monarch = run(poll_twice(driver_for(make_sim("matrox_monarch", streaming=True)), pause=0))
    blackmagic = run(poll_twice(driver_for(make_sim("blackmagic", streaming=True)), pause=0))
    assert monarch.temperature_c is None and monarch.cpu_percent is None
    assert monarch.frames_dropped is None
    assert blackmagic.temperature_c is None and blackmagic.frames_total is None
    assert blackmagic.bitrate_kbps == 6000.0


def test_makito_reads_ui_formatted_numbers_and_srt_stats(make_sim):
    sim = make_sim("haivision_makito", streaming=True)
    sim.state.set_faults(link_errors=True, drop_rate_per_s=50.0)
    sample = run(poll_twice(driver_for(sim), pause=0.1))
    assert sample.temperature_c == 45.0 and sample.cpu_percent is not None
    assert sample.frames_total is not None and sample.frames_dropped is not None
    assert sample.link is not None and sample.link.rtt_ms == 180.0 and (sample.link.lost or 0) > 0


def test_obs_derives_bitrate_from_output_bytes(make_sim):
    sample = run(poll_twice(driver_for(make_sim("obs", streaming=True)), pause=0.2))
    assert sample.bitrate_kbps is not None and sample.bitrate_kbps > 0


def test_generic_driver_follows_a_custom_mapping(make_sim):
    sim = make_sim("generic_http", streaming=True)
    driver = driver_for(sim, fields={"temperature_c": "device.cpu", "cpu_percent": "nowhere.at.all"},
                        state_map={"running": "degraded"})
    sample = run(poll_twice(driver, pause=0))
    assert sample.state == "degraded"
    assert sample.cpu_percent is None and sample.temperature_c == 50.0


def test_an_unreachable_address_is_a_driver_error():
    from castwatch.encoder_manager.drivers import DriverConfig, create_driver

    driver = create_driver("aja_helo", DriverConfig(address="127.0.0.1:9", password="x", timeout_s=0.5,
                                                     egress=LOOPBACK))
    with pytest.raises(DriverError):
        run(poll_twice(driver, pause=0))


def test_an_unknown_kind_has_no_driver():
    with pytest.raises(DriverError):
        driver_class("betamax")


@pytest.mark.parametrize("kind", KINDS)
def test_every_driver_declares_start_stop(kind):
    assert "start_stop" in driver_class(kind).capabilities
