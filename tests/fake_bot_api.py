"""A stand-in for Telegram's Bot API on loopback, for tests that run the real process.

Serves `/bot<token>/<method>` like api.telegram.org: `getMe`, `getUpdates` (long polling;
each update handed to exactly one poller, as a load balancer hands a webhook call to one
instance), `setWebhook`/`deleteWebhook`, the
`send*` methods (recorded, answered with a message) and any other method (answered
`true`). `delay` slows chosen methods down, so a test can act while a handler is mid-way.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

__all__ = ["Call", "FakeBotApi"]

BOT_ID = 777


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value not in (None, "") else None


class FakeBotApi:
    """The fake server in a thread; `url` is what TELEGRAM_API_URL should be set to."""

    def __init__(self, username: str = "entonnoir_test_bot") -> None:
        self.username = username
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []
        self.polls = 0  # getUpdates calls received
        self.delay: dict[str, float] = {}
        self.on_call: Callable[[Call], None] | None = None
        self.lock = threading.Condition()
        self._ids = itertools.count(1)
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(5000)
        self.server = _Server(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # What tests do -----------------------------------------------------------------------

    def send_text(self, user_id: int, text: str) -> int:
        """A private message from `user_id`, queued for the next getUpdates; its update id."""
        update_id = next(self._update_ids)
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": f"u{user_id}"},
            "from": {"id": user_id, "is_bot": False, "first_name": f"u{user_id}", "language_code": "en"},
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        with self.lock:
            self.updates.append({"update_id": update_id, "message": message})
            self.lock.notify_all()
        return update_id

    def sent(self, method: str | None = None, chat_id: int | None = None) -> list[Call]:
        with self.lock:
            return [
                c
                for c in self.calls
                if (method is None or c.method == method) and (chat_id is None or c.chat_id == chat_id)
            ]

    def wait_for(self, check: Callable[[], bool], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise TimeoutError("the fake Bot API did not see what the test waited for")
            time.sleep(0.02)

    # The server --------------------------------------------------------------------------

    def _answer(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "Entonnoir",
                "username": self.username,
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        if method == "getUpdates":
            self.polls += 1
            offset = int(params.get("offset") or 0)
            wait = min(float(params.get("timeout") or 0), 0.5)
            deadline = time.monotonic() + wait
            with self.lock:  # each update goes to ONE poller, as a load balancer would
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
                while not self.updates and time.monotonic() < deadline:
                    self.lock.wait(deadline - time.monotonic())
                taken, self.updates = self.updates, []
                return taken
        call = Call(method, params)
        with self.lock:
            self.calls.append(call)
        if self.on_call is not None:
            self.on_call(call)
        if method in self.delay:
            time.sleep(self.delay[method])
        if not method.startswith(("send", "edit", "copy", "forward")):
            return True
        chat_id = call.chat_id or 0
        message: dict[str, Any] = {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group", "title": "team"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Entonnoir"},
        }
        if "text" in params:
            message["text"] = params["text"]
        if method == "sendPhoto":
            message["photo"] = [
                {"file_id": f"ph{message['message_id']}", "file_unique_id": "u", "width": 1, "height": 1}
            ]
        if method == "sendDocument":
            message["document"] = {"file_id": f"doc{message['message_id']}", "file_unique_id": "u"}
        return message

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                self._serve()

            def do_GET(self) -> None:
                self._serve()

            def _serve(self) -> None:
                method = self.path.rstrip("/").rsplit("/", 1)[-1].split("?")[0]
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                params = _params(self.headers.get("Content-Type", ""), body)
                result = fake._answer(method, params)
                data = json.dumps({"ok": True, "result": result}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        return None  # a poller that hung up at shutdown: nothing to report


def _params(content_type: str, body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    if content_type.startswith("application/json"):
        return dict(json.loads(body))
    if content_type.startswith("multipart/form-data"):
        head = f"Content-Type: {content_type}\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(head + body)
        out: dict[str, Any] = {}
        for part in message.iter_parts():  # type: ignore[attr-defined]
            name = part.get_param("name", header="content-disposition")
            if part.get_filename():
                out[str(name)] = part.get_payload(decode=True)
            else:
                out[str(name)] = part.get_payload(decode=True).decode()
        return out
    return dict(parse_qsl(body.decode()))
