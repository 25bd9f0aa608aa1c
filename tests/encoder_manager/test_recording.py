"""Local recording: drivers against their simulators, the alert when it stops, the group policy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from castwatch.common.models import Alert, EncoderCommand, utcnow
from castwatch.encoder_manager.drivers import DriverError
from castwatch.encoder_manager.recording import condition, wanted
from castwatch.encoder_manager.sample import HealthSample
from tests.encoder_manager.helpers import driver_for, encoder_row, fast_group, run, wait_for

RECORDERS = ("aja_helo", "matrox_monarch", "obs")


async def record_cycle(driver):
    try:
        before = await driver.poll()
        await driver.start_recording()
        during = await driver.poll()
        await driver.stop_recording()
        after = await driver.poll()
        return before, during, after
    finally:
        await driver.close()


@pytest.mark.parametrize("kind", RECORDERS)
def test_each_recording_family_starts_and_stops_local_recording(kind, make_sim):
    sim = make_sim(kind, streaming=True)
    before, during, after = run(record_cycle(driver_for(sim)))
    assert (before.recording, during.recording, after.recording) == (False, True, False)
    assert during.state == "live"  # recording does not touch the stream
    assert not sim.state.recording


@pytest.mark.parametrize("kind", RECORDERS)
def test_a_full_disk_stops_the_recording_with_the_devices_reason(kind, make_sim):
    sim = make_sim(kind, streaming=True)

    async def scenario():
        driver = driver_for(sim)
        try:
            await driver.start_recording()
            sim.state.set_faults(disk_full=True)
            sample = await driver.poll()
            with pytest.raises(DriverError):
                await driver.start_recording()  # the device refuses while the disk is full
            return sample
        finally:
            await driver.close()

    sample = run(scenario())
    assert sample.recording is False and sample.record_reason
    expected_word = {"aja_helo": "media full", "matrox_monarch": "DISABLED", "obs": "disk full"}[kind]
    assert expected_word in sample.record_reason


@pytest.mark.parametrize("kind", ["blackmagic", "haivision_makito", "generic_http"])
def test_families_without_local_recording_say_so(kind, make_sim):
    sim = make_sim(kind)

    async def scenario():
        driver = driver_for(sim)
        try:
            assert "record" not in driver.capabilities
            assert (await driver.poll()).recording is None
            await driver.start_recording()
        finally:
            await driver.close()

    with pytest.raises(DriverError, match="no local recording"):
        run(scenario())


def test_the_recording_condition_and_the_group_policy_are_pure():
    stopped = HealthSample(reachable=True, state="live", recording=False, record_reason="disk full")
    assert condition(stopped, expected=True).bad
    assert "disk full" in condition(stopped, expected=True).summary
    assert not condition(stopped, expected=False).bad
    assert condition(HealthSample.unreachable("x"), expected=True) is None
    assert wanted(role="backup", on_air=True, record_on_backup=True, record_during_meetings=False,
                  in_meeting=False)
    assert not wanted(role="primary", on_air=True, record_on_backup=True, record_during_meetings=False,
                      in_meeting=False)
    assert not wanted(role="backup", on_air=False, record_on_backup=True, record_during_meetings=True,
                      in_meeting=True)
    assert wanted(role="primary", on_air=True, record_on_backup=False, record_during_meetings=True,
                  in_meeting=True)


def command(session_factory, encoder_id: int, action: str) -> int:
    with session_factory() as s, s.begin():
        cmd = EncoderCommand(encoder_id=encoder_id, action=action, requested_by="carol")
        s.add(cmd)
        s.flush()
        return cmd.id


def finished(session_factory, cid: int) -> EncoderCommand | None:
    with session_factory() as s:
        cmd = s.get(EncoderCommand, cid)
        return cmd if cmd is not None and cmd.status in ("done", "failed") else None


def open_alert(session_factory, subject: str, alert_type: str) -> Alert | None:
    with session_factory() as s:
        return s.scalars(select(Alert).where(Alert.subject == subject, Alert.alert_type == alert_type,
                                             Alert.state != "resolved")).first()


def test_a_recording_that_stops_raises_an_alert_with_the_reason(db, session_factory, make_sim,
                                                                 start_manager):
    sim = make_sim("obs", streaming=True)
    enc = encoder_row(db, sim, "council-obs")
    db.commit()
    start_manager()
    cid = command(session_factory, enc.id, "record_start")
    assert wait_for(lambda: finished(session_factory, cid), timeout=20).result == "recording"
    assert sim.state.recording
    sim.state.set_faults(disk_full=True)
    alert = wait_for(lambda: open_alert(session_factory, "council-obs", "ENCODER_RECORDING_STOPPED"),
                     timeout=20)
    assert alert.severity == "major" and "disk full" in alert.summary
    cid = command(session_factory, enc.id, "record_stop")  # the operator gives up on it
    wait_for(lambda: finished(session_factory, cid), timeout=20)
    wait_for(lambda: open_alert(session_factory, "council-obs", "ENCODER_RECORDING_STOPPED") is None,
             timeout=20)


def test_a_record_command_to_a_device_without_recording_fails_clearly(db, session_factory, make_sim,
                                                                      start_manager):
    sim = make_sim("blackmagic")
    enc = encoder_row(db, sim, "bmd")
    db.commit()
    start_manager()
    cid = command(session_factory, enc.id, "record_start")
    done = wait_for(lambda: finished(session_factory, cid), timeout=20)
    assert done.status == "failed" and "no local recording" in done.result


def test_the_backup_records_while_it_is_on_air(db, session_factory, make_sim, start_manager):
    primary_sim, backup_sim = make_sim("aja_helo", streaming=True), make_sim("matrox_monarch")
    group = fast_group(db, record_on_backup=True, preference="primary_preferred", failback_hold_s=1.0,
                       min_switch_interval_s=1.0)
    primary = encoder_row(db, primary_sim, "rec-primary", group)
    encoder_row(db, backup_sim, "rec-backup", group, role="backup")
    group.active_encoder_id = primary.id
    db.commit()
    start_manager()
    wait_for(lambda: len(primary_sim.state.requests) > 3)
    assert not backup_sim.state.recording and not primary_sim.state.recording
    primary_sim.state.set_faults(stream_stop=True)
    wait_for(lambda: backup_sim.state.streaming and backup_sim.state.recording, timeout=20)
    primary_sim.state.set_faults(stream_stop=False)  # back, and preferred: fail back
    wait_for(lambda: primary_sim.state.streaming and not backup_sim.state.recording, timeout=25)
    assert not primary_sim.state.recording  # the policy records on backups only


def test_the_on_air_encoder_records_during_a_scheduled_meeting(db, session_factory, make_sim,
                                                                start_manager):
    from castwatch.common.models import Channel, ScheduleItem, ScheduleSource

    sim = make_sim("obs", streaming=True)
    group = fast_group(db, record_during_meetings=True)
    enc = encoder_row(db, sim, "chambers", group)
    group.active_encoder_id = enc.id
    channel = Channel(code="COUNCIL", name="council", encoder_group_id=group.id,
                      input_url="http://127.0.0.1:1/council.m3u8")
    db.add(channel)
    db.flush()
    source = ScheduleSource(name="agenda", kind="ical", url="http://127.0.0.1:1/agenda.ics",
                            channel_id=channel.id)
    db.add(source)
    db.flush()
    now = utcnow()
    db.add(ScheduleItem(source_id=source.id, channel_id=channel.id, external_id="m1",
                        title="Council meeting", kind="live_event", starts_at=now - timedelta(minutes=5),
                        ends_at=now + timedelta(hours=1)))
    db.commit()
    start_manager()
    wait_for(lambda: sim.state.recording, timeout=20)
