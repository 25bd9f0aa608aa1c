"""Routes owned by the encoder-manager issue: /api/v1/encoders/{id}/validate and live encoder views."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("encoder_ops", __name__)
