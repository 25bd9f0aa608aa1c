"""Encoder pools: a group's outputs and which encoder carries each."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, model_validator

from castwatch.cms_api.schemas.base import Int32, JsonObject, Model, OutModel, text


class OutputCreate(Model):
    """An output of the group: where it goes, in what format, and what it needs of an encoder."""

    name: Annotated[str, text(100)]
    destination: Annotated[str, text(2000, 0)] = Field(
        "", description="where the output goes (no secrets: stream keys stay in the encoder's output)")
    format: JsonObject = Field(default_factory=dict)
    required_capabilities: list[Annotated[str, text(40)]] = Field(default_factory=list, max_length=20)
    bitrate_kbps: int = Field(0, ge=0, le=1_000_000)
    priority: Int32 = 0
    enabled: bool = True


class OutputUpdate(Model):
    """Fields of an output to change; omitted fields keep their value. A rename is a new identity
    on the device: the encoder manager stops the stream under the old name."""

    name: Annotated[str, text(100)] | None = None
    destination: Annotated[str, text(2000, 0)] | None = None
    format: JsonObject | None = None
    required_capabilities: list[Annotated[str, text(40)]] | None = Field(None, max_length=20)
    bitrate_kbps: int | None = Field(None, ge=0, le=1_000_000)
    priority: Int32 | None = None
    enabled: bool | None = None

    @model_validator(mode="after")
    def _not_null(self) -> OutputUpdate:
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class OutputOut(OutModel):
    id: int
    name: str
    group_id: int
    destination: str
    format: dict[str, Any]
    required_capabilities: list[str]
    bitrate_kbps: int
    priority: int
    enabled: bool
    assigned_encoder_id: int | None
    created_at: datetime
    updated_at: datetime


class PoolEncoderOut(OutModel):
    id: int
    name: str
    state: str
    reachable: bool | None
    enabled: bool = True
    max_outputs: int
    bitrate_budget_kbps: int | None
    carried: list[int] = Field(description="ids of the outputs assigned to it")
    carried_kbps: int = Field(0, description="the bitrate of the outputs assigned to it")
    cpu_percent: float | None = None
    temperature_c: float | None = None
    temperature_max_c: float = 75.0
    hot: bool = Field(False, description="at its temperature limit (the pool sheds its least important "
                                         "outputs)")
    usable: bool = Field(True, description="enabled, reachable, stream not failed")
    headroom: float = Field(0.0, description="0..1: the smallest of CPU, temperature, output slots and "
                                             "bitrate budget left, as the assignment scores it")


class PoolOut(OutModel):
    group_id: int
    is_pool: bool = Field(False, description="the encoder manager assigns its outputs across its encoders "
                                             "(more than one output, or an encoder with max_outputs > 1); "
                                             "otherwise it is a classic primary/backup group")
    outputs: list[OutputOut]
    encoders: list[PoolEncoderOut]
    proposal: dict[str, int | None] = Field(
        description="what the load-balancing assignment would do now (output id → encoder id)")
    unassigned: list[int] = Field(description="enabled outputs the proposal places nowhere")
    off_air: list[int] = Field(default_factory=list,
                               description="enabled outputs assigned to no encoder now (not carried)")
