"""How schedule importers download: through the egress policy, capped, with one deadline.

The importers' ``fetch`` functions take a :class:`ScheduleHttp` and keep parsing separate
(``parse_ical``, ``parse_scheduleitems``, ``parse_meetings`` never touch the network). Errors
are :class:`~castwatch.schedules.items.ScheduleError` with a short, safe message — the
importer's name, then the status, content type and sizes; never the remote body (it ends up in
``schedule_sources.last_error``, which the API shows).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from castwatch.common.download import DownloadError, fetch_sync
from castwatch.common.egress import EgressDenied, EgressPolicy
from castwatch.schedules.items import ScheduleError
from castwatch.schedules.settings import ScheduleSettings

#: Default decoded-byte cap of one schedule download (an agenda PDF can be large).
DEFAULT_MAX_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class ScheduleHttp:
    """The schedule importers' HTTP client settings (built from ``ScheduleSettings``)."""

    policy: EgressPolicy = EgressPolicy()
    #: decoded-byte cap of one download (SCHEDULE_MAX_BYTES)
    max_bytes: int = DEFAULT_MAX_BYTES
    #: deadline of one whole download, redirects included (SCHEDULE_FETCH_TIMEOUT_S)
    deadline_s: float = 30.0

    @classmethod
    def from_settings(cls, settings: ScheduleSettings) -> ScheduleHttp:
        return cls(settings.egress, settings.schedule_max_bytes, settings.schedule_fetch_timeout_s)

    def get(self, what: str, url: str, *, params: Mapping[str, Any] | None = None,
            headers: Mapping[str, str] | None = None) -> tuple[bytes, str]:
        """``(body, content_type)`` of a 2xx answer; :class:`ScheduleError` naming ``what``
        (``ical``, ``pdf``…) otherwise."""
        try:
            got = fetch_sync(url, policy=self.policy, max_bytes=self.max_bytes,
                             deadline_s=self.deadline_s, params=params, headers=headers)
        except (DownloadError, EgressDenied) as exc:
            raise ScheduleError(f"{what}: {exc}") from None
        if got.body is None:
            raise ScheduleError(f"{what}: HTTP {got.status} ({got.content_type})")
        return got.body, got.content_type
