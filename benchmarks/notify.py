"""Notifier benchmark (a script, not a test): latency and a burst through the real pipeline.

    python benchmarks/notify.py [--latency-alerts 200] [--burst-alerts 1000] [--chats 50]

Uses DATABASE_URL (a fresh database is created on that server and dropped afterwards) or an
embedded PostgreSQL; runs ``castwatch notify`` as a subprocess against the local Bot API
stand-in. Prints:
1. alert committed → stand-in receives sendMessage: p50/p99/max over N ungrouped alerts
   (spread over the chats so the per-chat limit does not queue them; goal p99 ≤ 2 s);
2. a burst of M alerts across C chats committed at once: time to drain, sent, lost,
   duplicated, and the highest rate seen per chat and overall in any 1 s window (Telegram's
   limits: 1/s per chat, 30/s overall).
Every wait is bounded; the notifier process is stopped at the end.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import psycopg2
from sqlalchemy.engine import make_url

from castwatch.common import alerts
from castwatch.common.alerts import AlertKey
from castwatch.common.db import make_engine, make_session_factory, transaction, upgrade
from castwatch.common.embedded_pg import EmbeddedPostgres
from castwatch.common.models import NotificationRule, Recipient
from castwatch.simulators.telegram.standin import BotApiStandIn


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def create_database(base: str) -> tuple[str, str]:
    name = f"castwatch_bench_{secrets.token_hex(4)}"
    admin = psycopg2.connect(base.replace("postgresql+psycopg2://", "postgresql://", 1))
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    admin.close()
    url = make_url(base.replace("postgresql://", "postgresql+psycopg2://", 1)).set(database=name)
    return url.render_as_string(hide_password=False), name


def drop_database(base: str, name: str) -> None:
    admin = psycopg2.connect(base.replace("postgresql+psycopg2://", "postgresql://", 1))
    admin.autocommit = True
    cur = admin.cursor()
    cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
    cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.close()


def wait_until(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def seen(standin: BotApiStandIn, pattern: str) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for msg in list(standin.sent):
        for subject in re.findall(pattern, msg["text"]):
            out.setdefault(subject, []).append(msg["at"])
    return out


def run(args: argparse.Namespace, url: str) -> None:
    upgrade(url)
    factory = make_session_factory(make_engine(url))
    with transaction(factory) as session:
        for chat in range(1, args.chats + 1):
            person = Recipient(name=f"bench{chat}", role="technician", telegram_chat_id=chat)
            session.add(person)
            session.flush()
            session.add(NotificationRule(name=f"bench{chat}", roles=[], recipient_ids=[person.id],
                                         transports=["telegram"], group_wait_s=0,
                                         match={"sources": [f"b{chat}"]}))
    standin = BotApiStandIn(max_long_poll_s=1.0).start()
    env = {**os.environ, "DATABASE_URL": url, "TELEGRAM_BOT_TOKEN": standin.token,
           "TELEGRAM_API_BASE_URL": standin.base_url, "NOTIFY_METRICS_BIND": "127.0.0.1:0",
           "LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", "castwatch.cli", "notify"], env=env)
    try:
        # start-up is not part of the latency: wait for getMe and the first getUpdates poll
        if not wait_until(lambda: any(c.method == "getUpdates" for c in list(standin.calls)), 60):
            raise SystemExit("castwatch notify did not start within 60 s")
        time.sleep(0.5)
        latency(args, factory, standin)
        burst(args, factory, standin)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        standin.stop()


def latency(args: argparse.Namespace, factory, standin: BotApiStandIn) -> None:  # type: ignore[no-untyped-def]
    committed: dict[str, float] = {}
    for n in range(args.latency_alerts):
        subject = f"LAT-{n:05d}-X"
        with transaction(factory) as session:
            alerts.fire(session, AlertKey(f"b{n % args.chats + 1}", subject, "PLAYLIST_STALE"),
                        severity="major", summary="latency probe")
        committed[subject] = time.time()
        time.sleep(args.spacing_s)
    ok = wait_until(lambda: len(seen(standin, r"LAT-\d{5}-X")) >= args.latency_alerts, 60)
    got = seen(standin, r"LAT-\d{5}-X")
    lat = [got[s][0] - t for s, t in committed.items() if s in got]
    print(f"latency: {len(lat)}/{args.latency_alerts} received{'' if ok else ' (TIMED OUT)'}; "
          f"p50 {percentile(lat, 50) * 1000:.0f} ms, p99 {percentile(lat, 99) * 1000:.0f} ms, "
          f"max {max(lat) * 1000:.0f} ms (goal p99 <= 2000 ms)")


def burst(args: argparse.Namespace, factory, standin: BotApiStandIn) -> None:  # type: ignore[no-untyped-def]
    before = len(standin.sent)
    with transaction(factory) as session:
        for n in range(args.burst_alerts):
            alerts.fire(session, AlertKey(f"b{n % args.chats + 1}", f"BURST-{n:05d}-X", "ENCODER_CPU_HIGH"),
                        severity="minor", summary="burst")
    t0 = time.time()
    ok = wait_until(lambda: len(seen(standin, r"BURST-\d{5}-X")) >= args.burst_alerts, args.timeout_s)
    time.sleep(1.0)  # catch late duplicates
    got = seen(standin, r"BURST-\d{5}-X")
    counts = Counter({s: len(t) for s, t in got.items()})
    last = max((t for ts in got.values() for t in ts), default=t0)
    burst_msgs = standin.sent[before:]
    per_chat = max(_max_rate([m["at"] for m in burst_msgs if m["chat_id"] == c])
                   for c in range(1, args.chats + 1))
    overall = _max_rate([m["at"] for m in burst_msgs])
    print(f"burst: {args.burst_alerts} alerts across {args.chats} chats: drained in {last - t0:.1f} s"
          f"{'' if ok else ' (TIMED OUT)'}; sent {len(counts)}, lost {args.burst_alerts - len(counts)}, "
          f"duplicated {sum(counts.values()) - len(counts)}; highest rate per chat {per_chat}/s, "
          f"overall {overall}/s (limits 1/s, 30/s); mean {len(burst_msgs) / max(0.001, last - t0):.1f} msg/s")
    if len(counts):
        print(f"burst: median time to delivery {statistics.median(min(t) - t0 for t in got.values()):.1f} s")


def _max_rate(times: list[float], window_s: float = 1.0) -> int:
    times = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= window_s:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-alerts", type=int, default=200)
    parser.add_argument("--spacing-s", type=float, default=0.05)
    parser.add_argument("--burst-alerts", type=int, default=1000)
    parser.add_argument("--chats", type=int, default=50)
    parser.add_argument("--timeout-s", type=float, default=180.0)
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL")
    embedded = None
    if not base:
        embedded = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="castwatch-bench-")) / "pg")
        base = embedded.start()
    url, name = create_database(base)
    try:
        run(args, url)
    finally:
        drop_database(base, name)
        if embedded is not None:
            embedded.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
