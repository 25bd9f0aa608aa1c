"""Encoder pools: ``/api/v1/encoder-groups/{id}/pool`` and the group's outputs.

A group's encoders carry its outputs; ``encoder_outputs.assigned_encoder_id`` says which encoder
carries which. The pool view shows that and what the load-balancing assignment
(``encoder_manager.assignment``) would propose from the encoders' newest samples — built by the
same functions as the manager's plan (``assignment.pool_encoder`` / ``pool_output``), so for the
same rows and state the proposal is what the manager does.
"""

from __future__ import annotations

from flask import Blueprint
from sqlalchemy import select

from castwatch.cms_api.context import db
from castwatch.cms_api.crud import check_unique, get_or_404
from castwatch.cms_api.registry import api_route
from castwatch.cms_api.schemas.pools import OutputCreate, OutputOut, OutputUpdate, PoolEncoderOut, PoolOut
from castwatch.common.models import Encoder, EncoderGroup, EncoderOutput
from castwatch.encoder_manager.assignment import (
    PoolEncoder,
    assign,
    is_pool,
    pool_encoder,
    pool_output,
    slot_headroom,
)
from castwatch.encoder_manager.drivers import DriverError, driver_class
from castwatch.encoder_manager.health import Thresholds
from castwatch.encoder_manager.sample import parse_number

bp = Blueprint("pools", __name__)

GROUP = "/api/v1/encoder-groups/<int:group_id>"


def _driver_capabilities(kind: str) -> frozenset[str]:
    try:
        return driver_class(kind).capabilities
    except DriverError:
        return frozenset()


def _pool_encoder(e: Encoder, group: EncoderGroup) -> PoolEncoder:
    """The encoder as the manager's planner sees it (``assignment.pool_encoder``: the driver's
    capabilities plus ``driver_options.capabilities``, ``wired_to`` its ``output.url``), from
    the state the manager stored (usable: enabled, reachable, not failed; hot: at its limit)."""
    sample = e.last_sample or {}
    th = Thresholds.merged(group.thresholds, e.thresholds)
    temp = parse_number(sample.get("temperature_c"))
    return pool_encoder(e.id, usable=bool(e.enabled and e.reachable and e.state != "failed"),
                        hot=temp is not None and temp >= th.temperature_max_c,
                        cpu_percent=parse_number(sample.get("cpu_percent")), temperature_c=temp,
                        temperature_max_c=th.temperature_max_c, cpu_max_percent=th.cpu_max_percent,
                        max_outputs=e.max_outputs, bitrate_budget_kbps=e.bitrate_budget_kbps,
                        driver_capabilities=_driver_capabilities(e.driver_kind),
                        driver_options=e.driver_options or {}, output=e.output or {})


@api_route(bp, f"{GROUP}/pool", response=PoolOut, errors=(404,), tag="encoder-groups")
def get_pool(group_id: int) -> PoolOut:
    """The group's outputs, its encoders with their load, headroom and what they carry, and the
    assignment's proposal. ``is_pool`` is the encoder manager's rule (``assignment.is_pool``)."""
    group = get_or_404(EncoderGroup, group_id, "encoder group")
    session = db()
    outputs = list(session.scalars(select(EncoderOutput).where(EncoderOutput.group_id == group_id)
                                   .order_by(EncoderOutput.id)))
    encoders = list(session.scalars(select(Encoder).where(Encoder.group_id == group_id).order_by(Encoder.id)))
    states = {e.id: _pool_encoder(e, group) for e in encoders}
    plan = assign([pool_output(o.id, o.name, bitrate_kbps=o.bitrate_kbps, priority=o.priority,
                               capabilities=o.required_capabilities or [], destination=o.destination)
                   for o in outputs if o.enabled],
                  list(states.values()), {o.id: o.assigned_encoder_id for o in outputs})

    def shown(e: Encoder) -> PoolEncoderOut:
        mine = [o for o in outputs if o.assigned_encoder_id == e.id]
        kbps = sum(o.bitrate_kbps for o in mine)
        st = states[e.id]
        return PoolEncoderOut(id=e.id, name=e.name, state=e.state, reachable=e.reachable, enabled=e.enabled,
                              max_outputs=e.max_outputs, bitrate_budget_kbps=e.bitrate_budget_kbps,
                              carried=[o.id for o in mine], carried_kbps=kbps, cpu_percent=st.cpu_percent,
                              temperature_c=st.temperature_c, temperature_max_c=st.temperature_max_c,
                              hot=st.hot, usable=st.usable,
                              headroom=slot_headroom(st, len(mine), float(kbps)) if st.usable else 0.0)

    return PoolOut(
        group_id=group_id, is_pool=is_pool(len(outputs), [e.max_outputs for e in encoders]),
        outputs=[OutputOut.model_validate(o) for o in outputs], encoders=[shown(e) for e in encoders],
        proposal={str(k): v for k, v in plan.assignment.items()}, unassigned=plan.unassigned,
        off_air=[o.id for o in outputs if o.enabled and o.assigned_encoder_id is None])


@api_route(bp, f"{GROUP}/outputs", ["POST"], body=OutputCreate, response=OutputOut, status=201,
           scope="write", errors=(404, 409), tag="encoder-groups")
def create_output(group_id: int, body: OutputCreate) -> OutputOut:
    """Add an output to the group's pool (unassigned until the assignment places it)."""
    get_or_404(EncoderGroup, group_id, "encoder group")
    check_unique(EncoderOutput, "name", body.name, "name")
    output = EncoderOutput(group_id=group_id, **body.model_dump())
    session = db()
    session.add(output)
    session.commit()
    return OutputOut.model_validate(output)


@api_route(bp, "/api/v1/encoder-outputs/<int:output_id>", ["PUT"], body=OutputUpdate,
           response=OutputOut, scope="write", errors=(404, 409), tag="encoder-groups")
def update_output(output_id: int, body: OutputUpdate) -> OutputOut:
    """Change an output (rename, destination, priority, bitrate, capabilities, enable/disable);
    the encoder manager re-plans the pool at once (a disabled output is stopped and not alerted)."""
    output = get_or_404(EncoderOutput, output_id, "encoder output")
    values = body.model_dump(exclude_unset=True)
    if "name" in values:
        check_unique(EncoderOutput, "name", values["name"], "name", exclude_id=output_id)
    for column, value in values.items():
        setattr(output, column, value)
    session = db()
    session.commit()
    return OutputOut.model_validate(output)


@api_route(bp, "/api/v1/encoder-outputs/<int:output_id>", ["DELETE"], status=204, scope="write",
           errors=(404,), tag="encoder-groups")
def delete_output(output_id: int) -> None:
    """Remove an output from its pool."""
    session = db()
    session.delete(get_or_404(EncoderOutput, output_id, "encoder output"))
    session.commit()
