"""The console's pure functions (filters, buckets, messages), run in the real browser from the
real modules the console loads — no Node.js, no copies of the code."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def js(browser: Any, api_server: Any) -> Iterator[Any]:
    """js(module, expression) evaluates `expression` with the module's exports bound as `m`."""
    context = browser.new_context(base_url=api_server.url)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/")

    def run(module: str, expression: str, arg: Any = None) -> Any:
        return page.evaluate(
            f"async (arg) => {{ const m = await import('/ui/js/{module}'); return ({expression}); }}", arg)

    yield run
    context.close()
    assert not errors


CHANNELS = [
    {"id": 1, "channel_code": "CH_SPORT_4K", "channel_name": "Sport 4K", "tier": 1, "protocol": "HLS",
     "is_4k": True, "enabled": True, "status": "ok"},
    {"id": 2, "channel_code": "CH_NEWS", "channel_name": "News 24", "tier": 1, "protocol": "DASH",
     "is_4k": False, "enabled": True, "status": "critical"},
    {"id": 3, "channel_code": "CH_OLD", "channel_name": "Archive", "tier": 3, "protocol": "HLS",
     "is_4k": False, "enabled": False, "status": "ok"},
]


@pytest.mark.parametrize(("filters", "expected"), [
    ({}, [1, 2, 3]),
    ({"tier": "1"}, [1, 2]),
    ({"format": "4k"}, [1]),
    ({"format": "hd"}, [2, 3]),
    ({"protocol": "DASH"}, [2]),
    ({"status": "disabled"}, [3]),  # a disabled channel counts as disabled whatever its last status
    ({"status": "ok"}, [1]),
    ({"q": "news"}, [2]),
    ({"q": "ch_sport"}, [1]),
    ({"tier": "1", "format": "hd", "q": "24"}, [2]),
])
def test_channel_filters_combine(js: Any, filters: dict[str, str], expected: list[int]) -> None:
    got = js("pages/channels.js", "arg.channels.filter((c) => m.matches(c, arg.f)).map((c) => c.id)",
             {"channels": CHANNELS, "f": filters})
    assert got == expected


def test_alert_filters_treat_open_as_firing_or_acknowledged(js: Any) -> None:
    def alert(id_: int, state: str, severity: str, alert_type: str, channel_id: int) -> dict[str, Any]:
        return {"id": id_, "state": state, "severity": severity, "alert_type": alert_type,
                "channel_id": channel_id}

    alerts = [alert(1, "firing", "critical", "PLAYLIST_STALE", 7),
              alert(2, "acknowledged", "minor", "SEGMENT_SLOW", 8),
              alert(3, "resolved", "critical", "PLAYLIST_STALE", 7)]
    cases = [({"state": "open"}, [1, 2]), ({"state": ""}, [1, 2, 3]), ({"state": "resolved"}, [3]),
             ({"state": "", "severity": "critical", "channel": "7"}, [1, 3]),
             ({"state": "open", "type": "SEGMENT_SLOW"}, [2])]
    for f, expected in cases:
        got = js("pages/alerts.js", "arg.alerts.filter((a) => m.alertMatches(a, arg.f)).map((a) => a.id)",
                 {"alerts": alerts, "f": f})
        assert got == expected, f
    query = js("pages/alerts.js", "m.toQuery({state: 'open', severity: '', type: '', channel: '5'})")
    assert query["state"] == ["firing", "acknowledged"] and query["channel"] == "5"
    assert query.get("severity") is None  # empty filters are not sent


def test_hourly_buckets_count_alerts_by_severity_and_ignore_older_ones(js: Any) -> None:
    now = 1_700_000_000_000
    hour = 3_600_000
    alerts = [{"opened_at": now - 10 * 60_000, "severity": "critical"},
              {"opened_at": now - 20 * 60_000, "severity": "critical"},
              {"opened_at": now - 5 * hour - 1, "severity": "minor"},
              {"opened_at": now - 30 * hour, "severity": "major"}]
    expression = ("m.hourlyBuckets(arg.alerts.map((a) => ({...a, opened_at: new Date(a.opened_at)"
                  ".toISOString()})), arg.now, 24)")
    data = js("pages/alerts.js", expression, {"alerts": alerts, "now": now})
    by_label = {ds["label"]: ds["data"] for ds in data["datasets"]}
    assert len(data["labels"]) == 24
    assert by_label["critical"][23] == 2
    assert by_label["minor"][18] == 1
    assert sum(by_label["major"]) == 0


def test_encoder_health_flags_values_past_the_manager_thresholds(js: Any) -> None:
    enc = {"last_sample": {"temperature_c": 76, "cpu_percent": 40, "rates": {"drop_rate": 0.95},
                           "link": {"rtt_ms": 40, "lost": 3}, "bitrate_kbps": 6500},
           "thresholds": {}, "reachable": True, "last_seen_at": None}
    rows = js("pages/encoders.js", "m.health(arg)", enc)
    by_key = {r[3]: (r[1], r[2]) for r in rows}
    assert by_key["temperature"] == ("76 °C", "crit")  # default limit 75 °C
    assert by_key["cpu"] == ("40 %", None)
    assert by_key["drops"] == ("0.95 /s", "warn")  # within 10 % of the 1/s limit
    assert by_key["link"] == ("40 ms · 3 lost", None)
    assert by_key["bitrate"][0] == "6.5 Mb/s"
    # Group thresholds override the defaults, encoder thresholds override the group's.
    raised = js("pages/encoders.js", "m.health(arg, {thresholds: {temperature_max_c: 90}})", enc)
    assert raised[0][2] is None
    lowered = js("pages/encoders.js", "m.health({...arg, thresholds: {cpu_max_percent: 40}}, "
                 "{thresholds: {cpu_max_percent: 95}})", enc)
    assert lowered[1][2] == "crit"
    # A predicted overheat warns before the limit is reached.
    eta = js("pages/encoders.js", "m.health({last_sample: {temperature_c: 60, overheat_eta_s: 300}})")
    assert eta[0][1:3] == ["60 °C · overheat in 5 min", "warn"]
    # A device that reports nothing shows dashes, never zeros.
    empty = js("pages/encoders.js", "m.health({last_sample: {}, thresholds: {}})")
    assert [r[1] for r in empty][:5] == ["—"] * 5


def test_local_recording_shows_as_a_badge_with_the_devices_reason(js: Any) -> None:
    assert js("pages/encoders.js", "m.recordBadge({last_sample: {recording: true}})") == ["REC", "crit"]
    stopped = js("pages/encoders.js",
                 "m.recordBadge({last_sample: {recording: false, record_reason: 'disk full'}})")
    assert stopped == ["REC STOPPED: disk full", "warn"]
    assert js("pages/encoders.js", "m.recordBadge({last_sample: {recording: false}})") is None
    assert js("pages/encoders.js", "m.recordBadge({last_sample: {recording: null}})") is None


def test_download_time_is_read_from_the_check_or_averaged_over_renditions(js: Any) -> None:
    assert js("samples.js", "m.downloadMs({download_time_ms: 120})") == 120
    two = "{renditions: {a: {download_time_ms: 100}, b: {download_time_ms: 300}}}"
    assert js("samples.js", f"m.downloadMs({two})") == 200
    assert js("samples.js", "m.downloadMs({renditions: [{download_time_ms: 50}]})") == 50
    assert js("samples.js", "m.downloadMs({})") is None


def test_the_loudness_figure_is_the_sound_the_probe_names(js: Any) -> None:
    # a demuxed HLS ladder: the video has no sound; two separate audio renditions, "sound" says which
    content = {"chosen": "180p", "sound": "audio_en", "renditions": {}, "decoded": {
        "180p": {"codec": "h264"}, "audio_fr": {"audio": [{"short_term_lufs": -40.0}]},
        "audio_en": {"audio": [{"short_term_lufs": -23.5}]}}}
    assert js("samples.js", "m.contentFigures(arg).loudness", {"content": content}) == -23.5
    muxed = {"chosen": "360p", "renditions": {}, "decoded": {"360p": {"audio": [{"short_term_lufs": -22.0}]}}}
    assert js("samples.js", "m.contentFigures(arg).loudness", {"content": muxed}) == -22.0


def test_the_top_rung_is_the_highest_bandwidth(js: Any) -> None:
    tpl = {"renditions": [
        {"name": "720p", "bandwidth": 3e6, "codecs": "avc1.64001f,mp4a.40.2", "resolution": "1280x720"},
        {"name": "1080p", "bandwidth": 6e6, "codecs": "hvc1.2.4.L123,ec-3", "resolution": "1920x1080",
         "frame_rate": 50}]}
    assert js("data.js", "m.rungSummary(m.topRung(arg))", tpl) == "hvc1 · 1920x1080 · 50fps"
    assert js("data.js", "m.rungSummary(m.topRung({renditions: []}))") == "no ladder"


def test_channels_with_problems_sort_first_and_carry_their_worst_alert(js: Any) -> None:
    order = js("pages/channels.js", "arg.slice().sort(m.byUrgency).map((c) => c.id)", CHANNELS)
    assert order == [2, 1, 3]  # critical, then ok, then the disabled one
    worst = js("pages/channels.js", "Object.fromEntries(m.openAlertsByChannel(arg))", [
        {"channel_id": 5, "severity": "minor"}, {"channel_id": 5, "severity": "critical"},
        {"channel_id": 5, "severity": "major"}, {"channel_id": None, "severity": "critical"}])
    assert worst == {"5": {"n": 3, "worst": "critical"}}


def test_check_renditions_follow_the_ladder_order(js: Any) -> None:
    ladder = [{"name": "480p", "bandwidth": 1.2e6}, {"name": "1080p", "bandwidth": 6e6},
              {"name": "720p", "bandwidth": 3e6}]
    check: dict[str, Any] = {"renditions": {"480p": {}, "audio": {}, "720p": {}, "1080p": {}}}
    got = js("pages/channel_detail.js",
             "m.byLadder(m.checkRenditions(arg.check), arg.ladder).map((r) => r.name)",
             {"check": check, "ladder": ladder})
    assert got == ["1080p", "720p", "480p", "audio"]


def test_time_axis_ticks_fall_on_round_clock_times(js: Any) -> None:
    minute = 60_000
    now = 1_700_000_000_000 + 7 * minute + 30_000
    w = js("charts.js", "m.timeWindow([{points: [{x: arg - 60000, y: 1}]}], 15 * 60000, arg)", now)
    assert w["ticks"]["stepSize"] == 5 * minute  # at most 4 ticks over 15-20 minutes
    assert w["min"] % (5 * minute) == 0 and w["min"] <= now - 15 * minute
    assert w["max"] == now
    # The window widens to the oldest point shown.
    w = js("charts.js", "m.timeWindow([{points: [{x: arg - 3600000, y: 1}]}], 120000, arg)", now)
    assert w["min"] <= now - 60 * minute and w["ticks"]["stepSize"] == 15 * minute


def test_a_steady_stream_of_live_events_still_redraws_periodically(js: Any) -> None:
    expression = """(async () => {
      const calls = [];
      const redraw = m.throttle((x) => calls.push(x), 100);
      for (let i = 0; i < 50; i++) { redraw(i); await new Promise((r) => setTimeout(r, 10)); }
      await new Promise((r) => setTimeout(r, 250));
      return calls;
    })()"""
    calls = js("ui.js", expression)
    assert 2 <= len(calls) <= 10  # coalesced, yet not starved the way a debounce would be
    assert calls[-1] == 49  # the last event always gets drawn


def test_list_all_follows_pages_and_takes_a_bare_array_once(js: Any, rest: Any, admin_key: str) -> None:
    for i in range(5):
        rest.post("/channels", {"channel_code": f"CH_{i}", "channel_name": f"Channel {i}",
                                "input_url": f"https://origin.example/{i}/master.m3u8"}, expect=201)
    rest.post("/encoders", {"name": "enc-1", "driver_kind": "obs", "address": "127.0.0.1:4455"}, expect=201)
    js("api.js", "sessionStorage.setItem('castwatch.apiKey', arg)", admin_key)
    try:
        codes = js("api.js", "m.listAll('/channels', {}, 100, 2).then((r) => r.map((c) => c.channel_code))")
        assert sorted(codes) == [f"CH_{i}" for i in range(5)]  # three pages of two
        assert js("api.js", "m.listAll('/channels', {}, 3, 2).then((r) => r.length)") == 3  # bounded
        assert js("api.js", "m.listAll('/encoders', {}, 100, 1).then((r) => r.length)") == 1  # not paged
    finally:
        js("api.js", "sessionStorage.clear()")
    err = js("api.js", "m.listAll('/channels').then(() => null, (e) => [e.status, e.code])")
    assert err == [401, "unauthenticated"]  # the API's error code reaches the caller


def test_check_tables_put_known_fields_first_and_drop_empty_columns(js: Any) -> None:
    rows = [{"segment_bytes": 1_880_000, "name": "1080p", "segment_error": None, "download_time_ms": 180.5,
             "vendor_x": 1, "segment_status": 200}]
    headers = js("pages/channel_detail.js", "[...m.objectTable(arg).querySelectorAll('th')]"
                 ".map((th) => th.textContent)", rows)
    assert headers == ["rendition", "download ms", "HTTP", "size", "vendor x"]
    cells = js("pages/channel_detail.js", "[...m.objectTable(arg).querySelectorAll('td')]"
               ".map((td) => td.textContent)", rows)
    assert cells == ["1080p", "180.5", "200", "1.9 MB", "1"]


def test_the_console_reads_its_vocabulary_from_the_api(js: Any) -> None:
    from castwatch.common import vocab

    got = js("data.js", "({severities: m.SEVERITIES, roles: m.ROLES, kinds: m.META.driver_kinds})")
    assert got == {"severities": list(vocab.SEVERITIES), "roles": list(vocab.RECIPIENT_ROLES),
                   "kinds": list(vocab.DRIVER_KINDS)}


def test_the_console_copies_no_enum_of_the_vocabulary() -> None:
    import re
    from pathlib import Path

    from castwatch.common import vocab

    static = Path(vocab.__file__).resolve().parents[1] / "cms_api" / "web" / "static" / "js"
    for path in static.rglob("*.js"):
        for names in (vocab.SEVERITIES, vocab.RECIPIENT_ROLES, vocab.DRIVER_KINDS):
            listed = r"\[\s*" + r"\s*,\s*".join(f'"{n}"' for n in names[:2])
            assert not re.search(listed, path.read_text()), (path.name, names)
