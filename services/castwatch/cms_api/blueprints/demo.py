"""The demo inbox (``castwatch up --demo`` only): what castwatch sent to the demo's stand-ins.

- ``GET /api/v1/demo/inbox`` lists the Telegram messages the Bot API stand-in received (each
  with its latest edit and its inline buttons) and the emails the SMTP sink received.
- ``POST /api/v1/demo/inbox/press`` presses one of a message's buttons: the stand-in queues a
  callback query with that message's exact ``callback_data`` (HMAC-signed by the notifier; the
  stand-in refuses data that is not one of the message's own buttons), from the chat's own user.
  The running notifier then takes it through ``getUpdates`` like a press in Telegram, so an
  Acknowledge acknowledges the alert everywhere.

Both answer 404 unless the demo named the stand-ins (``DEMO_TELEGRAM_STANDIN_URL``,
``DEMO_SMTP_SINK_URL``; loopback URLs only, see :mod:`castwatch.cms_api.settings`). Calls to
the stand-ins are bounded (3 s, 2 MiB, no redirects); their bodies are parsed, never echoed.
"""

from __future__ import annotations

import html
import http.client
import json
import re
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint
from pydantic import Field

from castwatch.cms_api.context import api_context
from castwatch.cms_api.errors import ApiError
from castwatch.cms_api.registry import api_route
from castwatch.cms_api.schemas.base import Model

bp = Blueprint("demo", __name__)

TIMEOUT_S = 3.0
MAX_BYTES = 2 * 1024 * 1024
TAG = re.compile(r"<[^>]*>")


class PressRequest(Model):
    chat_id: int = Field(description="the message's chat")
    message_id: int = Field(description="the message")
    data: str = Field(min_length=1, max_length=64,
                      description="the button's callback_data exactly as the inbox listed it")


def _call(base: str, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """One bounded request to a loopback stand-in; (status, parsed JSON). Raises ApiError 502."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=TIMEOUT_S)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        conn.request(method, parts.path.rstrip("/") + path, body=payload,
                     headers={"Content-Type": "application/json"} if payload else {})
        resp = conn.getresponse()
        raw = resp.read(MAX_BYTES + 1)
        if len(raw) > MAX_BYTES:
            raise ValueError("answer too large")
        return resp.status, json.loads(raw or b"null")
    except (OSError, ValueError, http.client.HTTPException) as exc:
        raise ApiError(502, "standin_unavailable",
                       f"the demo stand-in did not answer usably ({type(exc).__name__})") from None
    finally:
        conn.close()


def _settings() -> tuple[str | None, str | None]:
    api = api_context().settings.api
    if not api.demo_inbox:
        raise ApiError(404, "not_found", "the demo inbox is enabled only by castwatch up --demo")
    return api.demo_telegram_url, api.demo_smtp_url


def _plain(text: str) -> str:
    """Telegram HTML as plain text (the console shows text, never markup)."""
    return html.unescape(TAG.sub("", text))


def _buttons(markup: Any) -> list[dict[str, str]]:
    """The inline keyboard's callback buttons: label and the exact ``callback_data``."""
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    return [{"text": str(b.get("text", "")), "data": str(b["callback_data"])}
            for row in rows or [] if isinstance(row, list)
            for b in row if isinstance(b, dict) and "callback_data" in b]


def _telegram(base: str) -> list[dict[str, Any]]:
    status, body = _call(base, "GET", "/_standin/messages")
    if status != 200 or not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        raise ApiError(502, "standin_unavailable", f"the Telegram stand-in answered HTTP {status}")
    return [{"chat_id": int(m["chat_id"]), "message_id": int(m["message_id"]), "at": float(m["at"]),
             "text": _plain(str(m.get("text") or "")), "edited": bool(m.get("edited")),
             "reply_to": m.get("reply_to"), "buttons": _buttons(m.get("reply_markup"))}
            for m in body["messages"] if isinstance(m, dict)]


def _emails(base: str) -> list[dict[str, Any]]:
    status, body = _call(base, "GET", "/messages")
    if status != 200 or not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        raise ApiError(502, "standin_unavailable", f"the SMTP sink answered HTTP {status}")
    return [{"number": int(m["number"]), "mail_from": str(m["mail_from"]),
             "rcpt_to": [str(r) for r in m.get("rcpt_to") or []], "subject": str(m.get("subject") or ""),
             "text": str(m.get("text") or "")[:20_000]}
            for m in body["messages"] if isinstance(m, dict)]


@api_route(bp, "/api/v1/demo/inbox", response=dict[str, Any], errors=(404, 502), tag="demo")
def inbox() -> dict[str, Any]:
    """The Telegram messages and emails castwatch sent to the demo's stand-ins, newest first.

    ``telegram``/``email`` are null when that stand-in is not configured. Each message's
    ``buttons`` carry the exact ``data`` to press with ``POST /api/v1/demo/inbox/press``.
    """
    telegram, smtp = _settings()
    return {"telegram": _telegram(telegram) if telegram else None,
            "email": _emails(smtp) if smtp else None}


@api_route(bp, "/api/v1/demo/inbox/press", ["POST"], body=PressRequest, response=dict[str, Any],
           scope="write", status=202, errors=(404, 502), tag="demo")
def press(body: PressRequest) -> tuple[dict[str, Any], int]:
    """Press a button of a demo Telegram message, as that chat's user; the notifier handles it
    (acknowledge, resolve, snooze) as it handles a press in Telegram."""
    telegram, _smtp = _settings()
    if not telegram:
        raise ApiError(404, "not_found", "the demo runs no Telegram stand-in")
    status, answer = _call(telegram, "POST", "/_standin/press",
                           {"chat_id": body.chat_id, "message_id": body.message_id, "data": body.data})
    if status == 404:
        raise ApiError(404, "not_found", "that message has no such button", field="data")
    if status != 200 or not isinstance(answer, dict) or "update_id" not in answer:
        raise ApiError(502, "standin_unavailable", f"the Telegram stand-in answered HTTP {status}")
    return {"pressed": True, "update_id": int(answer["update_id"])}, 202
