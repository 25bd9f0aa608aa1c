"""Channel-wide and segment rules as pure functions."""

from __future__ import annotations

from castwatch.packager_monitor.rules import base as t
from castwatch.packager_monitor.rules.cert import cert_verdict, worst_certificate
from castwatch.packager_monitor.rules.ladder import Rung, ladder_verdicts
from castwatch.packager_monitor.rules.segment import SegmentLimits, SegmentSample, segment_verdicts
from castwatch.packager_monitor.rules.sync import EdgeView, variants_sync

TEMPLATE = (Rung("1080p", 5_000_000, "1920x1080", "avc1.640028,mp4a.40.2"),
            Rung("720p", 3_000_000, "1280x720", "avc1.64001f,mp4a.40.2"))
LIMITS = SegmentLimits(max_download_ms=2000, min_download_ratio=1.5, declared_bps=3_000_000)


def test_renditions_one_segment_apart_are_in_sync_but_three_apart_are_not():
    views = {"1080p": EdgeView(6, 0, 100), "720p": EdgeView(6, 0, 101)}
    assert not variants_sync("CH", views).bad
    views["480p"] = EdgeView(6, 0, 98)
    out = variants_sync("CH", views)
    assert out.bad and out.rendition is None
    assert "live edge of 480p is 3 segments behind" in out.summary


def test_renditions_disagreeing_on_target_or_discontinuity_sequence_are_out_of_sync():
    out = variants_sync("CH", {"a": EdgeView(6, 0, 10), "b": EdgeView(4, 1, 10)})
    assert out.bad and "target durations 4/6" in out.summary and "discontinuity sequences 0/1" in out.summary
    assert variants_sync("CH", {"a": EdgeView(6, 0, 10)}) is None


def _sample(**kw):
    base = dict(uri="seg_1.ts", status=200, error=None, download_s=0.2, size=1_500_000, duration_s=6.0)
    base.update(kw)
    return SegmentSample(**base)


def test_a_fast_sane_segment_within_its_bandwidth_is_fine():
    assert not any(v.bad for v in segment_verdicts("CH", "720p", _sample(), LIMITS))


def test_an_unreachable_segment_says_the_status_and_nothing_else():
    out = segment_verdicts("CH", "720p", _sample(status=404), LIMITS)
    assert [(v.alert_type, v.bad) for v in out] == [(t.SEGMENT_UNREACHABLE, True)]
    assert out[0].summary == "CH 720p: newest segment unreachable (HTTP 404)"


def test_a_slow_download_is_judged_by_time_and_by_ratio():
    slow = {v.alert_type for v in segment_verdicts("CH", "720p", _sample(download_s=2.5), LIMITS) if v.bad}
    assert slow == {t.SEGMENT_SLOW}
    sample = _sample(download_s=1.9, duration_s=2.0)
    ratio = [v for v in segment_verdicts("CH", "720p", sample, LIMITS) if v.bad]
    assert ratio[0].alert_type == t.SEGMENT_SLOW and "ratio 1.1 < 1.5" in ratio[0].summary


def test_invalid_bytes_and_a_bitrate_far_above_bandwidth_are_flagged():
    out = segment_verdicts("CH", "720p", _sample(invalid_reason="MPEG-TS sync byte missing at packet 3",
                                                 size=6_000_000), LIMITS)
    assert {v.alert_type for v in out if v.bad} == {t.SEGMENT_INVALID, t.SEGMENT_BITRATE_DEVIATION}


def test_a_ladder_like_the_template_is_fine():
    out = ladder_verdicts("CH", TEMPLATE, [Rung("1080p", 5_100_000, "1920x1080", "avc1.640028,mp4a.40.2"),
                                           Rung("720p", 3_000_000, "1280x720", "avc1.64001f")])
    assert not any(v.bad for v in out)


def test_a_missing_rung_and_a_different_ladder_are_reported():
    out = ladder_verdicts("CH", TEMPLATE, [Rung("720p", 2_000_000, "1280x720", "hvc1.1.6.L93,mp4a.40.2")])
    missing = [v for v in out if v.alert_type == t.RENDITION_MISSING and v.bad]
    assert [v.rendition for v in missing] == ["1080p"]
    assert missing[0].summary.startswith("CH 1080p: rendition missing from the ladder")
    mismatch = next(v for v in out if v.alert_type == t.LADDER_MISMATCH)
    assert mismatch.bad and "720p bandwidth 2000 kbit/s, template 3000 kbit/s" in mismatch.summary
    assert "codecs hvc1" in mismatch.summary


def test_certificate_expiry_grows_in_severity_and_a_bad_chain_is_critical():
    assert not cert_verdict("CH", "cdn", 30, None).bad
    assert cert_verdict("CH", "cdn", 20, None).severity == "minor"
    assert cert_verdict("CH", "cdn", 10, None).severity == "major"
    week = cert_verdict("CH", "cdn", 5, None)
    assert week.severity == "critical" and week.summary == "CH: TLS certificate of cdn expires in 5 days"
    assert cert_verdict("CH", "cdn", None, "self-signed certificate").severity == "critical"


def test_a_channel_reports_its_worst_certificate():
    ok_far, soon, broken = (90.0, None), (10.0, None), (None, "certificate has expired")
    assert "cdn-b" in worst_certificate("CH", {("cdn-a", 443): ok_far, ("cdn-b", 443): soon}).summary
    worst = worst_certificate("CH", {("a", 443): soon, ("b", 443): broken})
    assert worst.severity == "critical" and "of b does not verify" in worst.summary
    assert not worst_certificate("CH", {("a", 443): ok_far}).bad


def test_targets_are_compared_even_for_a_rendition_polled_long_ago():
    views = {"a": EdgeView(2, 0, 50), "b": EdgeView(2, 0, 50), "c": EdgeView(4, 0, 25)}
    out = variants_sync("CH", views, fresh={"a", "b"})
    assert out is not None and out.bad and "target durations 2/4" in out.summary
    # edges are judged among fresh views only (and only when the targets agree)
    same = {"a": EdgeView(2, 0, 50), "b": EdgeView(2, 0, 40)}
    assert not variants_sync("CH", same, fresh={"a"}).bad
    assert variants_sync("CH", same, fresh={"a", "b"}).bad
