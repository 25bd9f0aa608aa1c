"""Routes owned by the web-dashboard issue: the ops console at /."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("web", __name__)
