"""Runs the real CMS API (``create_app`` under its Socket.IO server) for the browser tests.

Usage: ``python tests/web/serve_api.py PORT`` with ``DATABASE_URL`` in the environment. The
process serves until it is terminated; the tests stop and start it to exercise the console's
live-connection banner. Werkzeug's server (threaded, WebSocket through simple-websocket) is
enough here; production runs the same app under gunicorn (``castwatch api``).
"""

from __future__ import annotations

import logging
import os
import sys

from castwatch.cms_api.app import create_app
from castwatch.common.config import Settings


def main(port: int) -> None:
    logging.basicConfig(level=logging.WARNING, format="api %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env(dict(os.environ))
    app = create_app(settings)
    socketio = app.extensions["socketio"]
    socketio.run(app, host="127.0.0.1", port=port, use_reloader=False, log_output=False,
                 allow_unsafe_werkzeug=True)


if __name__ == "__main__":
    main(int(sys.argv[1]))
