"""Validation of an encoder's stream output configuration (owned by the encoder-manager issue)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One problem with one field of the output configuration (``field`` is a dotted path)."""

    field: str
    message: str


def validate_output(output: dict[str, Any]) -> list[FieldError]:
    """Problems with an encoder ``output`` dict; empty when it is valid."""
    return []
