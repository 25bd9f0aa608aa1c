"""The egress policy tests run under: the public internet plus this machine's loopback (every
simulator, hostile origin and stand-in listens on 127.0.0.1), as ``EGRESS_ALLOW`` would set it."""

from __future__ import annotations

from castwatch.common.egress import EgressPolicy

LOOPBACK_ALLOW = "127.0.0.1/32,::1/128"
LOOPBACK = EgressPolicy.parse(LOOPBACK_ALLOW)
