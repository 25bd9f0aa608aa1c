"""P.1203.1 mode 0 against values worked out by hand from the Recommendation's equations
(clause 7, Table 2 coefficients; MOS/R conversion of the P.1203 Annex)."""

from __future__ import annotations

import pytest

from castwatch.packager_monitor.content.p1203 import (
    MISSING,
    MODEL,
    UNSUPPORTED,
    mos_from_r,
    r_from_mos,
    video_mos,
)


def test_mos_from_r_follows_the_annex_cubic_and_its_bounds():
    # Q = 50: 1.05 + 3.85 * 0.5 + 50 * (-10) * 50 * 7e-6 = 2.975 - 0.175 = 2.8
    assert mos_from_r(50) == pytest.approx(2.8)
    assert mos_from_r(100) == pytest.approx(4.9)
    assert mos_from_r(0) == pytest.approx(1.05)
    assert mos_from_r(-5) == 1.05 and mos_from_r(130) == 4.9


def test_r_from_mos_inverts_it_on_the_monotonic_branch():
    for q in (10.0, 37.3, 64.0, 88.8, 99.0):
        assert r_from_mos(mos_from_r(q)) == pytest.approx(q, abs=0.02)
    assert r_from_mos(1.05) == 0.0 and r_from_mos(4.9) == 100.0


def test_1080p_at_5_mbit_on_a_1080p_display_is_mosq_itself():
    # bpp = 5000 / (1920*1080*25) = 9.645e-5; br*bpp = 0.48225
    # quant = 11.9983519 - 2.99991847 ln(41.2475074 + ln 5000 + ln(0.48225 + 0.13183166))
    #       = 11.9983519 - 2.99991847 ln(49.277078) = 0.306293
    # MOSq = 4.66 - 0.07 exp(4.06 * 0.306293) = 4.41725; no upscaling, 25 fps >= 24:
    # O22 = MOSfromR(RfromMOS(MOSq)) = MOSq
    result = video_mos("avc1.640028", 5000, 1920, 1080, 25)
    assert result.model == MODEL
    assert result.mos == pytest.approx(4.417, abs=0.002)
    assert result.deg_upscale == 0 and result.deg_framerate == 0


def test_360p_on_a_1080p_display_pays_the_upscaling_degradation():
    # quant = 0.479199, MOSq = 4.170177 -> R = 75.7780, Dq = 24.2220
    # scaleFactor = 9, Du = 72.61 log10(0.32 * 8 + 1) = 40.0408
    # Q = 100 - 24.2220 - 40.0408 = 35.7372, O22 = MOSfromR(35.7372) = 2.0358
    result = video_mos("h264", 800, 640, 360, 25)
    assert result.deg_quant == pytest.approx(24.222, abs=0.01)
    assert result.deg_upscale == pytest.approx(40.041, abs=0.001)
    assert result.mos == pytest.approx(2.036, abs=0.003)


def test_720p_at_15_fps_pays_the_frame_rate_degradation():
    # MOSq = 4.176452 -> Dq = 24.0843; Du = 72.61 log10(0.32 * 1.25 + 1) = 10.6104
    # Dt = (100 - 24.0843 - 10.6104)(30.98 - 1.29 * 15) / (64.65 + 15) = 9.5355
    # O22 = MOSfromR(100 - 24.0843 - 10.6104 - 9.5355) = MOSfromR(55.7698) = 3.1241
    result = video_mos("avc3.4d401f", 1000, 1280, 720, 15)
    assert result.deg_framerate == pytest.approx(9.535, abs=0.01)
    assert result.mos == pytest.approx(3.124, abs=0.003)


def test_a_starved_bitrate_scores_lower_than_a_healthy_one():
    # mode 0 is lenient: 1080p at 300 kbit/s still scores 3.91; at 30 kbit/s
    # quant = 11.9983519 - 2.99991847 ln(41.2475 + ln 30 + ln(0.13183 + 1.7e-8)) = 0.7418
    # and MOSq = 4.66 - 0.07 exp(4.06 * 0.7418) = 3.24, below the default threshold 3.5
    healthy = video_mos("h264", 6000, 1920, 1080, 25).mos
    lean = video_mos("h264", 300, 1920, 1080, 25).mos
    starved = video_mos("h264", 30, 1920, 1080, 25).mos
    assert healthy is not None and lean is not None and starved is not None
    assert lean == pytest.approx(3.91, abs=0.01)
    assert starved == pytest.approx(3.24, abs=0.01)
    assert starved < 3.5 < lean < healthy


@pytest.mark.parametrize("codec", ["hvc1.1.6.L120.90", "hevc", "vp09.00.10.08", "av01.0.04M.08"])
def test_codecs_outside_the_recommendation_get_no_number(codec):
    result = video_mos(codec, 5000, 1920, 1080, 25)
    assert result.model == UNSUPPORTED and result.mos is None


def test_missing_metadata_gets_no_number():
    assert video_mos("h264", None, 1920, 1080, 25).model == MISSING
    assert video_mos("h264", 3000, None, None, 25).mos is None
    assert video_mos(None, 3000, 1280, 720, 25).model == MISSING
