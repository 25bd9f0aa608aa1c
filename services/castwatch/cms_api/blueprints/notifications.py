"""Routes owned by the notifier issue.

/api/v1/notifications/test, /api/v1/deliveries, /api/v1/alertmanager/webhook.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("notifications", __name__)
