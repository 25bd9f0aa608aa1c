"""The stream output validator (pure) and ``POST /api/v1/encoders/{id}/validate`` (real app)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from castwatch.cms_api import create_app
from castwatch.cms_api.auth import create_key
from castwatch.common.db import transaction
from castwatch.common.models import Encoder
from castwatch.encoder_manager.validator import validate_output
from tests.cms_api.support import api_settings, bearer

GOOD_RTMP = {"protocol": "rtmp", "url": "rtmp://a.rtmp.youtube.com/live2", "stream_key": "abcd-1234-efgh",
             "resolution": "1920x1080", "frame_rate": 30, "codec": "h264", "bitrate_kbps": 6000,
             "audio_bitrate_kbps": 128}


def fields(output) -> list[str]:
    return [e.field for e in validate_output(output)]


def test_an_empty_output_is_valid():
    assert validate_output({}) == []


def test_a_typical_rtmp_output_is_valid():
    assert validate_output(GOOD_RTMP) == []


def test_a_typical_srt_output_is_valid():
    assert validate_output({"url": "srt://ingest.example.net:9000?mode=caller&latency=200",
                            "resolution": "1280x720", "frame_rate": 59.94, "codec": "hevc",
                            "bitrate_kbps": 3000}) == []


@pytest.mark.parametrize(("change", "field"), [
    ({"protocol": "hls"}, "protocol"),
    ({"url": "http://example.com/live"}, "url"),
    ({"url": "srt://example.com:9000"}, "url"),  # protocol says rtmp
    ({"url": "rtmp://bad host/live"}, "url"),
    ({"url": "rtmp://example.com"}, "url"),
    ({"stream_key": "has space"}, "stream_key"),
    ({"stream_key": "a/b"}, "stream_key"),
    ({"resolution": "1920 by 1080"}, "resolution"),
    ({"resolution": "1921x1080"}, "resolution"),
    ({"frame_rate": 31}, "frame_rate"),
    ({"frame_rate": "30"}, "frame_rate"),
    ({"codec": "mpeg2"}, "codec"),
    ({"bitrate_kbps": 500}, "bitrate_kbps"),
    ({"bitrate_kbps": 60000}, "bitrate_kbps"),
    ({"bitrate_kbps": 500000}, "bitrate_kbps"),
    ({"audio_bitrate_kbps": 8}, "audio_bitrate_kbps"),
    ({"colour": "blue"}, "colour"),
])
def test_a_bad_field_is_named(change, field):
    assert field in fields(GOOD_RTMP | change)


def test_frame_rate_is_judged_with_the_resolution():
    assert "frame_rate" in fields({"resolution": "3840x2160", "frame_rate": 120})
    assert fields({"resolution": "1920x1080", "frame_rate": 120}) == []


def test_h264_cannot_carry_8k():
    assert "codec" in fields({"resolution": "7680x4320", "codec": "h264"})


def test_the_bitrate_message_says_what_to_use():
    [error] = validate_output(GOOD_RTMP | {"bitrate_kbps": 500})
    assert "at least" in error.message and "1920x1080@30 h264" in error.message


def test_srt_checks_port_mode_latency_and_passphrase():
    assert fields({"url": "srt://host"}) == ["url"]
    assert fields({"url": "srt://host:9000?mode=sender"}) == ["url"]
    assert fields({"url": "srt://host:9000?latency=5"}) == ["url"]
    assert fields({"url": "srt://host:9000?passphrase=short"}) == ["url"]
    assert fields({"url": "srt://host:9000", "stream_key": "k"}) == ["stream_key"]


def test_rtmp_without_a_key_needs_it_in_the_url():
    assert fields({"url": "rtmp://host/live"}) == ["stream_key"]
    assert fields({"url": "rtmp://host/live/secret-key"}) == []


def test_a_non_object_is_refused():
    assert fields([1, 2]) == [""]  # type: ignore[arg-type]


@pytest.fixture()
def api(session_factory):
    app = create_app(api_settings(), session_factory=session_factory, start_listener=False)
    with transaction(session_factory) as session:
        _, key = create_key(session, name="reader", scope="read",
                            expires_in=timedelta(days=1))
        enc = Encoder(name="helo", driver_kind="aja_helo", address="10.0.0.5:80",
                      output=GOOD_RTMP | {"bitrate_kbps": 500})
        session.add(enc)
        session.flush()
        encoder_id = enc.id
    return app.test_client(), bearer(key), encoder_id


def test_the_validate_endpoint_reports_the_stored_output(api):
    client, headers, encoder_id = api
    resp = client.post(f"/api/v1/encoders/{encoder_id}/validate", headers=headers)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["valid"] is False and [e["field"] for e in body["errors"]] == ["output.bitrate_kbps"]


def test_the_validate_endpoint_checks_a_proposed_output(api):
    client, headers, encoder_id = api
    resp = client.post(f"/api/v1/encoders/{encoder_id}/validate", json={"output": GOOD_RTMP}, headers=headers)
    assert resp.status_code == 200 and resp.get_json() == {"encoder_id": encoder_id, "valid": True,
                                                           "errors": []}


def test_the_validate_endpoint_needs_a_key_and_an_existing_encoder(api):
    client, headers, _ = api
    assert client.post("/api/v1/encoders/1/validate").status_code == 401
    assert client.post("/api/v1/encoders/999/validate", headers=headers).status_code == 404
