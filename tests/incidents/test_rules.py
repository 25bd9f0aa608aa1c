from __future__ import annotations

from datetime import timedelta

from castwatch.incidents.rules import (
    correlate,
    encoder_explains,
    expected_after_failover,
    origin_outages,
    rendition_scope,
)

from .support import RUNGS, T0, alert, failover, stale, station

W = timedelta(seconds=60)


def test_every_channel_of_an_origin_stale_at_once_makes_the_origin_the_cause() -> None:
    alerts = [stale("NEWS", 1, at=0), stale("SPORT", 2, "720p", at=5), stale("MOVIES", 3, at=12),
              alert("SEGMENT_SLOW", "SPORT/480p", channel_id=2, at=3)]
    found = origin_outages(alerts, station(), W)
    assert list(found) == ["origin-a.example"]
    assert {a.id for a in found["origin-a.example"]} == {a.id for a in alerts}


def test_an_origin_is_not_blamed_when_one_of_its_channels_still_plays() -> None:
    alerts = [stale("NEWS", 1), stale("SPORT", 2)]
    assert origin_outages(alerts, station(), W) == {}


def test_an_origin_is_not_blamed_for_outages_far_apart_in_time() -> None:
    alerts = [stale("NEWS", 1, at=0), stale("SPORT", 2, at=10), stale("MOVIES", 3, at=600)]
    assert origin_outages(alerts, station(), W) == {}


def test_the_on_air_encoder_overheating_explains_its_channels_playlist_alerts() -> None:
    heat = alert("ENCODER_OVERHEAT", "enc-a", source="encoders", encoder_id=100, at=0)
    fo = alert("FAILOVER_ACTIVATED", "news-pair", source="encoders", group_id=10, at=4)
    disc = alert("DISCONTINUITY_SEQUENCE_ERROR", "NEWS/720p", channel_id=1, at=8)
    other = stale("SPORT", 2, at=8)
    found = encoder_explains([heat, fo, disc, other], station(), [failover(10, 3)], W)
    root, explained = found[10]
    assert root.id == heat.id
    assert {a.id for a in explained} == {fo.id, disc.id}


def test_a_standby_encoder_problem_does_not_explain_channel_alerts() -> None:
    heat = alert("ENCODER_OVERHEAT", "enc-b", source="encoders", encoder_id=101)
    st = stale("NEWS", 1, at=2)
    assert encoder_explains([heat, st], station(), [], W) == {}


def test_a_failover_away_from_an_encoder_makes_its_alert_on_air() -> None:
    down = alert("ENCODER_STREAM_DOWN", "enc-b", source="encoders", encoder_id=101, at=0)
    st = stale("NEWS", 1, at=2)
    fo = failover(10, 1, from_id=101, to_id=100)
    root, explained = encoder_explains([down, st], station(), [fo], W)[10]
    assert root.id == down.id and [a.id for a in explained] == [st.id]


def test_a_pool_output_off_air_explains_the_black_picture_of_its_groups_channels() -> None:
    """ENCODER_OUTPUT_UNASSIGNED (a pool output fits nowhere) is raised on the group: it is the
    root of what the group's channels then show, like FAILOVER_FAILED."""
    homeless = alert("ENCODER_OUTPUT_UNASSIGNED", "news-hd-out", source="encoders", group_id=10,
                     severity="critical", at=0)
    black = alert("VIDEO_BLACK", "NEWS/720p", channel_id=1, severity="critical", at=5)
    root, explained = encoder_explains([homeless, black], station(), [], W)[10]
    assert root.id == homeless.id and [a.id for a in explained] == [black.id]


def test_all_renditions_one_rendition_or_the_channel() -> None:
    rungs = ["1080p", "720p", "480p"]
    assert rendition_scope([stale("NEWS", 1, r) for r in rungs], rungs) == "all renditions"
    assert rendition_scope([stale("NEWS", 1, "720p")], rungs) == "one rendition (720p)"
    assert rendition_scope([stale("NEWS", 1, "720p"), stale("NEWS", 1, "480p")], rungs) == \
        "2 of 3 renditions (480p, 720p)"
    assert rendition_scope([stale("NEWS", 1)], rungs) == "channel"


def test_a_discontinuity_right_after_a_successful_failover_is_expected() -> None:
    disc = alert("DISCONTINUITY_SEQUENCE_ERROR", "NEWS/720p", channel_id=1, at=10)
    regress = alert("MEDIA_SEQUENCE_REGRESSION", "NEWS/720p", channel_id=1, at=12)
    topo = station()
    assert expected_after_failover(disc, topo, [failover(10, 5)], W) is not None
    assert expected_after_failover(regress, topo, [failover(10, 5)], W) is not None


def test_a_discontinuity_without_failover_or_after_a_failed_one_or_much_later_is_real() -> None:
    disc = alert("DISCONTINUITY_SEQUENCE_ERROR", "NEWS/720p", channel_id=1, at=300)
    topo = station()
    assert expected_after_failover(disc, topo, [], W) is None
    assert expected_after_failover(disc, topo, [failover(10, 295, status="failed")], W) is None
    assert expected_after_failover(disc, topo, [failover(10, 5)], W) is None
    assert expected_after_failover(stale("NEWS", 1, at=6), topo, [failover(10, 5)], W) is None


def test_correlate_puts_every_open_alert_in_exactly_one_group() -> None:
    heat = alert("ENCODER_OVERHEAT", "enc-a", source="encoders", encoder_id=100, at=0)
    news = stale("NEWS", 1, "720p", at=2)
    council = [stale("COUNCIL", 4, r, at=1) for r in ("1080p", "720p", "480p")]
    stack = alert("STACK_PROBE_DOWN", "probe-1", source="stack")
    closed = alert("SEGMENT_SLOW", "GOV/480p", channel_id=5, state="resolved")
    groups = correlate([heat, news, *council, stack, closed], station(), [], T0)
    by_key = {g.key: g for g in groups}
    assert set(by_key) == {"group:10", "channel:4", f"alert:{stack.id}"}
    assert by_key["group:10"].root_alert_id == heat.id
    assert by_key["channel:4"].scope == "all renditions"
    ids = [i for g in groups for i in g.member_ids]
    assert sorted(ids) == sorted([heat.id, news.id, stack.id, *(a.id for a in council)])


def test_an_origin_group_without_its_root_alert_asks_for_one() -> None:
    alerts = [stale("NEWS", 1), stale("SPORT", 2), stale("MOVIES", 3)]
    (group,) = correlate(alerts, station(), [], T0)
    assert group.key == "origin:origin-a.example" and group.root_alert_id is None
    assert group.channel_ids == (1, 2, 3)


def test_sticky_members_stay_in_their_origin_incident_when_a_channel_recovers() -> None:
    root = alert("ORIGIN_DOWN", "origin-a.example", source="incidents", severity="critical")
    news, sport = stale("NEWS", 1), stale("SPORT", 2)
    sticky = {root.id: "origin:origin-a.example", news.id: "origin:origin-a.example",
              sport.id: "origin:origin-a.example"}
    (group,) = correlate([root, news, sport], station(), [], T0, sticky=sticky)
    assert group.key == "origin:origin-a.example" and group.root_alert_id == root.id
    assert set(group.member_ids) == {root.id, news.id, sport.id}


def test_a_black_picture_on_every_rendition_after_a_failover_is_one_incident() -> None:
    fo = alert("FAILOVER_ACTIVATED", "news-pair", source="encoders", group_id=10, at=0)
    black = [alert("VIDEO_BLACK", f"NEWS/{r}", channel_id=1, severity="critical", at=3) for r in RUNGS]
    silent = alert("AUDIO_SILENCE", "NEWS/480p", channel_id=1, at=4)
    groups = correlate([fo, *black, silent], station(), [failover(10, 0)], T0)
    assert [g.key for g in groups] == ["group:10"]
    assert set(groups[0].member_ids) == {fo.id, silent.id, *(a.id for a in black)}


def test_a_black_picture_on_every_rendition_alone_is_one_channel_incident_rooted_in_black() -> None:
    silent = alert("AUDIO_SILENCE", "SPORT/720p", channel_id=2, at=0)
    black = [alert("VIDEO_BLACK", f"SPORT/{r}", channel_id=2, severity="critical", at=1) for r in RUNGS]
    groups = correlate([silent, *black], station(), [], T0)
    assert len(groups) == 1 and groups[0].key == "channel:2"
    assert groups[0].root_alert_id == black[0].id and groups[0].scope == "all renditions"
