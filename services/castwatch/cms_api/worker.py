"""The gunicorn worker the API runs in: gthread, plus prompt closing of live clients on stop.

A Socket.IO websocket occupies a worker thread until the client hangs up, and gunicorn's
graceful stop waits up to ``graceful_timeout`` for open connections — so with any console open
an API restart used to take the whole 10 s. On SIGTERM this worker starts the normal graceful
stop *and* disconnects every ``/live`` client (:meth:`castwatch.cms_api.live.LiveHub.close_clients`),
so in-flight REST requests still finish but the stop no longer waits for websockets.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

logger = logging.getLogger(__name__)


class LiveThreadWorker(ThreadWorker):  # type: ignore[misc]
    """``gthread`` that closes the app's live connections when asked to stop."""

    def handle_exit(self, sig: int, frame: Any) -> None:
        stopping = self.alive
        super().handle_exit(sig, frame)
        hub = getattr(getattr(self, "wsgi", None), "extensions", {}).get("castwatch_live")
        if stopping and hub is not None:
            # Not in the signal handler itself: disconnecting takes locks the interrupted
            # thread may hold.
            threading.Thread(target=_close, args=(hub,), name="live-close", daemon=True).start()


def _close(hub: Any) -> None:
    try:
        closed = hub.close_clients()
        logger.info("stopping: closed %d live connection(s)", closed)
    except Exception:
        logger.exception("closing live connections failed")
