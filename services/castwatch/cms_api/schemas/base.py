"""Base classes and field types shared by every API model.

Input models refuse unknown fields, NaN/Infinity, and NUL characters (PostgreSQL cannot store
them in text or JSONB, so they must be refused here rather than fail in the database).
Integers that reach integer columns are bounded to PostgreSQL's ``integer`` range.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
NO_NUL = r"^[^\x00]*$"


class Model(BaseModel):
    """Base of request bodies and query strings."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=False)


class QueryModel(BaseModel):
    """Base of query-string models: unknown parameters are ignored, values are coerced."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)


class OutModel(BaseModel):
    """Base of response models, built from ORM rows with ``model_validate(row)``."""

    model_config = ConfigDict(from_attributes=True)


def text(max_length: int, min_length: int = 1, pattern: str = NO_NUL) -> StringConstraints:
    """The constraints of a bounded string matching ``pattern`` (default: anything without NUL),
    used as ``Annotated[str, text(100)]`` so type checkers see a plain ``str``."""
    return StringConstraints(min_length=min_length, max_length=max_length, pattern=pattern)


def _no_nul_deep(value: Any) -> Any:
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
    elif isinstance(value, dict):
        for key, item in value.items():
            _no_nul_deep(key)
            _no_nul_deep(item)
    elif isinstance(value, list):
        for item in value:
            _no_nul_deep(item)
    return value


def _aware(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


JsonObject = Annotated[dict[str, Any], AfterValidator(_no_nul_deep)]
Id = Annotated[int, Field(ge=1, le=INT32_MAX)]
Int32 = Annotated[int, Field(ge=-INT32_MAX, le=INT32_MAX)]
AwareDatetime = Annotated[datetime, AfterValidator(_aware)]


class Page(QueryModel):
    """Pagination of list endpoints."""

    limit: int = Field(100, ge=1, le=1000, description="page size")
    offset: int = Field(0, ge=0, le=INT32_MAX, description="rows to skip")


class Note(Model):
    """An optional human note for a state change."""

    note: Annotated[str, text(2000)] | None = None
