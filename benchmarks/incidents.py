"""Benchmark of one correlation decision (pure): ``python benchmarks/incidents.py``.

Builds a station of N channels over 10 origins and N/4 encoder groups, opens alerts on a share
of them (one origin down, a few encoders failed over, scattered rendition alerts) and times
:func:`plan_incidents`. Prints figures; asserts nothing (timing belongs here, not in tests).
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from castwatch.incidents.facts import AlertView, FailoverView
from castwatch.incidents.known_issues import load_library
from castwatch.incidents.plan import Snapshot, plan_incidents
from castwatch.incidents.topology import build_topology


def station(n: int, rng: random.Random) -> tuple[Snapshot, int]:
    t0 = datetime(2026, 11, 21, 18, 0, tzinfo=UTC)
    groups: list[dict[str, Any]]
    encoders: list[dict[str, Any]]
    channels: list[dict[str, Any]]
    groups = [dict(id=g, name=f"grp-{g}", active_encoder_id=g * 10) for g in range(1, n // 4 + 1)]
    encoders = [dict(id=g["id"] * 10 + k, name=f"enc-{g['id']}-{k}", group_id=g["id"], state="live")
                for g in groups for k in (0, 1)]
    channels = [dict(id=i, code=f"CH_{i:05d}", tier=1 + i % 3, renditions=["1080p", "720p", "480p"],
                     input_url=f"http://origin-{i % 10}.example/{i}/master.m3u8",
                     encoder_group_id=1 + i % len(groups)) for i in range(1, n + 1)]
    alerts: list[AlertView] = []
    ident = 0

    def add(**kw: object) -> None:
        nonlocal ident
        ident += 1
        alerts.append(AlertView(id=ident, state="firing", **kw))  # type: ignore[arg-type]

    for c in channels:
        if c["input_url"].startswith("http://origin-3."):  # origin 3 is down
            add(source="probe", subject=f"{c['code']}/720p", alert_type="PLAYLIST_STALE", severity="critical",
                opened_at=t0 + timedelta(seconds=rng.random() * 20), channel_id=c["id"])
        elif rng.random() < 0.05:
            add(source="probe", subject=f"{c['code']}/{rng.choice(['720p', '480p'])}",
                alert_type=rng.choice(["SEGMENT_SLOW", "PLAYLIST_STALE", "MEDIA_SEQUENCE_GAP"]),
                severity="major", opened_at=t0 + timedelta(seconds=rng.random() * 300), channel_id=c["id"])
    failovers = []
    for g in rng.sample(groups, k=min(5, len(groups))):
        add(source="encoders", subject=f"enc-{g['id']}-0", alert_type="ENCODER_OVERHEAT", severity="critical",
            opened_at=t0, encoder_id=g["id"] * 10, group_id=g["id"])
        failovers.append(FailoverView(g["id"], g["id"] * 10, g["id"] * 10 + 1, "succeeded", t0,
                                      t0 + timedelta(seconds=3)))
    topo = build_topology(channels, encoders, groups)
    return Snapshot(alerts, topo, failovers), len(alerts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--channels", type=int, nargs="*", default=[100, 1000, 3000])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    library = load_library()
    now = datetime(2026, 11, 21, 18, 10, tzinfo=UTC)
    for n in args.channels:
        snap, n_alerts = station(n, random.Random(n))
        times = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            plans = plan_incidents(snap, now, library)
            times.append(time.perf_counter() - started)
        print(f"channels={n:5d} open_alerts={n_alerts:5d} incidents={len(plans):4d} "
              f"plan_ms_median={sorted(times)[len(times) // 2] * 1000:8.1f} max_ms={max(times) * 1000:8.1f}")


if __name__ == "__main__":
    main()
