"""Encoder pools: ``/api/v1/encoder-groups/{id}/pool`` and the group's outputs.

A group's encoders carry its outputs; ``encoder_outputs.assigned_encoder_id`` says which encoder
carries which. The pool view shows that and what the load-balancing assignment
(``encoder_manager.assignment``) would propose from the encoders' newest samples.
"""

from __future__ import annotations

from flask import Blueprint
from sqlalchemy import select

from castwatch.cms_api.context import db
from castwatch.cms_api.crud import check_unique, get_or_404
from castwatch.cms_api.registry import api_route
from castwatch.cms_api.schemas.pools import OutputCreate, OutputOut, PoolEncoderOut, PoolOut
from castwatch.common.models import Encoder, EncoderGroup, EncoderOutput
from castwatch.encoder_manager.assignment import PoolEncoder, PoolOutput, assign
from castwatch.encoder_manager.sample import parse_number

bp = Blueprint("pools", __name__)

GROUP = "/api/v1/encoder-groups/<int:group_id>"


def _pool_encoder(e: Encoder) -> PoolEncoder:
    sample = e.last_sample or {}
    return PoolEncoder(e.id, usable=bool(e.enabled and e.reachable and e.state != "failed"),
                       cpu_percent=parse_number(sample.get("cpu_percent")),
                       temperature_c=parse_number(sample.get("temperature_c")),
                       max_outputs=e.max_outputs, bitrate_budget_kbps=e.bitrate_budget_kbps)


@api_route(bp, f"{GROUP}/pool", response=PoolOut, errors=(404,), tag="encoder-groups")
def get_pool(group_id: int) -> PoolOut:
    """The group's outputs, its encoders with what they carry, and the assignment's proposal."""
    get_or_404(EncoderGroup, group_id, "encoder group")
    session = db()
    outputs = list(session.scalars(select(EncoderOutput).where(EncoderOutput.group_id == group_id)
                                   .order_by(EncoderOutput.id)))
    encoders = list(session.scalars(select(Encoder).where(Encoder.group_id == group_id).order_by(Encoder.id)))
    plan = assign([PoolOutput(o.id, o.name, float(o.bitrate_kbps), o.priority,
                              frozenset(o.required_capabilities or [])) for o in outputs if o.enabled],
                  [_pool_encoder(e) for e in encoders],
                  {o.id: o.assigned_encoder_id for o in outputs})
    return PoolOut(
        group_id=group_id, outputs=[OutputOut.model_validate(o) for o in outputs],
        encoders=[PoolEncoderOut(id=e.id, name=e.name, state=e.state, reachable=e.reachable,
                                 max_outputs=e.max_outputs, bitrate_budget_kbps=e.bitrate_budget_kbps,
                                 carried=[o.id for o in outputs if o.assigned_encoder_id == e.id])
                  for e in encoders],
        proposal={str(k): v for k, v in plan.assignment.items()}, unassigned=plan.unassigned)


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


@api_route(bp, "/api/v1/encoder-outputs/<int:output_id>", ["DELETE"], status=204, scope="write",
           errors=(404,), tag="encoder-groups")
def delete_output(output_id: int) -> None:
    """Remove an output from its pool."""
    session = db()
    session.delete(get_or_404(EncoderOutput, output_id, "encoder output"))
    session.commit()
