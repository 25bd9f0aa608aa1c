"""Operator commands (``encoder_commands`` rows written by ``POST /encoders/{id}/control``).

The replica that controls an encoder's group claims its pending commands (``SKIP LOCKED``),
carries them out and records the outcome (``done``/``failed`` + ``result``). Audit trail:
a failover or failback is a ``failover_events`` row with the requester as actor; start, stop
and restart add a note event to the encoder's open alerts (and the command row itself keeps
who asked, when, and what happened).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from castwatch.encoder_manager import store
from castwatch.encoder_manager.drivers import DriverError
from castwatch.encoder_manager.leadership import UNGROUPED

if TYPE_CHECKING:
    from castwatch.encoder_manager.manager import EncoderManager
    from castwatch.encoder_manager.worker import EncoderWorker

logger = logging.getLogger(__name__)


class CommandError(Exception):
    """A command that cannot be carried out as asked."""


class CommandRunner:
    def __init__(self, manager: EncoderManager) -> None:
        self._m = manager
        self._running: set[asyncio.Task[None]] = set()

    @property
    def tasks(self) -> list[asyncio.Task[None]]:
        return list(self._running)

    async def run_once(self) -> float:
        m = self._m
        if not m.held:
            return m.cfg.command_poll_s
        groups = m.held - {UNGROUPED}
        commands = await m.db(store.claim_commands, groups, UNGROUPED in m.held)
        for command in commands:
            task = asyncio.get_running_loop().create_task(self.execute(command))
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        return m.cfg.command_poll_s

    async def execute(self, command: store.CommandRow) -> None:
        m = self._m
        worker = m.workers.get(command.encoder_id)
        logger.warning("command id=%s %s encoder=%s by %s", command.id, command.action,
                       worker.row.name if worker else command.encoder_id, command.requested_by)
        try:
            if worker is None or worker.driver is None:
                raise CommandError("encoder is disabled or its driver is not usable")
            if command.action in ("failover", "failback"):
                result = await self._switch(command)
            else:
                result = await self._device(command)
                await m.db(store.audit_on_open_alerts, command.encoder_id, command.requested_by,
                           f"{command.action} by {command.requested_by}: {result}")
            status = "done"
        except (CommandError, DriverError) as exc:
            status, result = "failed", str(exc) or type(exc).__name__
        except Exception as exc:  # the command must be closed whatever happened
            logger.exception("command id=%s failed unexpectedly", command.id)
            status, result = "failed", f"internal error: {type(exc).__name__}"
        await m.db(store.finish_command, command.id, status, result)
        m.metrics.commands.labels(command.action, status).inc()
        if worker is not None:
            worker.wake()

    async def _device(self, command: store.CommandRow) -> str:
        worker = self._m.workers[command.encoder_id]
        assert worker.driver is not None
        if command.action in ("record_start", "record_stop"):
            return await self._record(worker, command.action == "record_start")
        if command.action in ("stop", "restart"):
            await worker.driver.stop_output()
        if command.action in ("start", "restart"):
            ctrl = self._m.controllers.get(command.group_id) if command.group_id is not None else None
            if ctrl is not None:
                ctrl.release(command.encoder_id)  # an operator's start overrides parking
            await worker.driver.start_output()
        return {"start": "started", "stop": "stopped", "restart": "restarted"}.get(command.action,
                                                                                 command.action)

    @staticmethod
    async def _record(worker: EncoderWorker, start: bool) -> str:
        """Start/stop local recording; a started recording is then expected to keep running
        (``ENCODER_RECORDING_STOPPED`` when it stops), a stopped one no longer."""
        assert worker.driver is not None
        if "record" not in worker.driver.capabilities:
            raise CommandError(f"{worker.row.driver_kind} encoders have no local recording")
        if start:
            await worker.driver.start_recording()
            worker.record_expected = True
            return "recording"
        worker.record_expected = worker.record_by_policy = False
        await worker.driver.stop_recording()
        return "recording stopped"

    async def _switch(self, command: store.CommandRow) -> str:
        m = self._m
        ctrl = m.controllers.get(command.group_id) if command.group_id is not None else None
        if ctrl is None:
            raise CommandError("encoder is not in a failover group")
        if command.group_id in m.pools:
            raise CommandError("the group is a pool: its outputs are assigned by the encoder manager, "
                               "there is no primary/backup to switch")
        if command.action == "failback":
            target: int | None = min(ctrl.members, key=lambda x: x.rank).encoder_id
            kind = "failback"
        else:
            target = None if command.encoder_id == ctrl.state.active_id else command.encoder_id
            kind = "manual"
        await ctrl.wait_idle()
        before = ctrl.state.active_id
        if target == before:
            return "already active"
        if not ctrl.manual(target, kind=kind, actor=command.requested_by,
                           reason=f"{command.action} requested by {command.requested_by}"):
            raise CommandError("a failover is already in progress")
        deadline = m.clock() + ctrl.policy.verify_timeout_s * max(1, len(ctrl.members)) + 5
        while (ctrl.busy or ctrl.state.phase != "steady") and m.clock() < deadline:
            await asyncio.sleep(0.05)
        after = ctrl.state.active_id
        if after == before:
            raise CommandError("switch did not complete: no standby went live")
        name = ctrl.workers[after].row.name if after in ctrl.workers else after
        return f"active encoder is now {name}"
