from __future__ import annotations

from castwatch.packager_monitor.segments import check_fmp4, check_segment, check_ts
from castwatch.simulators.origin.media import corrupt, fmp4_init, fmp4_segment, ts_segment


def test_a_ts_segment_with_pat_then_pmt_is_sane():
    assert check_ts(ts_segment()) is None
    assert check_segment(ts_segment(), "seg_1.ts") is None


def test_broken_ts_segments_are_named_by_what_is_wrong():
    good = ts_segment()
    assert "sync byte missing at packet 0" in (check_segment(corrupt(good), "seg_1.ts") or "")
    assert "not a multiple of 188" in (check_ts(good[:-5]) or "")
    assert "does not start with a PAT" in (check_ts(good[188:]) or "")
    no_pmt = good[:188] + good[376:]  # PAT, then video before any PMT
    assert "before the PMT" in (check_ts(no_pmt) or "")
    assert "shorter than one packet" in (check_ts(b"G") or "")


def test_fmp4_init_and_media_segments_are_sane_and_truncation_is_not():
    assert check_fmp4(fmp4_init()) is None
    assert check_segment(fmp4_segment(7), "7.m4s") is None
    assert "bad size" in (check_fmp4(fmp4_segment(7)[:-10]) or "")
    moof_only = fmp4_segment(7)
    moof_only = moof_only[: moof_only.find(b"mdat") - 4]
    assert "without a following mdat" in (check_fmp4(moof_only) or "")
    assert check_segment(b"", "x.ts") == "empty segment"
    assert "neither MPEG-TS nor fMP4" in (check_segment(b"<html>nope</html>", "x.m4s") or "")


def test_dvb_si_tables_before_the_pat_are_allowed_as_ffmpeg_writes_them():
    good = ts_segment()
    sdt = bytes([0x47, 0x40, 0x11, 0x10]).ljust(188, b"\xff")
    assert check_ts(sdt + good) is None
    assert "does not start with a PAT (first PID 256)" in (check_ts(sdt + good[376:]) or "")
