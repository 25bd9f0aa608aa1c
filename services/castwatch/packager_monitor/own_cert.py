"""castwatch watches its own certificate: ``CERT_EXPIRING`` for castwatch's public https URL
(``ProbeSettings.own_cert_url``), subject ``castwatch/<host>``, no channel.

The same check as the channels' origins (:func:`~castwatch.packager_monitor.certs.check_certificate`
through the probe's egress policy and ``PROBE_CA_FILE``), the same 21/14/7-day rule
(:func:`~castwatch.packager_monitor.rules.cert.cert_verdict`) and the same alert book (debounce,
clear hold), once per ``PROBE_CERT_INTERVAL_S``. A host that cannot be reached is not a
certificate problem: the alert keeps its state until the next answer.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

from castwatch.packager_monitor.alerting import AlertBook, policies
from castwatch.packager_monitor.certs import check_certificate
from castwatch.packager_monitor.context import ProbeContext
from castwatch.packager_monitor.rules.cert import cert_verdict

logger = logging.getLogger(__name__)


def own_target(url: str) -> tuple[str, int]:
    """``(host, port)`` of an https URL (port 443 unless given)."""
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or 443


async def watch_own_certificate(ctx: ProbeContext, url: str) -> None:
    """Check castwatch's own certificate every ``cert_interval_s`` until cancelled."""
    settings = ctx.settings
    host, port = own_target(url)
    book = AlertBook(f"castwatch/{host}", None, policies(settings.clear_hold_s))
    while True:
        try:
            result = await asyncio.to_thread(check_certificate, host, port, policy=settings.egress,
                                             timeout_s=settings.timeout_s, ca_file=settings.ca_file)
            if result is not None:
                verdict = cert_verdict("castwatch", host, result.days_left, result.error,
                                       settings.cert_warn_days)
                ops = book.observe([verdict], ctx.clock())
                for op in ops:
                    logger.info("%s %s %s: %s", op.kind, op.subject, op.alert_type, op.summary or "cleared")
                if ops:
                    ctx.emit(ops)
        except Exception:  # never let one check stop the next
            logger.exception("checking castwatch's own certificate failed")
        await asyncio.sleep(settings.cert_interval_s)
