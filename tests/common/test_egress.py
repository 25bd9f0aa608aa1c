"""The egress policy: pure address rules, parsing, and real connections on loopback."""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import pytest

from castwatch.common.egress import EgressDenied, EgressPolicy, refusal
from castwatch.common.env import ConfigError
from tests.support.hostile import HostileOrigin

LOOPBACK = EgressPolicy.parse("127.0.0.1/32,::1/128")


@pytest.mark.parametrize("ip,why", [
    ("169.254.169.254", "link-local"), ("fe80::1", "link-local"), ("0.0.0.0", "unspecified"),
    ("::", "unspecified"), ("224.0.0.1", "multicast"), ("ff02::1", "multicast"),
    ("255.255.255.255", "broadcast"), ("::ffff:169.254.169.254", "link-local"),
    ("64:ff9b::a9fe:a9fe", "link-local"), ("2002:a9fe:a9fe::1", "link-local"),
])
def test_link_local_and_metadata_are_refused_even_when_allowed(ip: str, why: str) -> None:
    assert refusal(ipaddress.ip_address(ip), allowed=True) == why
    everything = EgressPolicy.parse("0.0.0.0/0,::/0,metadata.google.internal")
    with pytest.raises(EgressDenied, match=why):
        everything.check_ip(ip, "metadata.google.internal")


@pytest.mark.parametrize("ip", ["127.0.0.1", "10.1.2.3", "172.16.0.9", "192.168.1.1", "100.64.0.1",
                                "fd00::1", "::1", "::ffff:10.0.0.1", "198.18.0.1"])
def test_private_loopback_ula_and_cgnat_are_refused_by_default(ip: str) -> None:
    with pytest.raises(EgressDenied):
        EgressPolicy().check_ip(ip)


def test_public_addresses_pass_and_allow_lists_open_private_ones() -> None:
    EgressPolicy().check_ip("8.8.8.8")
    EgressPolicy().check_ip("2001:4860:4860::8888")
    policy = EgressPolicy.parse("10.20.0.0/16, encoders.lan, .studio.example")
    policy.check_ip("10.20.5.5")
    with pytest.raises(EgressDenied, match="private"):
        policy.check_ip("10.21.0.1")
    policy.check_ip("192.168.1.10", "encoders.lan")
    policy.check_ip("192.168.1.10", "makito.studio.example")
    with pytest.raises(EgressDenied):
        policy.check_ip("192.168.1.10", "other.lan")
    LOOPBACK.check_ip("::ffff:127.0.0.1")


def test_the_allow_list_and_redirect_limit_come_from_the_environment() -> None:
    policy = EgressPolicy.from_env({"EGRESS_ALLOW": "127.0.0.1/32,box.lan", "EGRESS_MAX_REDIRECTS": "1"})
    assert policy.allow_networks == (ipaddress.ip_network("127.0.0.1/32"),)
    assert policy.allow_hosts == frozenset({"box.lan"})
    assert policy.max_redirects == 1
    assert EgressPolicy.from_env({}).max_redirects == 3
    with pytest.raises(ConfigError, match="EGRESS_ALLOW"):
        EgressPolicy.from_env({"EGRESS_ALLOW": "http://10.0.0.1/"})
    with pytest.raises(ConfigError, match="EGRESS_MAX_REDIRECTS"):
        EgressPolicy.from_env({"EGRESS_MAX_REDIRECTS": "-1"})


def test_a_host_name_that_resolves_to_a_refused_address_is_refused_before_connecting() -> None:
    # "localhost" resolves to loopback: a name cannot smuggle a refused address past the check
    with pytest.raises(EgressDenied, match="loopback"):
        EgressPolicy().resolve("localhost", 80)
    with pytest.raises(EgressDenied):
        asyncio.run(EgressPolicy().open_connection("localhost", 9))
    assert all(ip in ("127.0.0.1", "::1") for _, ip in LOOPBACK.resolve("localhost", 80))


def test_connect_reaches_an_allowed_listener_and_refuses_before_any_packet_otherwise() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.settimeout(0.5)
    try:
        with pytest.raises(EgressDenied):
            EgressPolicy().connect("127.0.0.1", port, 1.0)
        with pytest.raises(TimeoutError):
            listener.accept()  # the refused attempt never reached the listener
        LOOPBACK.connect("127.0.0.1", port, 1.0).close()
        listener.accept()[0].close()
    finally:
        listener.close()


def test_hostile_origin_fixture_serves(origin: HostileOrigin) -> None:
    with LOOPBACK.connect("127.0.0.1", origin.port, 2.0) as sock:
        sock.sendall(b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 200")


@pytest.fixture(scope="module")
def origin() -> HostileOrigin:
    with HostileOrigin() as o:
        yield o  # type: ignore[misc]


def test_every_area_that_fetches_reads_the_same_policy_and_its_caps_from_the_environment() -> None:
    from castwatch.settings import Settings

    env = {"EGRESS_ALLOW": "10.20.0.0/16,encoders.lan", "EGRESS_MAX_REDIRECTS": "2",
           "PROBE_MAX_PLAYLIST_BYTES": "2048", "PROBE_MAX_SEGMENT_BYTES": "4096",
           "ENCODERS_MAX_REPLY_BYTES": "8192", "SCHEDULE_MAX_BYTES": "16384",
           "SCHEDULE_FETCH_TIMEOUT_S": "7"}
    settings = Settings.from_env(env)
    policy = EgressPolicy.parse("10.20.0.0/16,encoders.lan", max_redirects=2)
    assert settings.probe.egress == settings.encoders.egress == settings.schedules.egress == policy
    assert (settings.probe.max_playlist_bytes, settings.probe.max_segment_bytes) == (2048, 4096)
    assert settings.encoders.max_reply_bytes == 8192
    assert (settings.schedules.schedule_max_bytes, settings.schedules.schedule_fetch_timeout_s) == (16384, 7)
    defaults = Settings.from_env({})
    assert defaults.probe.egress == EgressPolicy() and defaults.probe.max_playlist_bytes == 4 * 1024 * 1024
    with pytest.raises(ConfigError, match="PROBE_MAX_PLAYLIST_BYTES"):
        Settings.from_env({"PROBE_MAX_PLAYLIST_BYTES": "10"})
    assert policy.allowing("127.0.0.1/32").as_env() == "10.20.0.0/16,127.0.0.1/32,encoders.lan"
