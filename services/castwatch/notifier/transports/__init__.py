"""Transports by kind. Adding one: a module with a :class:`Transport` subclass, one line in
:data:`REGISTRY`, and a test file — no schema change, no other module (see docs/notifier.md).

Registry order is the order of preference where a choice is made (an admin notice goes over
the first transport the admin has a usable address for).
"""

from __future__ import annotations

from castwatch.notifier.settings import NotifySettings
from castwatch.notifier.transports.base import (
    Button,
    OutgoingMessage,
    RenderRequest,
    SendResult,
    Transport,
    TransportError,
    TransportNotConfigured,
)
from castwatch.notifier.transports.email import EmailTransport
from castwatch.notifier.transports.slack import SlackTransport
from castwatch.notifier.transports.telegram import TelegramTransport
from castwatch.notifier.transports.webhook import WebhookTransport

#: kind → transport class
REGISTRY: dict[str, type[Transport]] = {
    "telegram": TelegramTransport,
    "email": EmailTransport,
    "slack": SlackTransport,
    "webhook": WebhookTransport,
}


def transport_class(kind: str) -> type[Transport] | None:
    return REGISTRY.get(kind)


def fallbacks() -> dict[str, str]:
    """kind → the transport that takes over when its address is unusable or keeps failing."""
    return {kind: cls.fallback for kind, cls in REGISTRY.items() if cls.fallback}


def build_transports(settings: NotifySettings) -> dict[str, Transport]:
    """The configured transports; an unconfigured one is absent (its rows fail clearly)."""
    return {kind: cls.from_settings(settings) for kind, cls in REGISTRY.items()
            if cls.configured(settings)}


__all__ = ["REGISTRY", "Button", "EmailTransport", "OutgoingMessage", "RenderRequest", "SendResult",
           "SlackTransport", "TelegramTransport", "Transport", "TransportError", "TransportNotConfigured",
           "WebhookTransport", "build_transports", "fallbacks", "transport_class"]
