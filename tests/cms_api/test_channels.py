"""Channels: create with the seed body, list with filters and pages, read, update, disable."""

from __future__ import annotations

from flask.testing import FlaskClient

from .support import channel_body


def create(client: FlaskClient, headers: dict[str, str], **overrides: object) -> dict:
    resp = client.post("/api/v1/channels", json=channel_body(**overrides), headers=headers)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def test_it_creates_a_channel_from_the_seed_body(client, admin, catalog):
    made = create(client, admin, probe_id=catalog["probe_id"], template_id=catalog["template_id"])
    assert made["channel_code"] == "CH_TV_HD_001"
    assert made["protocol"] == "HLS"
    assert (made["is_4k"], made["is_hdr"], made["is_atmos"]) == (True, True, False)
    fetched = client.get(f"/api/v1/channels/{made['id']}", headers=admin).get_json()
    assert fetched == made


def test_it_infers_dash_from_an_mpd_url(client, admin):
    made = create(client, admin, input_url="https://origin.example/live/manifest.mpd?x=1")
    assert made["protocol"] == "DASH"


def test_a_duplicate_channel_code_is_a_conflict(client, admin):
    create(client, admin)
    resp = client.post("/api/v1/channels", json=channel_body(channel_name="Other"), headers=admin)
    assert resp.status_code == 409
    assert resp.get_json()["error"]["field"] == "channel_code"


def test_an_unknown_template_is_refused_naming_the_field(client, admin):
    resp = client.post("/api/v1/channels", json=channel_body(template_id=999), headers=admin)
    assert resp.status_code == 400
    assert resp.get_json()["error"] == {"code": "unknown_reference", "field": "template_id",
                                        "message": "template_id: no templates row with id 999"}


def test_unknown_missing_and_bad_enum_fields_are_refused(client, admin):
    cases = [
        (channel_body(colour="red"), "colour", "unknown_field"),
        ({k: v for k, v in channel_body().items() if k != "channel_code"}, "channel_code",
         "missing_field"),
        (channel_body(channel_type="LIVEISH"), "channel_type", "invalid_value"),
        (channel_body(tier=4), "tier", "invalid_value"),
        (channel_body(input_url="ftp://x/y.m3u8"), "input_url", "invalid_value"),
    ]
    for body, field, code in cases:
        resp = client.post("/api/v1/channels", json=body, headers=admin)
        assert resp.status_code == 400, body
        error = resp.get_json()["error"]
        assert (error["field"], error["code"]) == (field, code)
    assert client.get("/api/v1/channels", headers=admin).get_json()["total"] == 0


def test_a_body_that_is_not_a_json_object_is_refused(client, admin):
    for data in ("[1, 2]", "{not json", ""):
        resp = client.post("/api/v1/channels", data=data, headers=admin,
                           content_type="application/json")
        assert resp.status_code == 400
        assert resp.get_json()["error"]["code"] in ("invalid_json", "missing_body")


def test_it_lists_with_filters_and_pages(client, admin):
    for i in range(5):
        create(client, admin, channel_code=f"CH_{i}", channel_name=f"Sport {i}" if i % 2 else f"News {i}",
               tier=1 + i % 3, input_url=f"https://o.example/{i}/{'m.mpd' if i == 4 else 'm.m3u8'}")
    page = client.get("/api/v1/channels?limit=2&offset=1", headers=admin).get_json()
    assert [c["channel_code"] for c in page["items"]] == ["CH_1", "CH_2"]
    assert (page["total"], page["limit"], page["offset"]) == (5, 2, 1)

    def codes(query: str) -> list[str]:
        resp = client.get(f"/api/v1/channels?{query}", headers=admin)
        assert resp.status_code == 200, resp.get_json()
        return [c["channel_code"] for c in resp.get_json()["items"]]

    assert codes("tier=1") == ["CH_0", "CH_3"]
    assert codes("protocol=DASH") == ["CH_4"]
    assert codes("q=sport") == ["CH_1", "CH_3"]
    assert codes("q=ch_4") == ["CH_4"]
    assert codes("q=%25") == []
    client.delete("/api/v1/channels/1", headers=admin)
    assert codes("enabled=false") == ["CH_0"]
    assert len(codes("enabled=true")) == 4
    past_end = client.get("/api/v1/channels?offset=50", headers=admin).get_json()
    assert (past_end["items"], past_end["total"]) == ([], 5)
    assert client.get("/api/v1/channels?tier=9", headers=admin).status_code == 400


def test_it_updates_only_the_fields_given(client, admin, catalog):
    made = create(client, admin, template_id=catalog["template_id"])
    resp = client.put(f"/api/v1/channels/{made['id']}", headers=admin,
                      json={"channel_name": "News UHD", "input_url": "https://o.example/a.mpd",
                            "template_id": catalog["plain_template_id"]})
    assert resp.status_code == 200, resp.get_json()
    changed = resp.get_json()
    assert changed["channel_name"] == "News UHD"
    assert changed["channel_code"] == made["channel_code"]
    assert changed["protocol"] == "DASH"
    assert (changed["is_4k"], changed["is_hdr"]) == (False, False)


def test_an_update_cannot_take_another_channels_code_or_null_a_required_field(client, admin):
    create(client, admin)
    other = create(client, admin, channel_code="CH_2")
    resp = client.put(f"/api/v1/channels/{other['id']}", json={"channel_code": "CH_TV_HD_001"},
                      headers=admin)
    assert resp.status_code == 409
    resp = client.put(f"/api/v1/channels/{other['id']}", json={"channel_name": None}, headers=admin)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["field"] == "channel_name"
    resp = client.put(f"/api/v1/channels/{other['id']}", json={"probe_id": 77}, headers=admin)
    assert (resp.status_code, resp.get_json()["error"]["field"]) == (400, "probe_id")


def test_delete_disables_and_put_re_enables(client, admin):
    made = create(client, admin)
    resp = client.delete(f"/api/v1/channels/{made['id']}", headers=admin)
    assert resp.status_code == 200
    assert (resp.get_json()["enabled"], resp.get_json()["status"]) == (False, "disabled")
    assert client.get(f"/api/v1/channels/{made['id']}", headers=admin).status_code == 200
    back = client.put(f"/api/v1/channels/{made['id']}", json={"enabled": True}, headers=admin)
    assert (back.get_json()["enabled"], back.get_json()["status"]) == (True, "unknown")


def test_unknown_channels_are_404_even_for_huge_ids(client, admin):
    for path in ("/api/v1/channels/42", "/api/v1/channels/99999999999999999999"):
        for method in ("get", "put", "delete"):
            resp = getattr(client, method)(path, headers=admin, json={} if method == "put" else None)
            assert resp.status_code == 404, (method, path)
            assert resp.get_json()["error"]["code"] == "not_found"


def test_the_thumbnail_is_served_with_an_etag_and_answers_304_when_unchanged(
        client, admin, reader, session_factory):
    from datetime import UTC, datetime

    from castwatch.common.db import transaction
    from castwatch.packager_monitor.content.channel import ThumbnailUpdate
    from castwatch.packager_monitor.store import write_thumbnail

    made = create(client, admin)
    url = f"/api/v1/channels/{made['id']}/thumbnail"
    assert client.get(url, headers=reader).status_code == 404
    assert client.get(url).status_code == 401  # read scope
    jpeg = b"\xff\xd8\xff\xe0fake-but-opaque-bytes\xff\xd9"
    with transaction(session_factory) as s:  # what the probe's database writer does
        taken = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        write_thumbnail(s, ThumbnailUpdate(made["id"], jpeg, taken, "360p"))
    resp = client.get(url, headers=reader)
    assert resp.status_code == 200 and resp.mimetype == "image/jpeg" and resp.data == jpeg
    etag = resp.headers["ETag"]
    assert etag.startswith('"') and "max-age" in resp.headers["Cache-Control"]
    assert resp.headers["Last-Modified"] == "Fri, 02 Jan 2026 03:04:05 GMT"
    again = client.get(url, headers={**reader, "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    with transaction(session_factory) as s:  # a new picture: a new ETag, the old one misses
        write_thumbnail(s, ThumbnailUpdate(made["id"], jpeg + b"2", datetime.now(UTC), "360p"))
    fresh = client.get(url, headers={**reader, "If-None-Match": etag})
    assert fresh.status_code == 200 and fresh.headers["ETag"] != etag
    assert client.get("/api/v1/channels/999999/thumbnail", headers=reader).status_code == 404
