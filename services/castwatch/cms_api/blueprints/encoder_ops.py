"""Routes owned by the encoder-manager issue: ``POST /api/v1/encoders/{id}/validate``.

The check is :func:`castwatch.encoder_manager.validator.validate_output`, the same one the API
runs on create and update, so "validate" answers exactly what a save would refuse.
"""

from __future__ import annotations

from flask import Blueprint
from pydantic import BaseModel

from castwatch.cms_api.crud import get_or_404
from castwatch.cms_api.registry import api_route
from castwatch.cms_api.schemas.base import JsonObject, Model
from castwatch.common.models import Encoder
from castwatch.common.sealing import is_sealed
from castwatch.encoder_manager.validator import validate_output

bp = Blueprint("encoder_ops", __name__)


class ValidateRequest(Model):
    """Optionally, an ``output`` to check instead of the stored one (before saving it)."""

    output: JsonObject | None = None


class OutputProblem(BaseModel):
    field: str
    message: str


class ValidateResult(BaseModel):
    encoder_id: int
    valid: bool
    errors: list[OutputProblem]


@api_route(bp, "/api/v1/encoders/<int:encoder_id>/validate", ["POST"], body=ValidateRequest,
           body_required=False, response=ValidateResult, scope="read", errors=(404,), tag="encoders")
def validate_encoder_output(encoder_id: int, body: ValidateRequest) -> ValidateResult:
    """Check an encoder's stream output configuration.

    Resolution/frame-rate combinations, bitrate sane for resolution, frame rate and codec,
    RTMP/SRT URL and stream-key format. Answers 200 with ``valid`` and one entry per problem
    (``field`` is ``output.<name>``); the stored configuration is used unless ``output`` is given.
    """
    encoder = get_or_404(Encoder, encoder_id, "encoder")
    output = body.output if body.output is not None else dict(encoder.output or {})
    if is_sealed(output.get("stream_key")):
        output["stream_key"] = "sealed"  # was valid when stored; its clear value stays unread
    problems = [OutputProblem(field=f"output.{p.field}" if p.field else "output", message=p.message)
                for p in validate_output(output)]
    return ValidateResult(encoder_id=encoder.id, valid=not problems, errors=problems)
