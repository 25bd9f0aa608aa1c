"""A local Telegram Bot API stand-in for tests, benchmarks and demos (loopback HTTP).

Serves ``/bot<token>/<method>`` for getMe, sendMessage, editMessageText, answerCallbackQuery,
getUpdates (long poll, with injected callback queries), deleteWebhook and close. Accepts
form-encoded and JSON bodies. Faults can be injected per chat: an unavailable API (502),
flood control (429 with ``retry_after``), migrated group chats (400 with
``migrate_to_chat_id``), blocked bots (403) and unknown chats (400 "chat not found"). Every
call is recorded. Outside the Bot API paths, ``GET /_standin/messages`` lists the messages sent
(with their latest edit) and ``POST /_standin/press`` presses one of a message's own buttons,
for the console's demo inbox (loopback only, like the stand-in itself). ``hold()`` parks
incoming requests unprocessed (a request whose client has gone when released is dropped, as if
it never reached Telegram), so tests can stop a client at a known point.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

JSON_PARAMS = {"reply_markup", "allowed_updates", "entities", "link_preview_options",
               "reply_parameters"}


@dataclass
class Call:
    at: float
    method: str
    params: dict[str, Any]
    transport: str  # "json" or "form"


@dataclass
class Faults:
    flood: dict[int, tuple[int, int]] = field(default_factory=dict)  # chat → (times, retry_after)
    migrated: dict[int, int] = field(default_factory=dict)            # old chat → new chat
    blocked: set[int] = field(default_factory=set)
    unknown: set[int] = field(default_factory=set)
    down: set[int] = field(default_factory=set)  # 502 Bad Gateway for these chats
    #: chat → (times, seconds): stall that many sendMessage calls; a caller that gave up (timed
    #: out) by then is dropped unprocessed, like a request lost on the way
    slow: dict[int, tuple[int, float]] = field(default_factory=dict)


class BotApiStandIn:
    """Start with :meth:`start`; ``base_url`` is what ``TELEGRAM_API_BASE_URL`` should be."""

    def __init__(self, token: str = "123:TEST", max_long_poll_s: float = 1.0) -> None:
        self.token = token
        self.max_long_poll_s = max_long_poll_s
        self.faults = Faults()
        self.calls: list[Call] = []
        self.sent: list[dict[str, Any]] = []
        self.edits: list[dict[str, Any]] = []
        self.answers: list[dict[str, Any]] = []
        self._updates: list[dict[str, Any]] = []
        self._next_update = 1
        self._next_message = 1
        self._cond = threading.Condition()
        self._released = threading.Event()
        self._released.set()
        self._gate = threading.Lock()
        self.active = 0  # requests past the hold gate and not yet answered
        self._server: ThreadingHTTPServer | None = None

    # -- control -------------------------------------------------------------------------
    def start(self, host: str = "127.0.0.1", port: int = 0) -> BotApiStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server naming)
                standin._handle(self)

            do_GET = do_POST  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:  # silence
                return

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="botapi-standin", daemon=True).start()
        return self

    def stop(self) -> None:
        self.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host = str(self._server.server_address[0])
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        return f"http://{shown}:{self._server.server_address[1]}/bot"

    def hold(self) -> None:
        """Park new requests; ``active`` then drains to 0 as requests in progress finish."""
        with self._gate:
            self._released.clear()

    def release(self) -> None:
        self._released.set()

    def press(self, user_id: int, chat_id: int, message_id: int, data: str) -> int:
        """Queue a callback query (a button press); returns its update id."""
        with self._cond:
            update_id = self._next_update
            self._next_update += 1
            self._updates.append({"update_id": update_id, "callback_query": {
                "id": f"q{update_id}", "chat_instance": "1", "data": data,
                "from": {"id": user_id, "is_bot": False, "first_name": f"user{user_id}"},
                "message": {"message_id": message_id, "date": int(time.time()),
                            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
                            "text": "…"},
            }})
            self._cond.notify_all()
        return update_id

    def messages_to(self, chat_id: int) -> list[dict[str, Any]]:
        with self._cond:
            return [m for m in self.sent if m["chat_id"] == chat_id]

    def max_rate(self, chat_id: int | None = None, window_s: float = 1.0) -> int:
        """Most sendMessage calls accepted within any ``window_s`` (per chat or overall)."""
        with self._cond:
            times = sorted(m["at"] for m in self.sent if chat_id is None or m["chat_id"] == chat_id)
        best, lo = 0, 0
        for hi, t in enumerate(times):
            while t - times[lo] >= window_s:
                lo += 1
            best = max(best, hi - lo + 1)
        return best

    # -- protocol ------------------------------------------------------------------------
    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        params, kind = _read_params(req)  # read first, so a parked client's hang-up is visible
        while True:
            with self._gate:
                if self._released.is_set():
                    self.active += 1
                    break
            self._released.wait()
            if _client_gone(req.connection):
                return
        try:
            self._serve(req, params, kind)
        finally:
            with self._gate:
                self.active -= 1

    def inbox(self, limit: int = 100) -> list[dict[str, Any]]:
        """The last ``limit`` messages sent, newest first, each with its latest edit applied
        (text and buttons) and ``edited`` set when there was one."""
        with self._cond:
            latest = {(e["chat_id"], e["message_id"]): e for e in self.edits}
            out = []
            for m in reversed(self.sent[-limit:]):
                edit = latest.get((m["chat_id"], m["message_id"]))
                item = {k: m[k] for k in ("at", "chat_id", "message_id", "text", "parse_mode",
                                          "reply_markup", "reply_to")}
                if edit is not None:
                    item.update(text=edit["text"], reply_markup=edit["reply_markup"])
                item["edited"] = edit is not None
                out.append(item)
            return out

    def press_button(self, chat_id: int, message_id: int, data: str) -> int | None:
        """Press the button of message ``message_id`` whose callback data is exactly ``data``,
        as the chat's own user (private chats: user id = chat id). None when that message has
        no such button (no update is queued)."""
        for m in self.inbox(limit=len(self.sent)):
            if m["chat_id"] == chat_id and m["message_id"] == message_id:
                if data in callback_data(m["reply_markup"]):
                    return self.press(chat_id, chat_id, message_id, data)
                return None
        return None

    def _serve_standin(self, req: BaseHTTPRequestHandler, params: dict[str, Any]) -> None:
        path = req.path.split("?")[0]
        if path == "/_standin/messages" and req.command == "GET":
            self._reply(req, 200, {"messages": self.inbox()})
            return
        if path == "/_standin/press" and req.command == "POST":
            try:
                chat, message, data = int(params["chat_id"]), int(params["message_id"]), str(params["data"])
            except (KeyError, TypeError, ValueError):
                self._reply(req, 400, {"ok": False,
                                       "description": "chat_id, message_id and data are required"})
                return
            update = self.press_button(chat, message, data)
            if update is None:
                self._reply(req, 404, {"ok": False, "description": "no such message or button"})
                return
            self._reply(req, 200, {"ok": True, "update_id": update})
            return
        self._reply(req, 404, {"ok": False, "description": "Not Found"})

    def _serve(self, req: BaseHTTPRequestHandler, params: dict[str, Any], kind: str) -> None:
        if req.path.startswith("/_standin/"):
            self._serve_standin(req, params)
            return
        prefix = f"/bot{self.token}/"
        if not req.path.startswith(prefix):
            self._reply(req, 401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
            return
        method = req.path[len(prefix):].split("?")[0]
        with self._cond:
            self.calls.append(Call(time.time(), method, params, kind))
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            self._reply(req, 404, {"ok": False, "error_code": 404, "description": "Not Found: method"})
            return
        if method == "sendMessage" and "chat_id" in params and self._stall(req, int(params["chat_id"])):
            return
        status, body = handler(params)
        self._reply(req, status, body)

    @staticmethod
    def _reply(req: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        try:
            req.send_response(status)
            req.send_header("Content-Type", "application/json")
            req.send_header("Content-Length", str(len(data)))
            req.end_headers()
            req.wfile.write(data)
        except OSError:
            return

    def _m_getMe(self, _p: dict[str, Any]) -> tuple[int, dict[str, Any]]:  # noqa: N802
        return 200, {"ok": True, "result": {"id": 4242, "is_bot": True, "first_name": "castwatch",
                                            "username": "castwatch_test_bot", "can_join_groups": True,
                                            "can_read_all_group_messages": False,
                                            "supports_inline_queries": False}}

    def _m_deleteWebhook(self, _p: dict[str, Any]) -> tuple[int, dict[str, Any]]:  # noqa: N802
        return 200, {"ok": True, "result": True}

    _m_close = _m_deleteWebhook

    def _fault(self, chat: int) -> tuple[int, dict[str, Any]] | None:
        f = self.faults
        if chat in f.down:
            return 502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}
        if chat in f.blocked:
            return 403, {"ok": False, "error_code": 403,
                         "description": "Forbidden: bot was blocked by the user"}
        if chat in f.unknown:
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
        if chat in f.migrated:
            return 400, {"ok": False, "error_code": 400,
                         "description": "Bad Request: group chat was upgraded to a supergroup chat",
                         "parameters": {"migrate_to_chat_id": f.migrated[chat]}}
        times, retry_after = f.flood.get(chat, (0, 0))
        if times > 0:
            f.flood[chat] = (times - 1, retry_after)
            return 429, {"ok": False, "error_code": 429,
                         "description": f"Too Many Requests: retry after {retry_after}",
                         "parameters": {"retry_after": retry_after}}
        return None

    def _stall(self, req: BaseHTTPRequestHandler, chat: int) -> bool:
        """Apply a ``slow`` fault; True when the caller hung up meanwhile."""
        with self._cond:
            times, seconds = self.faults.slow.get(chat, (0, 0.0))
            if times <= 0:
                return False
            self.faults.slow[chat] = (times - 1, seconds)
        time.sleep(seconds)
        return _client_gone(req.connection)

    def _m_sendMessage(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:  # noqa: N802
        chat = int(p["chat_id"])
        with self._cond:
            fault = self._fault(chat)
            if fault is not None:
                return fault
            message_id = self._next_message
            self._next_message += 1
            self.sent.append({"at": time.time(), "chat_id": chat, "message_id": message_id,
                              "text": p.get("text", ""), "parse_mode": p.get("parse_mode"),
                              "reply_markup": p.get("reply_markup"),
                              "reply_to": (p.get("reply_parameters") or {}).get("message_id")})
        return 200, {"ok": True, "result": _message(chat, message_id, p.get("text", ""))}

    def _m_editMessageText(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:  # noqa: N802
        chat, message_id = int(p["chat_id"]), int(p["message_id"])
        with self._cond:
            self.edits.append({"at": time.time(), "chat_id": chat, "message_id": message_id,
                               "text": p.get("text", ""), "reply_markup": p.get("reply_markup")})
        return 200, {"ok": True, "result": _message(chat, message_id, p.get("text", ""))}

    def _m_answerCallbackQuery(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:  # noqa: N802
        with self._cond:
            self.answers.append(dict(p))
        return 200, {"ok": True, "result": True}

    def _m_getUpdates(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:  # noqa: N802
        offset = int(p.get("offset") or 0)
        wait = min(float(p.get("timeout") or 0), self.max_long_poll_s)
        deadline = time.monotonic() + wait
        with self._cond:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and time.monotonic() < deadline:
                self._cond.wait(deadline - time.monotonic())
            return 200, {"ok": True, "result": list(self._updates)}


def callback_data(markup: Any) -> list[str]:
    """Every ``callback_data`` of an inline keyboard (``reply_markup``), in order."""
    if not isinstance(markup, dict):
        return []
    rows = markup.get("inline_keyboard") or []
    return [str(b["callback_data"]) for row in rows if isinstance(row, list)
            for b in row if isinstance(b, dict) and "callback_data" in b]


def _message(chat: int, message_id: int, text: str) -> dict[str, Any]:
    return {"message_id": message_id, "date": int(time.time()),
            "chat": {"id": chat, "type": "private" if chat > 0 else "supergroup"}, "text": text}


def _read_params(req: BaseHTTPRequestHandler) -> tuple[dict[str, Any], str]:
    length = int(req.headers.get("Content-Length") or 0)
    raw = req.rfile.read(length) if length else b""
    ctype = req.headers.get("Content-Type", "")
    if "json" in ctype:
        return (json.loads(raw or b"{}"), "json")
    params: dict[str, Any] = dict(parse_qsl(raw.decode(), keep_blank_values=True))
    for key in JSON_PARAMS & params.keys():
        with contextlib.suppress(ValueError):
            params[key] = json.loads(params[key])
    return params, "form"


def _client_gone(sock: socket.socket) -> bool:
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True

