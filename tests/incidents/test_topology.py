from __future__ import annotations

from castwatch.incidents.topology import origin_of

from .support import station


def test_origin_of_drops_default_ports_and_case() -> None:
    assert origin_of("https://ORIGIN-A.example:443/x.m3u8") == "origin-a.example"
    assert origin_of("http://o.example:8080/x.m3u8") == "o.example:8080"
    assert origin_of("http://o.example:80/x") == "o.example"
    assert origin_of("not a url") == ""


def test_the_dependency_model_links_channels_origins_groups_and_encoders() -> None:
    topo = station()
    assert [c.code for c in topo.channels_of_origin("origin-a.example")] == ["NEWS", "SPORT", "MOVIES"]
    assert [c.code for c in topo.channels_of_group(10)] == ["NEWS"]
    assert topo.group_of_encoder(101) == 10
    active = topo.active_encoder(10)
    assert active is not None and active.name == "enc-a"
    assert topo.channels[1].renditions == ("1080p", "720p", "480p")


def test_a_group_has_a_standby_only_with_another_usable_encoder() -> None:
    topo = station()
    assert topo.has_standby(10)
    assert not topo.has_standby(20)
    assert not topo.has_standby(None)
    assert topo.active_encoder(99) is None
