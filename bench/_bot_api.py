"""A light Bot API and a light webhook client for bench/scale.py, in the generator's loop.

The benchmark's measuring side shares the machine with what it measures, so it must cost
little per update. `tests.fake_bot_api.FakeBotApi` (kept for the tests) answers HTTP/1.0
with a new thread and a new connection per call; here one asyncio protocol serves
HTTP/1.1 keep-alive (as api.telegram.org does), so an instance's HTTP client reuses its
connections, and each `send*` call is reported to `on_send(chat_id, perf_counter())` in
the same event loop as the load generator — no thread hop. `Poster` sends the webhook
calls over keep-alive connections, without httpx's per-request machinery.

Answers as `FakeBotApi` does: `getMe` the bot, `send*`/`edit*`/`copy*`/`forward*` a
message, any other method `true`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from tests.fake_bot_api import BOT_ID

__all__ = ["LightBotApi", "Poster"]

_ME = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": "Entonnoir",
    "username": "entonnoir_bench_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


class LightBotApi:
    """`await start()`, then `url` is TELEGRAM_API_URL; `sends` counts `send*` calls."""

    def __init__(self, on_send: Callable[[int, float], None] | None = None) -> None:
        self.username = str(_ME["username"])
        self.on_send = on_send
        self.sends = 0
        self.methods: defaultdict[str, int] = defaultdict(int)
        self._message_ids = 0
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _ApiProtocol(self), "127.0.0.1", 0)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2):
                    await self._server.wait_closed()

    def answer(self, method: str, content_type: bytes, body: bytes) -> bytes:
        self.methods[method] += 1
        if method == "getMe":
            result: Any = _ME
        elif method.startswith(("send", "edit", "copy", "forward")):
            params = _params(content_type, body)
            chat = int(params.get("chat_id") or 0)
            if method.startswith("send"):
                self.sends += 1
                if self.on_send is not None and chat:
                    self.on_send(chat, time.perf_counter())
            self._message_ids += 1
            result = {
                "message_id": self._message_ids,
                "date": int(time.time()),
                "chat": {"id": chat, "type": "private" if chat > 0 else "group", "title": "team"},
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Entonnoir"},
            }
            if "text" in params:
                result["text"] = params["text"]
        else:
            result = True
        return json.dumps({"ok": True, "result": result}).encode()


class _ApiProtocol(asyncio.Protocol):
    """HTTP/1.1 requests with Content-Length bodies (what httpx sends), keep-alive."""

    def __init__(self, api: LightBotApi) -> None:
        self.api = api
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.transport is not None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].split(b"\r\n")
            headers = dict(_header(line) for line in head[1:])
            length = int(headers.get(b"content-length", b"0"))
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            path = head[0].split(b" ")[1].decode()
            method = path.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
            data = self.api.answer(method, headers.get(b"content-type", b""), body)
            close = headers.get(b"connection", b"").lower() == b"close"
            self.transport.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n%s"
                % (len(data), b"Connection: close\r\n" if close else b"", data)
            )
            if close:
                self.transport.close()
                self.transport = None

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


def _header(line: bytes) -> tuple[bytes, bytes]:
    name, _, value = line.partition(b":")
    return name.strip().lower(), value.strip()


def _params(content_type: bytes, body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    if content_type.startswith(b"application/json"):
        return dict(json.loads(body))
    if content_type.startswith(b"multipart/form-data"):  # a document: its fields, as the tests
        from tests.fake_bot_api import _params as multipart

        return multipart(content_type.decode(), body)
    return dict(parse_qsl(body.decode()))


class Poster:
    """POSTs to 127.0.0.1:port over HTTP/1.1 keep-alive connections, one request at a time
    per connection. Idle connections are dropped after `expiry` s, before the server's own
    keep-alive timeout (uvicorn: 5 s) could close one as a request goes out."""

    def __init__(self, path: str, headers: dict[str, str], expiry: float = 2.0) -> None:
        self.path = path
        self.head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.expiry = expiry
        self.idle: defaultdict[int, list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]]] = (
            defaultdict(list)
        )

    async def post(self, port: int, body: bytes) -> int:
        """The response's status; raises OSError (incl. after 30 s) when it failed."""
        conn = None
        idle = self.idle[port]
        now = time.monotonic()
        while idle:
            reader, writer, since = idle.pop()
            if now - since < self.expiry and not reader.at_eof():
                conn = reader, writer
                break
            writer.close()
        try:
            async with asyncio.timeout(30):
                if conn is None:
                    conn = await asyncio.open_connection("127.0.0.1", port)
                reader, writer = conn
                writer.write(
                    (
                        f"POST {self.path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{self.head}"
                        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                    ).encode()
                    + body
                )
                head = (await reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
                headers = dict(_header(line) for line in head[1:] if line)
                await reader.readexactly(int(headers.get(b"content-length", b"0")))
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            if conn is not None:
                conn[1].close()
            raise OSError(f"{type(exc).__name__}: {exc}") from exc
        if headers.get(b"connection", b"").lower() == b"close":
            writer.close()
        else:
            idle.append((reader, writer, time.monotonic()))
        return int(head[0].split(b" ")[1])

    def close(self) -> None:
        for conns in self.idle.values():
            for _, writer, _ in conns:
                writer.close()
        self.idle.clear()
