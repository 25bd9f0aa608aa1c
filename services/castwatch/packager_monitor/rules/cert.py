"""TLS certificates of https origins: CERT_EXPIRING at 21/14/7 days (severity grows)."""

from __future__ import annotations

from castwatch.packager_monitor.rules.base import CERT_EXPIRING, Verdict, ok


def cert_verdict(channel: str, host: str, days_left: float | None, error: str | None,
                 warn_days: int = 21) -> Verdict:
    """``days_left`` until notAfter; ``error`` when the chain does not verify."""
    if error is not None:
        return Verdict(CERT_EXPIRING, None, True,
                       f"{channel}: TLS certificate of {host} does not verify: {error}",
                       {"host": host, "error": error}, severity="critical")
    if days_left is None or days_left > warn_days:
        return ok(CERT_EXPIRING, None)
    severity = "critical" if days_left <= 7 else "major" if days_left <= 14 else "minor"
    what = "expired" if days_left < 0 else f"expires in {days_left:.0f} days"
    return Verdict(CERT_EXPIRING, None, True, f"{channel}: TLS certificate of {host} {what}",
                   {"host": host, "days_left": round(days_left, 1)}, severity=severity)


def worst_certificate(channel: str, results: dict[tuple[str, int], tuple[float | None, str | None]],
                      warn_days: int = 21) -> Verdict:
    """One verdict for a channel whose hosts' certificates were checked: ``results`` maps
    ``(host, port)`` to ``(days_left, error)``; a certificate that does not verify is worst,
    else the one that expires first."""

    def badness(item: tuple[tuple[str, int], tuple[float | None, str | None]]) -> tuple[int, float]:
        days, error = item[1]
        return (0 if error else 1, days if days is not None else float("inf"))

    (host, _port), (days, error) = min(results.items(), key=badness)
    return cert_verdict(channel, host, days, error, warn_days)
