"""Transports by kind. Adding one: a module, a line in :data:`REGISTRY`, settings, a test."""

from __future__ import annotations

from collections.abc import Callable

from castwatch.notifier.settings import NotifySettings
from castwatch.notifier.transports.base import (
    Button,
    OutgoingMessage,
    SendResult,
    Transport,
    TransportError,
    TransportNotConfigured,
)
from castwatch.notifier.transports.email import EmailTransport
from castwatch.notifier.transports.telegram import TelegramTransport

#: kind → (is it configured?, constructor from the notifier settings)
REGISTRY: dict[str, tuple[Callable[[NotifySettings], bool], Callable[[NotifySettings], Transport]]] = {
    "telegram": (lambda s: s.telegram.configured, lambda s: TelegramTransport(s.telegram)),
    "email": (lambda s: s.smtp.configured, lambda s: EmailTransport(s.smtp)),
}


def build_transports(settings: NotifySettings) -> dict[str, Transport]:
    """The configured transports; an unconfigured one is absent (its rows fail clearly)."""
    return {kind: make(settings) for kind, (configured, make) in REGISTRY.items() if configured(settings)}


__all__ = ["REGISTRY", "Button", "EmailTransport", "OutgoingMessage", "SendResult", "TelegramTransport",
           "Transport", "TransportError", "TransportNotConfigured", "build_transports"]
