"""The correlator against the real database and the notifier's real planner."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from castwatch.common.db import transaction
from castwatch.common.models import Alert, Delivery, FailoverEvent, Incident, IncidentAlert, utcnow
from castwatch.incidents.correlator import Correlator
from castwatch.notifier.incident_jobs import triage
from castwatch.notifier.planner import Planner


def _deliveries(factory: sessionmaker[Session]) -> dict[int, set[str]]:
    with factory() as s:
        out: dict[int, set[str]] = {}
        for d in s.scalars(select(Delivery).where(Delivery.kind == "opened")):
            out.setdefault(d.alert_id or 0, set()).add(d.status)
        return out


def test_an_origin_outage_becomes_one_incident_with_one_message(
    seeded: dict[str, Any], correlator: Correlator, fire: Callable[..., int],
    clear: Callable[[int], None], session_factory: sessionmaker[Session],
) -> None:
    ch = seeded["channels"]
    ids = [fire("probe", f"{code}/720p", "PLAYLIST_STALE", "critical", channel_id=ch[code])
           for code in ("NEWS", "SPORT", "MOVIES")]
    Planner(session_factory).plan_pending()  # the notifier saw the symptoms first
    correlator.run_once()
    with session_factory() as s:
        (inc,) = s.scalars(select(Incident)).all()
        root = s.get(Alert, inc.root_cause_alert_id)
        assert inc.key == "origin:origin-a.example:8080" and inc.root_kind == "origin"
        assert root is not None and root.alert_type == "ORIGIN_DOWN" and root.source == "incidents"
        assert inc.impact["channels"] == 3 and inc.severity == "critical"
        assert inc.known_issue == "origin-down" and "origin host" in (inc.remediation or "")
        assert {a.root_cause_alert_id for a in s.scalars(select(Alert).where(Alert.id.in_(ids)))} == {root.id}
        assert root.details.get("remediation") == inc.remediation
        root_id = root.id
    Planner(session_factory).plan_pending()
    with session_factory() as s:  # what the notifier decides when the rows fall due
        opened = list(s.scalars(select(Delivery).where(Delivery.kind == "opened")))
        keep, folded = triage(s, opened)
        assert {r.alert_id for r, _ in folded} == set(ids)  # symptoms folded at send time
        assert {r.alert_id for r in keep} == {root_id}  # the root's message goes out
        joins = s.scalars(select(Delivery).where(Delivery.kind == "incident_update")).all()
        assert {(d.alert_id, d.payload["change"]) for d in joins} == {(i, "joined") for i in ids}
    for i in ids:
        clear(i)
    correlator.run_once()
    with session_factory() as s:
        inc = s.scalars(select(Incident)).one()
        assert inc.state == "resolved" and s.get(Alert, root_id).state == "resolved"  # type: ignore[union-attr]


def test_encoder_overheat_then_failover_is_one_incident_with_expected_symptoms_downgraded(
    seeded: dict[str, Any], correlator: Correlator, fire: Callable[..., int],
    clear: Callable[[int], None], session_factory: sessionmaker[Session],
) -> None:
    heat = fire("encoders", "enc-a", "ENCODER_OVERHEAT", "critical", encoder_id=seeded["enc_a"],
                group_id=seeded["group"])
    with transaction(session_factory) as s:
        s.add(FailoverEvent(group_id=seeded["group"], from_encoder_id=seeded["enc_a"],
                            to_encoder_id=seeded["enc_b"], reason="overheat", status="succeeded",
                            completed_at=utcnow()))
    fo = fire("encoders", "news-pair", "FAILOVER_ACTIVATED", group_id=seeded["group"])
    disc = fire("probe", "NEWS/720p", "DISCONTINUITY_SEQUENCE_ERROR", channel_id=seeded["channels"]["NEWS"])
    correlator.run_once()
    correlator.run_once()  # a second round changes nothing
    with session_factory() as s:
        (inc,) = s.scalars(select(Incident)).all()
        assert inc.key == f"group:{seeded['group']}" and inc.root_cause_alert_id == heat
        assert inc.impact["redundancy"] == "lost" and inc.severity == "major"
        members = {m.alert_id: m for m in s.scalars(select(IncidentAlert))}
        assert set(members) == {heat, fo, disc} and members[disc].expected
        assert s.get(Alert, disc).severity == "info"  # type: ignore[union-attr]
        notes = [e.note for e in s.get(Alert, heat).events if e.kind == "note"]  # type: ignore[union-attr]
        assert len(notes) == 2
    for i in (fo, disc, heat):
        clear(i)
    correlator.run_once()
    with session_factory() as s:
        assert s.scalars(select(Incident.state)).one() == "resolved"


def test_a_channel_incident_is_absorbed_when_its_encoder_alert_arrives(
    seeded: dict[str, Any], correlator: Correlator, fire: Callable[..., int],
    session_factory: sessionmaker[Session],
) -> None:
    stale = fire("probe", "NEWS", "PLAYLIST_STALE", "critical", channel_id=seeded["channels"]["NEWS"])
    correlator.run_once()
    down = fire("encoders", "enc-a", "ENCODER_STREAM_DOWN", "critical", encoder_id=seeded["enc_a"])
    correlator.run_once()
    with session_factory() as s:
        rows = {i.key: i for i in s.scalars(select(Incident))}
        assert f"channel:{seeded['channels']['NEWS']}" not in rows  # superseded, dropped
        grp = rows[f"group:{seeded['group']}"]
        assert grp.state == "open" and grp.root_cause_alert_id == down and grp.severity == "critical"
        assert s.get(Alert, stale).root_cause_alert_id == down  # type: ignore[union-attr]


def test_a_symptom_whose_opening_was_folded_gets_no_resolved_message_of_its_own(
    seeded: dict[str, Any], correlator: Correlator, fire: Callable[..., int],
    clear: Callable[[int], None], session_factory: sessionmaker[Session],
) -> None:
    heat = fire("encoders", "enc-a", "ENCODER_OVERHEAT", "critical", encoder_id=seeded["enc_a"],
                group_id=seeded["group"])
    fo = fire("encoders", "news-pair", "FAILOVER_ACTIVATED", group_id=seeded["group"])
    planner = Planner(session_factory)
    planner.plan_pending()
    correlator.run_once()
    clear(heat)  # the encoder cooled down first; the group still runs on its backup
    clear(fo)
    planner.plan_pending()
    correlator.run_once()
    with session_factory() as s:  # what the notifier decides when the rows fall due
        rows = list(s.scalars(select(Delivery).where(Delivery.kind.in_(("opened", "resolved")))))
        keep, folded = triage(s, rows)
        assert {(r.alert_id, r.kind) for r, _ in folded} == {(fo, "opened"), (fo, "resolved")}
        assert {(r.alert_id, r.kind) for r in keep} == {(heat, "opened"), (heat, "resolved")}
