"""The CMS API: REST under /api/v1, Socket.IO live updates, OpenAPI, metrics (see docs/api.md)."""

from __future__ import annotations

from typing import Any


def create_app(*args: Any, **kwargs: Any) -> Any:
    """See :func:`castwatch.cms_api.app.create_app` (imported late: it pulls in every blueprint)."""
    from castwatch.cms_api.app import create_app as _create_app

    return _create_app(*args, **kwargs)
