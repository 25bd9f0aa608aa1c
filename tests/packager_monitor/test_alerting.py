"""Debouncing verdicts into alert operations."""

from __future__ import annotations

from castwatch.packager_monitor.alerting import AlertBook, policies
from castwatch.packager_monitor.rules import base as t
from castwatch.packager_monitor.rules.base import Verdict


def book() -> AlertBook:
    return AlertBook("CH_TV_HD_001", 7, policies(clear_hold_s=10))


def bad(alert_type: str, rendition: str | None = "720p") -> Verdict:
    return Verdict(alert_type, rendition, True, f"{alert_type} summary")


def good(alert_type: str, rendition: str | None = "720p") -> Verdict:
    return Verdict(alert_type, rendition, False)


def test_a_single_failed_fetch_never_raises_but_two_in_a_row_do():
    b = book()
    assert b.observe([bad(t.PLAYLIST_UNREACHABLE)], 0) == []
    assert b.observe([good(t.PLAYLIST_UNREACHABLE)], 1) == []
    assert b.observe([bad(t.PLAYLIST_UNREACHABLE)], 2) == []
    [op] = b.observe([bad(t.PLAYLIST_UNREACHABLE)], 3)
    assert (op.kind, op.subject, op.alert_type, op.channel_id, op.severity) == (
        "fire", "CH_TV_HD_001/720p", t.PLAYLIST_UNREACHABLE, 7, "critical")
    assert b.status() == "critical"


def test_an_alert_resolves_only_after_the_condition_stayed_clear_for_the_hold():
    b = book()
    [fire] = b.observe([bad(t.PLAYLIST_STALE)], 0)
    assert b.observe([good(t.PLAYLIST_STALE)], 1) == []
    assert b.observe([bad(t.PLAYLIST_STALE)], 5) == []  # flapped: still the same open alert
    assert b.observe([good(t.PLAYLIST_STALE)], 6) == []
    assert b.observe([good(t.PLAYLIST_STALE)], 15) == []
    [clear] = b.observe([good(t.PLAYLIST_STALE)], 16)
    assert clear.kind == "clear" and clear.subject == "CH_TV_HD_001/720p"
    assert b.status() == "ok"


def test_channel_wide_alerts_use_the_bare_code_and_minor_ones_only_warn():
    b = book()
    b.observe([bad(t.LADDER_MISMATCH, None)], 0)
    [op] = b.observe([bad(t.LADDER_MISMATCH, None)], 1)
    assert op.subject == "CH_TV_HD_001" and b.status() == "warning"


def test_adopted_alerts_clear_when_the_condition_is_gone_and_dropped_renditions_clear_theirs():
    b = book()
    b.adopt("720p", t.PLAYLIST_STALE, "critical", 0)
    assert b.status() == "critical"
    b.observe([good(t.PLAYLIST_STALE)], 1)
    [clear] = b.observe([good(t.PLAYLIST_STALE)], 12)
    assert clear.kind == "clear"
    b.observe([bad(t.SEGMENT_INVALID, "360p"), bad(t.RENDITION_MISSING, "360p")], 20)
    b.observe([bad(t.SEGMENT_INVALID, "360p"), bad(t.RENDITION_MISSING, "360p")], 21)
    ops = b.drop_rendition("360p")
    assert [(o.kind, o.alert_type) for o in ops] == [("clear", t.SEGMENT_INVALID)]
    assert b.open_alerts() == ["CH_TV_HD_001/360p RENDITION_MISSING"]
