"""A Bot API in-process: the `BaseRequest` seam used by the console chat and the tests.

`RecordingRequest` answers the Bot API methods the product uses with well-formed
objects and records every call as a `Sent`. A `responder` hook lets a test answer a call
differently (a 429 with `retry_after`, a 5xx, a 403 "bot was blocked").
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from telegram.request import BaseRequest, RequestData

__all__ = ["BOT_ID", "RecordingRequest", "Sent"]

BOT_ID = 4242


@dataclass
class Sent:
    """One Bot API call the product made."""

    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    message_id: int | None = None

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")

    @property
    def buttons(self) -> list[list[tuple[str, str]]]:
        """Inline keyboard rows as (label, callback_data or url)."""
        markup = self.params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        rows = (markup or {}).get("inline_keyboard", [])
        return [[(b["text"], b.get("callback_data") or b.get("url", "")) for b in row] for row in rows]


Responder = Callable[[str, dict[str, Any]], Awaitable[tuple[int, dict[str, Any]] | None]]


class RecordingRequest(BaseRequest):
    """Answers Bot API calls locally and records them."""

    def __init__(self, bot_username: str = "entonnoir_bot") -> None:
        self.bot_username = bot_username
        self.sent: list[Sent] = []
        self.responder: Responder | None = None
        self.listeners: list[Callable[[Sent], None]] = []
        self._ids = itertools.count(1000)

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        if self.responder is not None:
            custom = await self.responder(api_method, params)
            if custom is not None:
                status, body = custom
                return status, json.dumps(body).encode()
        result = self._answer(api_method, params, request_data)
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def clear(self) -> None:
        self.sent.clear()

    def _answer(self, method: str, params: dict[str, Any], data: RequestData | None) -> Any:
        if method == "getMe":
            return {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "Entonnoir",
                "username": self.bot_username,
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        if method == "getUpdates":
            return []
        files = _files(data)
        record = Sent(method, params, files)
        if method.startswith(("send", "edit", "copy", "forward")):
            record.message_id = int(params.get("message_id") or next(self._ids))
        self.sent.append(record)
        for listener in self.listeners:
            listener(record)
        if record.message_id is None:
            return True
        return self._message(record)

    def _message(self, record: Sent) -> dict[str, Any]:
        chat_id = record.chat_id or 0
        message: dict[str, Any] = {
            "message_id": record.message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group", "title": "team"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Entonnoir"},
        }
        if "text" in record.params:
            message["text"] = record.params["text"]
        if record.params.get("reply_markup"):
            markup = record.params["reply_markup"]
            message["reply_markup"] = json.loads(markup) if isinstance(markup, str) else markup
        if record.method == "sendDocument":
            message["document"] = {"file_id": f"doc{record.message_id}", "file_unique_id": "u"}
        if record.method == "sendPhoto":
            message["photo"] = [
                {"file_id": f"ph{record.message_id}", "file_unique_id": "u", "width": 1, "height": 1}
            ]
        return message


def _files(data: RequestData | None) -> dict[str, tuple[str, bytes]]:
    if data is None or not data.contains_files:
        return {}
    out: dict[str, tuple[str, bytes]] = {}
    for name, value in data.multipart_data.items():
        if isinstance(value, tuple):
            filename, content = value[0], value[1]
            raw = content if isinstance(content, bytes) else content.read()
            out[name] = (str(filename), bytes(raw))
    return out
