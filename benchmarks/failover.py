"""Encoder manager benchmark (a script, not a test; bounded to a few minutes).

1. Failover latency: 20 groups (primary AJA HELO live, backup Matrox Monarch idle) polled at
   1 s by one real manager on a real PostgreSQL; each primary's stream is stopped at a random
   moment; we time fault → the backup simulator receiving ``StartStreaming``. Prints p50/p99
   (goal p99 ≤ 3 s with 3 failed polls at 1 s).
1b. Restored redundancy: 5 groups (a Makito X4 primary that only a reboot cures, reboots allowed;
   an OBS backup), remediation back-off 2 s, failback hold 5 s: time from the fault until
   FAILOVER_ACTIVATED resolves because the remediated primary is a healthy standby again.
2. False failovers: 10 simulated minutes of flapping metrics (stream blips shorter than the
   failure threshold, CPU noise around its limit, temperature noise a few degrees under its
   limit with single-reading steps, drop bursts) through the real health assessment, overheat
   prediction (as the controller feeds it to the policy), hysteresis and failover policy —
   pure, simulated time. Goal 0; the raw predictions that the gating filtered are counted.
3. Assignment: 1,000 outputs placed over a pool of 300 encoders by the pure load-balancing
   assignment (headroom, capabilities, bitrate budgets), then re-placed after 10 encoders die;
   prints decisions per second.
4. Scale: N simulated encoders (in a separate process) polled at 1 s by one manager; prints
   the poll-start lag p50/p99 for each N (goal: ≥ 500 encoders with p99 < 200 ms).

Usage: ``python benchmarks/failover.py [--sizes 250,500,750] [--scale-seconds 20]``.
Uses DATABASE_URL when set, else an embedded PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psycopg2
from prometheus_client import CollectorRegistry
from sqlalchemy.engine import make_url

from castwatch.common.db import make_engine, make_session_factory, transaction, upgrade
from castwatch.common.egress import EgressPolicy
from castwatch.common.hysteresis import ConditionTracker, Debounce
from castwatch.common.models import Alert, Encoder, EncoderGroup
from castwatch.encoder_manager.assignment import PoolEncoder, PoolOutput, assign
from castwatch.encoder_manager.health import CPU_HIGH, EncoderHealth, Thresholds, slope
from castwatch.encoder_manager.manager import EncoderManager
from castwatch.encoder_manager.metrics import EncoderMetrics
from castwatch.encoder_manager.policy import GroupPolicy, GroupState, Member, MemberView, decide
from castwatch.encoder_manager.sample import HealthSample
from castwatch.encoder_manager.settings import EncoderSettings
from castwatch.simulators.encoders import SimHost, SimState, simulator_class


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


# -- database --------------------------------------------------------------------------------

def fresh_database() -> tuple[str, Any]:
    base, embedded = os.environ.get("DATABASE_URL"), None
    if not base:
        from castwatch.common.embedded_pg import EmbeddedPostgres

        embedded = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="cw-bench-")) / "pg")
        base = embedded.start()
    name = f"castwatch_bench_{secrets.token_hex(3)}"
    admin = psycopg2.connect(base)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    # the embedded server's URL carries its socket directory in the query: replace the database
    # name properly rather than cutting the string at its last slash
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    return url, (admin, name, embedded)


def drop_database(handle: Any) -> None:
    admin, name, embedded = handle
    admin.cursor().execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname=%s", (name,))
    admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.close()
    if embedded is not None:
        embedded.stop()


class Running:
    """A manager on its own thread and event loop."""

    def __init__(self, url: str, cfg: EncoderSettings) -> None:
        self.engine = make_engine(url, pool_size=4)
        self.manager = EncoderManager(cfg, make_session_factory(self.engine), url,
                                      EncoderMetrics(CollectorRegistry()))
        self.loop = asyncio.new_event_loop()
        self.stop_event: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.stop_event = asyncio.Event()
        self.loop.run_until_complete(self.manager.run(self.stop_event))

    def __enter__(self) -> Running:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.stop_event is not None:
            self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(timeout=30)
        self.engine.dispose()


#: the simulators listen on loopback: allowed by the egress policy, and the benchmark's device
#: secrets are bound to it, as an operator would set EGRESS_ALLOW / ENCODERS_CREDENTIALS_BINDINGS
LOOPBACK = EgressPolicy.parse("127.0.0.1/32,::1/128")
BINDINGS = {f"env:{name}": (("127.0.0.1", None),) for name in ("ENCODER_SECRET_SIM", "ENCODER_SECRET_SIM_PW")}


def settings(**kw: Any) -> EncoderSettings:
    return EncoderSettings(**({"metrics_bind": ("127.0.0.1", 0), "poll_interval_s": 1.0,
                               "poll_timeout_s": 0.8, "reload_interval_s": 5.0,
                               "lock_interval_s": 0.5, "command_poll_s": 2.0,
                               "egress": LOOPBACK, "credentials_bindings": BINDINGS} | kw))


# -- 1. failover latency ------------------------------------------------------------------------

def failover_latency(url: str, trials: int) -> list[float]:
    host = SimHost().start()
    pairs = []
    for i in range(trials):
        primary = simulator_class("aja_helo")(SimState(name=f"p{i}", streaming=True))
        backup = simulator_class("matrox_monarch")(SimState(name=f"b{i}"))
        host.run(primary.start())
        host.run(backup.start())
        pairs.append((primary, backup))
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as s:
        for i, (primary, backup) in enumerate(pairs):
            g = EncoderGroup(name=f"bench-{i}", poll_interval_s=1.0, failure_threshold=3,
                             verify_timeout_s=10, min_switch_interval_s=30)
            s.add(g)
            s.flush()
            p = Encoder(name=f"bench-p{i}", driver_kind="aja_helo", address=primary.address, group_id=g.id,
                        credentials_ref="env:ENCODER_SECRET_SIM")
            b = Encoder(name=f"bench-b{i}", driver_kind="matrox_monarch", address=backup.address,
                        group_id=g.id, role="backup", credentials_ref="env:ENCODER_SECRET_SIM")
            s.add_all([p, b])
            s.flush()
            g.active_encoder_id = p.id
    engine.dispose()
    cfg = settings(credentials_env={"ENCODER_SECRET_SIM": "admin:admin"})
    latencies: list[float] = []
    rng = random.Random(2026)
    with Running(url, cfg) as run:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(run.manager.held) < trials + 1:
            time.sleep(0.2)
        time.sleep(3.0)  # a few healthy polls of everyone first
        faults: list[float] = []
        for primary, _backup in pairs:
            time.sleep(rng.uniform(0.05, 0.3))  # random phase against the poll schedule
            faults.append(time.monotonic())
            primary.state.set_faults(stream_stop=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if all(b.state.requests_matching("StartStreaming") for _p, b in pairs):
                break
            time.sleep(0.1)
        for t0, (_p, backup) in zip(faults, pairs, strict=True):
            starts = backup.state.requests_matching("StartStreaming")
            if starts:
                latencies.append(starts[0].at - t0)
    host.stop()
    return latencies


def restored_redundancy(url: str, trials: int = 5) -> list[float]:
    host = SimHost().start()
    pairs = []
    for i in range(trials):
        primary = simulator_class("haivision_makito")(SimState(name=f"rp{i}", streaming=True))
        backup = simulator_class("obs")(SimState(name=f"rb{i}"))
        host.run(primary.start())
        host.run(backup.start())
        pairs.append((primary, backup))
    engine = make_engine(url)
    names = []
    with transaction(make_session_factory(engine)) as s:
        s.query(Encoder).delete()
        s.query(EncoderGroup).delete()
        for i, (primary, backup) in enumerate(pairs):
            g = EncoderGroup(name=f"redundancy-{i}", poll_interval_s=1.0, failure_threshold=3,
                             verify_timeout_s=10, min_switch_interval_s=30, failback_hold_s=5.0,
                             thresholds={"remedy_backoff_s": 2.0})
            s.add(g)
            s.flush()
            names.append(g.name)
            p = Encoder(name=f"red-p{i}", driver_kind="haivision_makito", address=primary.address,
                        group_id=g.id, credentials_ref="env:ENCODER_SECRET_SIM",
                        driver_options={"allow_reboot": True})
            b = Encoder(name=f"red-b{i}", driver_kind="obs", address=backup.address, group_id=g.id,
                        role="backup", credentials_ref="env:ENCODER_SECRET_SIM_PW")
            s.add_all([p, b])
            s.flush()
            g.active_encoder_id = p.id
    factory = make_session_factory(engine)
    cfg = settings(credentials_env={"ENCODER_SECRET_SIM": "admin:admin", "ENCODER_SECRET_SIM_PW": "admin"})
    took: list[float] = []
    with Running(url, cfg) as run:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(run.manager.held) < trials + 1:
            time.sleep(0.2)
        time.sleep(3.0)
        t0 = time.monotonic()
        for primary, _b in pairs:
            primary.state.set_faults(stream_stop=True)  # wedged until rebooted
        pending = set(names)
        deadline = time.monotonic() + 90
        while pending and time.monotonic() < deadline:
            with factory() as s:
                done = {a.subject for a in s.query(Alert).filter(
                    Alert.alert_type == "FAILOVER_ACTIVATED", Alert.state == "resolved",
                    Alert.subject.in_(pending))}
            for _ in done:
                took.append(time.monotonic() - t0)
            pending -= done
            time.sleep(0.2)
    engine.dispose()
    host.stop()
    return took


# -- 2. false failovers under flapping metrics ------------------------------------------------

def false_failovers(minutes: int = 10, seed: int = 7) -> dict[str, int]:
    rng = random.Random(seed)
    policy = GroupPolicy()
    members = [Member(1, "primary"), Member(2, "backup", "backup")]
    th = Thresholds()
    health = {1: EncoderHealth(), 2: EncoderHealth()}
    tracker: ConditionTracker[str] = ConditionTracker()
    state = GroupState(active_id=1)
    failovers = raw_cpu_crossings = cpu_alerts = raw_predictions = 0
    preemptive = ungated = 0
    temps: list[tuple[float, float]] = []
    blip_left, was_bad = 0, False
    was_over = False
    drops = 0
    idle = HealthSample(reachable=True, state="idle")
    for t in range(minutes * 60):
        now = float(t)
        # stream blips of 1–2 polls with a good poll between them: never 3 bad polls in a row
        if blip_left == 0 and not was_bad and rng.random() < 0.2:
            blip_left = rng.choice((1, 2))
        bad = blip_left > 0
        blip_left = max(0, blip_left - 1)
        was_bad = bad
        cpu = 90 + rng.uniform(-6, 6)
        drops += rng.choice((0, 0, 0, 5))
        # the reported incident: flat ~70 °C (limit 75) with sensor noise and one-degree steps
        temp = 70 + rng.uniform(-0.5, 0.5) + (1.0 if rng.random() < 0.05 else 0.0) + 2.0 * (t % 180 > 170)
        sample = HealthSample(reachable=True, state="idle" if bad else "live",
                              temperature_c=round(temp, 1), cpu_percent=cpu,
                              frames_dropped=drops, frames_total=t * 30)
        a1 = health[1].assess(sample, now, th, expect_live=state.active_id == 1)
        a2 = health[2].assess(idle, now, th, expect_live=state.active_id == 2)
        over = cpu >= th.cpu_max_percent
        raw_cpu_crossings += int(over and not was_over)
        was_over = over
        debounce = Debounce(raise_after_count=th.raise_after_count, clear_after_s=th.clear_after_s)
        cpu_alerts += int(tracker.observe(CPU_HIGH, a1.conditions[CPU_HIGH].bad, now, debounce) == "raise")
        raw_predictions += int(a1.overheat_predicted_in_s is not None)
        temps.append((now, sample.temperature_c or 0.0))
        ungated += int(_ungated_prediction(temps, now, th))
        views = {eid: MemberView(reachable=True, live=h.last_sample.live if h.last_sample else False, ok=a.ok,
                                 consecutive_failures=h.consecutive_failures, healthy_since=h.healthy_since,
                                 seen=True, overheat_predicted=h.overheat_signal(th))
                 for eid, h, a in ((1, health[1], a1), (2, health[2], a2))}
        state, actions = decide(policy, members, views, state, now)
        started = [a for a in actions if a.op == "event_started"]
        failovers += len(started)
        preemptive += sum(1 for a in started if "temperature" in a.summary)
    return {"false_failovers": failovers, "raw_cpu_limit_crossings": raw_cpu_crossings,
            "cpu_alerts_with_hysteresis": cpu_alerts, "preemptive_switches": preemptive,
            "raw_overheat_predictions": raw_predictions, "ungated_rule_predictions": ungated}


def _ungated_prediction(temps: list[tuple[float, float]], now: float, th: Thresholds) -> bool:
    """What the old rule (any 3 points of the last 5 min, no span, no fit) would have predicted —
    each such poll was a pre-emptive switch before predictions were gated."""
    recent = [(t, v) for t, v in temps if now - t <= 300.0]
    rising = slope(recent)
    if rising is None or rising <= 0.001 or recent[-1][1] >= th.temperature_max_c:
        return False
    return (th.temperature_max_c - recent[-1][1]) / rising <= th.overheat_predict_minutes * 60


# -- 3. assignment ------------------------------------------------------------------------------

def assignment_rate(outputs: int = 1000, encoders: int = 300, seed: int = 3) -> dict[str, float]:
    rng = random.Random(seed)
    outs = [PoolOutput(i, f"out-{i:04d}", bitrate_kbps=rng.choice((3000, 6000, 8000)),
                       priority=rng.randint(0, 9),
                       capabilities=frozenset({"hevc"}) if i % 10 == 0 else frozenset())
            for i in range(outputs)]
    pool = [PoolEncoder(e, cpu_percent=rng.uniform(10, 70), temperature_c=rng.uniform(40, 65),
                        max_outputs=4, bitrate_budget_kbps=30000,
                        capabilities=frozenset({"hevc"}) if e % 3 == 0 else frozenset())
            for e in range(encoders)]
    t0 = time.perf_counter()
    plan = assign(outs, pool, {})
    first = time.perf_counter() - t0
    dead = set(rng.sample(range(encoders), 10))
    survivors = [PoolEncoder(**{**e.__dict__, "usable": e.encoder_id not in dead}) for e in pool]
    t0 = time.perf_counter()
    again = assign(outs, survivors, plan.assignment)
    second = time.perf_counter() - t0
    return {"placed": outputs - len(plan.unassigned), "first_s": first, "decisions_per_s": outputs / first,
            "moved": len(again.moves), "reassign_s": second, "reassign_decisions_per_s": outputs / second}


# -- 4. scale ------------------------------------------------------------------------------------

def serve_sims(count: int) -> None:
    """Child process: ``count`` simulators on one loop; prints their addresses as JSON."""
    host = SimHost().start()
    kinds = ("matrox_monarch", "generic_http")
    addresses = []
    for i in range(count):
        kind = kinds[i % len(kinds)]
        sim = simulator_class(kind)(SimState(name=f"s{i}", streaming=True))
        host.run(sim.start())
        addresses.append((kind, sim.address))
    print(json.dumps(addresses), flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    host.stop()


def scale(url: str, count: int, seconds: float) -> tuple[float, float, int]:
    child = subprocess.Popen([sys.executable, __file__, "--serve-sims", str(count)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        addresses = json.loads(child.stdout.readline())
        engine = make_engine(url)
        with transaction(make_session_factory(engine)) as s:
            s.query(Encoder).delete()
            s.query(EncoderGroup).delete()
            for i, (kind, address) in enumerate(addresses):
                s.add(Encoder(name=f"scale-{i}", driver_kind=kind, address=address,
                              credentials_ref="env:ENCODER_SECRET_SIM"))
        engine.dispose()
        cfg = settings(credentials_env={"ENCODER_SECRET_SIM": "admin:admin"}, poll_timeout_s=0.9)
        with Running(url, cfg) as run:
            time.sleep(5.0)  # warm up: connections, first polls spread over the interval
            run.manager.lags.clear()
            time.sleep(seconds)
            lags = list(run.manager.lags)
            polls = len(lags)
        engine = make_engine(url)
        with make_session_factory(engine)() as s:  # a lag figure means something only if they answer
            reachable = s.query(Encoder).filter(Encoder.reachable.is_(True)).count()
        engine.dispose()
        if reachable < count:
            raise SystemExit(f"scale: only {reachable}/{count} simulated encoders answered: no figure")
        return percentile(lags, 50), percentile(lags, 99), polls
    finally:
        if child.stdin is not None:
            child.stdin.close()
        child.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--sizes", default="250,500,750")
    parser.add_argument("--scale-seconds", type=float, default=20.0)
    parser.add_argument("--serve-sims", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_sims is not None:
        serve_sims(args.serve_sims)
        return 0
    import logging

    logging.basicConfig(level=logging.ERROR)
    url, handle = fresh_database()
    try:
        lat = failover_latency(url, args.trials)
        print(f"failover: {len(lat)}/{args.trials} trials, fault → backup start received: "
              f"p50 {percentile(lat, 50):.2f}s p99 {percentile(lat, 99):.2f}s max {max(lat):.2f}s "
              f"(1 s polls, 3 failed polls to fail over)" if lat else "failover: no trial completed")
        red = restored_redundancy(url)
        print(f"restored redundancy: {len(red)}/5 groups, fault → FAILOVER_ACTIVATED resolved: "
              f"p50 {percentile(red, 50):.1f}s max {max(red):.1f}s (remediation back-off 2 s, reboot "
              f"allowed, failback hold 5 s)" if red else "restored redundancy: no group restored in 90 s")
        flap = false_failovers()
        print(f"flapping metrics, 10 simulated minutes: {flap['false_failovers']} false failovers; "
              f"CPU crossed its limit {flap['raw_cpu_limit_crossings']} times → "
              f"{flap['cpu_alerts_with_hysteresis']} CPU alerts with hysteresis; temperature noise: "
              f"{flap['ungated_rule_predictions']} polls the old ungated trend would have switched on, "
              f"{flap['raw_overheat_predictions']} raw predictions now → "
              f"{flap['preemptive_switches']} pre-emptive switches")
        pool = assignment_rate()
        print(f"assignment: 1000 outputs over 300 encoders: {pool['placed']:.0f} placed in "
              f"{pool['first_s'] * 1000:.0f} ms ({pool['decisions_per_s']:.0f} decisions/s); "
              f"10 encoders die: {pool['moved']:.0f} outputs moved in {pool['reassign_s'] * 1000:.0f} ms "
              f"({pool['reassign_decisions_per_s']:.0f} outputs judged/s)")
        for size in (int(x) for x in args.sizes.split(",")):
            p50, p99, polls = scale(url, size, args.scale_seconds)
            rate = polls / args.scale_seconds
            verdict = "OK" if p99 < 0.2 else "over budget"
            load = os.getloadavg()[0]
            print(f"scale: {size} encoders at 1 s: {rate:.0f} polls/s, lag p50 {p50 * 1000:.1f} ms "
                  f"p99 {p99 * 1000:.1f} ms ({verdict}; machine load average {load:.1f})")
        print(f"machine: {os.cpu_count()} cores, shared with other work while measured")
    finally:
        drop_database(handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
