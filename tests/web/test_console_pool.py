"""The encoders page's pool panel: real Chromium, real API process, real PostgreSQL. The
encoder manager's writes (samples, assignments) are made as it makes them, in the database."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from castwatch.common.models import Encoder, EncoderOutput

from . import seed
from .browser import shoot

pytestmark = pytest.mark.slow


def test_a_pool_shows_load_headroom_what_each_encoder_carries_and_updates_live(
    page: Any, sign_in: Any, rest: Any, session_factory: Any,
) -> None:
    classic = seed.encoders(rest, session_factory)  # primary/backup groups: no pool panel
    group = rest.post("/encoder-groups", {"name": "Studio pool"}, expect=201)
    encs = [rest.post("/encoders", {"name": f"x4-{i}", "driver_kind": "haivision_makito",
                                    "address": f"10.0.1.{i}", "group_id": group["id"]}, expect=201)
            for i in (1, 2, 3)]
    outs = [rest.post(f"/encoder-groups/{group['id']}/outputs",
                      {"name": f"feed-{i}", "bitrate_kbps": 4000, "priority": 4 - i}, expect=201)
            for i in (1, 2, 3, 4)]
    with session_factory() as s, s.begin():
        for enc, (cpu, temp) in zip(encs, [(60, 55), (40, 50), (20, 79)], strict=True):
            s.execute(update(Encoder).where(Encoder.id == enc["id"]).values(
                max_outputs=2, bitrate_budget_kbps=12000, state="live", reachable=True,
                last_sample={"reachable": True, "cpu_percent": cpu, "temperature_c": temp}))
        for out, enc in [(outs[0], encs[0]), (outs[1], encs[0]), (outs[2], encs[1])]:
            s.execute(update(EncoderOutput).where(EncoderOutput.id == out["id"])
                      .values(assigned_encoder_id=enc["id"]))

    sign_in("#/encoders")
    panel = page.locator(f'[data-pool="{group["id"]}"]')
    expect(panel).to_contain_text("Pool: 4 outputs on 3 encoders")
    card = page.locator(f'[data-group-id="{group["id"]}"]')
    expect(card.locator('[data-action="failover"]')).to_have_count(0)  # no primary/backup switch in a pool
    first = panel.locator(f'[data-encoder-id="{encs[0]["id"]}"]')
    expect(first.locator('[data-metric="load"]')).to_contain_text("2/2 outputs · 8/12 Mb/s")
    expect(first.locator('[data-metric="headroom"]')).to_contain_text("0 % headroom")
    expect(first.locator(".pool-output")).to_have_text(["feed-1", "feed-2"])
    hot = panel.locator(f'[data-encoder-id="{encs[2]["id"]}"]')
    expect(hot).to_have_attribute("data-hot", "true")  # 79 °C, limit 75 °C
    expect(hot).to_contain_text("HOT: SHEDDING")
    expect(hot).to_contain_text("carries nothing")
    expect(panel.locator("[data-unassigned]")).to_have_text(["feed-4"])  # off air, highlighted
    for g in classic["groups"]:
        expect(page.locator(f'[data-pool="{g["id"]}"]')).to_have_count(0)
    shoot(page, "encoders-pool")

    # the encoder manager places feed-4 on x4-2: the panel follows without a reload
    with session_factory() as s, s.begin():
        s.execute(update(EncoderOutput).where(EncoderOutput.id == outs[3]["id"])
                  .values(assigned_encoder_id=encs[1]["id"]))
    second = panel.locator(f'[data-encoder-id="{encs[1]["id"]}"]')
    expect(second.locator(".pool-output")).to_have_text(["feed-3", "feed-4"])
    expect(panel.locator("[data-unassigned]")).to_have_count(0)
    # ... and x4-1 dies: its outputs are shown on x4-3 once re-assigned there
    with session_factory() as s, s.begin():
        s.execute(update(Encoder).where(Encoder.id == encs[0]["id"]).values(
            state="unknown", reachable=False, last_sample={"reachable": False, "error": "unreachable"}))
        s.execute(update(Encoder).where(Encoder.id == encs[2]["id"]).values(
            last_sample={"reachable": True, "cpu_percent": 20, "temperature_c": 45}))
        s.execute(update(EncoderOutput).where(EncoderOutput.id.in_([outs[0]["id"], outs[1]["id"]]))
                  .values(assigned_encoder_id=encs[2]["id"]))
    expect(first).to_have_attribute("data-usable", "false")
    expect(first.locator('[data-metric="headroom"]')).to_contain_text("unusable")
    expect(hot.locator(".pool-output")).to_have_text(["feed-1", "feed-2"])
    expect(hot).to_have_attribute("data-hot", "false")
