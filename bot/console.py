"""The local console chat: the real Application and handlers over `RecordingRequest`.

Reads lines from stdin; `#N` presses button N of the last keyboard shown. Prints the bot's
replies as plain text, numbered buttons, documents and photos saved under `var/console/`,
and messages to other people with their recipient's name. Exits at end of input.
"""

from __future__ import annotations

import asyncio
import html
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from telegram import Update

from bot.transport import RecordingRequest, Sent
from storage.models import User

__all__ = ["CONSOLE_ID_BASE", "ConsoleChat", "console_id", "saved_name"]

CONSOLE_ID_BASE = 9_000_000_000_000
_TAGS = re.compile(r"<[^>]+>")
_UNSAFE = re.compile(r"[^\w.() -]+")


def console_id(user: User) -> int:
    """The chat id the console uses for a user (their Telegram id when they have one)."""
    return user.telegram_id if user.telegram_id is not None else CONSOLE_ID_BASE + user.id


def saved_name(filename: str, message_id: int | None) -> str:
    """The name a sent file is saved under: its own (`F2026-00001.pdf`, `funnel.png`), kept
    to one safe path component; a file sent without a usable name gets the message's id."""
    name = _UNSAFE.sub("_", Path(filename.replace("\\", "/")).name).strip(" ._")
    return name[:120] or f"message-{message_id or 0}.bin"


def plain(text: str) -> str:
    """HTML message text as the console shows it."""
    return html.unescape(_TAGS.sub("", text))


class ConsoleChat:
    """Drives an Application as one user, printing what the bot sends."""

    def __init__(
        self, app: Any, request: RecordingRequest, user: User, out_dir: Path, out: TextIO = sys.stdout
    ) -> None:
        self.app, self.request, self.user, self.out_dir, self.out = app, request, user, out_dir, out
        self.chat_id = console_id(user)
        self.buttons: list[tuple[str, str, int]] = []
        self._update_id = 0
        self._names: dict[int, str] = {}
        request.listeners.append(self._print)

    async def load_names(self) -> None:
        for u in await User.all():
            self._names[console_id(u)] = u.name

    def _print(self, sent: Sent) -> None:
        if sent.method not in ("sendMessage", "editMessageText", "sendDocument", "sendPhoto"):
            return
        prefix = ""
        if sent.chat_id != self.chat_id:
            prefix = f"[to {self._names.get(sent.chat_id or 0, sent.chat_id)}] "
        if sent.text:
            print(prefix + plain(sent.text), file=self.out)
        for _name, (filename, content) in sent.files.items():
            self.out_dir.mkdir(parents=True, exist_ok=True)
            path = self.out_dir / saved_name(filename, sent.message_id)
            path.write_bytes(content)  # the same name again is the newer copy: it replaces
            print(f"{prefix}[file] {path}", file=self.out)
        if sent.chat_id == self.chat_id and sent.buttons:
            self.buttons = []
            for row in sent.buttons:
                for label, data in row:
                    self.buttons.append((label, data, sent.message_id or 0))
            print("  " + "  ".join(f"[{i + 1}] {b[0]}" for i, b in enumerate(self.buttons)), file=self.out)
        print(file=self.out)

    def _next_id(self) -> int:
        self._update_id += 1
        return self._update_id

    def _from(self) -> dict[str, Any]:
        return {
            "id": self.chat_id,
            "is_bot": False,
            "first_name": self.user.name,
            "language_code": self.user.language,
        }

    def message_update(self, text: str) -> Update:
        data = {
            "update_id": self._next_id(),
            "message": {
                "message_id": self._update_id,
                "date": int(datetime.now(UTC).timestamp()),
                "chat": {"id": self.chat_id, "type": "private"},
                "from": self._from(),
                "text": text,
                "entities": _command_entity(text),
            },
        }
        return Update.de_json(data, self.app.bot)

    def press_update(self, index: int) -> Update | None:
        if not 1 <= index <= len(self.buttons):
            return None
        _label, data, message_id = self.buttons[index - 1]
        payload = {
            "update_id": self._next_id(),
            "callback_query": {
                "id": str(self._update_id),
                "from": self._from(),
                "chat_instance": "console",
                "data": data,
                "message": {
                    "message_id": message_id,
                    "date": int(datetime.now(UTC).timestamp()),
                    "chat": {"id": self.chat_id, "type": "private"},
                    "from": {"id": 1, "is_bot": True, "first_name": "Entonnoir"},
                    "text": "…",
                },
            },
        }
        return Update.de_json(payload, self.app.bot)

    async def handle_line(self, line: str) -> None:
        line = line.strip()
        if not line:
            return
        if re.fullmatch(r"#\d+", line):
            update = self.press_update(int(line[1:]))
            if update is None:
                print(f"(no button {line})\n", file=self.out)
                return
        else:
            update = self.message_update(line)
        await self.app.process_update(update)

    async def run(self, stream: TextIO = sys.stdin) -> None:
        await self.load_names()
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, stream.readline)
            if not line:
                break
            await self.handle_line(line)


def _command_entity(text: str) -> list[dict[str, Any]]:
    if not text.startswith("/"):
        return []
    length = len(text.split()[0])
    return [{"type": "bot_command", "offset": 0, "length": length}]
