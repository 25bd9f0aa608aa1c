"""Templates with their ladder (``renditions``), and the probe list."""

from __future__ import annotations

from castwatch.common.db import transaction
from castwatch.common.models import Probe

from .support import channel_body

LADDER = [
    {"name": "1080p", "bandwidth": 6_000_000, "resolution": "1920x1080", "codecs": "avc1.640028",
     "frame_rate": 50, "video_range": "SDR", "audio_channels": "2"},
    {"name": "720p", "bandwidth": 3_000_000, "resolution": "1280x720"},
]


def test_it_creates_and_reads_a_template_with_its_ladder(client, admin):
    resp = client.post("/api/v1/templates", json={"name": "hd", "segment_duration_target": 4,
                                                  "renditions": LADDER}, headers=admin)
    assert resp.status_code == 201, resp.get_json()
    made = resp.get_json()
    assert [r["name"] for r in made["renditions"]] == ["1080p", "720p"]
    assert made["renditions"][0]["frame_rate"] == 50
    assert made["segment_duration_tolerance"] == 0.5
    assert client.get(f"/api/v1/templates/{made['id']}", headers=admin).get_json() == made
    assert client.get("/api/v1/templates", headers=admin).get_json() == [made]


def test_a_bad_ladder_is_refused_naming_the_field(client, admin):
    cases = [
        ({"name": "x", "renditions": [{"name": "a", "bandwidth": 0}]}, "renditions.0.bandwidth"),
        ({"name": "x", "renditions": [{"name": "a", "bandwidth": 1, "resolution": "big"}]},
         "renditions.0.resolution"),
        ({"name": "x", "renditions": [LADDER[1], LADDER[1]]}, "renditions"),
        ({"name": "x", "segment_duration_target": 0}, "segment_duration_target"),
        ({"segment_duration_target": 2}, "name"),
    ]
    for body, field in cases:
        resp = client.post("/api/v1/templates", json=body, headers=admin)
        assert resp.status_code == 400, body
        assert resp.get_json()["error"]["field"] == field


def test_a_duplicate_template_name_is_a_conflict(client, admin):
    assert client.post("/api/v1/templates", json={"name": "hd"}, headers=admin).status_code == 201
    assert client.post("/api/v1/templates", json={"name": "hd"}, headers=admin).status_code == 409


def test_a_new_ladder_replaces_the_old_and_rederives_channel_badges(client, admin):
    made = client.post("/api/v1/templates", json={"name": "hd", "renditions": LADDER},
                       headers=admin).get_json()
    channel = client.post("/api/v1/channels", json=channel_body(template_id=made["id"]),
                          headers=admin).get_json()
    assert channel["is_4k"] is False
    uhd = [{"name": "2160p", "bandwidth": 20_000_000, "resolution": "3840x2160",
            "audio_channels": "16/JOC"}, LADDER[0]]
    resp = client.put(f"/api/v1/templates/{made['id']}", json={"renditions": uhd,
                                                               "description": "now UHD"}, headers=admin)
    assert resp.status_code == 200, resp.get_json()
    assert [r["name"] for r in resp.get_json()["renditions"]] == ["2160p", "1080p"]
    assert resp.get_json()["name"] == "hd"
    channel = client.get(f"/api/v1/channels/{channel['id']}", headers=admin).get_json()
    assert (channel["is_4k"], channel["is_atmos"]) == (True, True)
    assert client.put(f"/api/v1/templates/{made['id']}", json={"name": None},
                      headers=admin).status_code == 400
    assert client.put("/api/v1/templates/999", json={}, headers=admin).status_code == 404


def test_a_template_in_use_cannot_be_deleted(client, admin):
    made = client.post("/api/v1/templates", json={"name": "hd"}, headers=admin).get_json()
    channel = client.post("/api/v1/channels", json=channel_body(template_id=made["id"]),
                          headers=admin).get_json()
    assert client.delete(f"/api/v1/templates/{made['id']}", headers=admin).status_code == 409
    client.put(f"/api/v1/channels/{channel['id']}", json={"template_id": None}, headers=admin)
    assert client.delete(f"/api/v1/templates/{made['id']}", headers=admin).status_code == 204
    assert client.get(f"/api/v1/templates/{made['id']}", headers=admin).status_code == 404


def test_it_lists_probes(client, admin, session_factory):
    with transaction(session_factory) as session:
        session.add(Probe(name="edge-1", hostname="edge-1.local", status="online"))
    probes = client.get("/api/v1/probes", headers=admin).get_json()
    assert [(p["name"], p["status"]) for p in probes] == [("edge-1", "online")]
    assert client.get(f"/api/v1/probes/{probes[0]['id']}", headers=admin).status_code == 200
    assert client.get("/api/v1/probes/999", headers=admin).status_code == 404


def test_content_thresholds_default_to_the_issue_values_and_can_be_edited(client, admin):
    made = client.post("/api/v1/templates", json={"name": "content"}, headers=admin).get_json()
    assert {k: made[k] for k in ("content_mode", "black_min_s", "frozen_min_s", "silence_threshold_dbfs",
                                 "silence_min_s", "loudness_standard", "loudness_target_lufs",
                                 "loudness_tolerance_lu", "loudness_min_s", "true_peak_max_dbtp",
                                 "mos_min", "content_rendition")} == {
        "content_mode": None, "black_min_s": 2.0, "frozen_min_s": 2.0, "silence_threshold_dbfs": -60.0,
        "silence_min_s": 2.0, "loudness_standard": "ebu_r128", "loudness_target_lufs": None,
        "loudness_tolerance_lu": 5.0, "loudness_min_s": 10.0, "true_peak_max_dbtp": -1.0,
        "mos_min": 3.5, "content_rendition": "lowest"}
    resp = client.put(f"/api/v1/templates/{made['id']}", headers=admin, json={
        "content_mode": "sampled", "loudness_standard": "atsc_a85", "mos_min": 4.0})
    assert resp.status_code == 200, resp.get_json()
    assert (resp.get_json()["content_mode"], resp.get_json()["loudness_standard"],
            resp.get_json()["mos_min"]) == ("sampled", "atsc_a85", 4.0)
    for body, field in (({"mos_min": 6}, "mos_min"), ({"content_mode": "always"}, "content_mode"),
                        ({"black_min_s": None}, None), ({"loudness_standard": "r128"}, "loudness_standard")):
        bad = client.put(f"/api/v1/templates/{made['id']}", headers=admin, json=body)
        assert bad.status_code == 400, body
        if field:
            assert bad.get_json()["error"]["field"] == field


def test_the_seeds_max_download_time_in_seconds_is_accepted(client, admin):
    resp = client.post("/api/v1/templates", json={"name": "seed", "max_download_time": 2.0},
                       headers=admin)
    assert resp.status_code == 201, resp.get_json()
    made = resp.get_json()
    assert made["max_download_time_ms"] == 2000
    upd = client.put(f"/api/v1/templates/{made['id']}", json={"max_download_time": 0.75}, headers=admin)
    assert upd.get_json()["max_download_time_ms"] == 750
    both = client.post("/api/v1/templates", json={"name": "both", "max_download_time": 2,
                                                  "max_download_time_ms": 2000}, headers=admin)
    assert both.status_code == 201
    for value in (0, -1, "2", 7200):
        bad = client.post("/api/v1/templates", json={"name": "bad", "max_download_time": value},
                          headers=admin)
        assert bad.status_code == 400, value
    clash = client.post("/api/v1/templates", json={"name": "clash", "max_download_time": 2,
                                                   "max_download_time_ms": 500}, headers=admin)
    assert clash.status_code == 400
