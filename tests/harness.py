"""The chat harness: the real PTB Application driven through `RecordingRequest`.

Dialog tests read like the conversation:

    alice = await chat.user("alice", Role.SALES)
    await alice.says("/newcontact Ann | +33612345678")
    assert "created" in alice.last_text
    await alice.presses("Note")
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from telegram import Update

from bot.app import build_application
from bot.context import Ctx
from bot.settings import Settings
from bot.transport import RecordingRequest, Sent
from storage.errors import UserError
from storage.models import Role, User
from storage.users import create_user

__all__ = ["ChatHarness", "Person"]

_ids = itertools.count(1)


class Person:
    """Someone typing in their private chat with the bot."""

    def __init__(self, harness: ChatHarness, telegram_id: int, name: str, lang: str) -> None:
        self.harness, self.telegram_id, self.name, self.lang = harness, telegram_id, name, lang
        self.replies: list[Sent] = []
        self.user: User | None = None

    def _from(self) -> dict[str, Any]:
        return {"id": self.telegram_id, "is_bot": False, "first_name": self.name,
                "language_code": self.lang}

    async def _process(self, payload: dict[str, Any]) -> list[Sent]:
        before = len(self.harness.request.sent)
        payload["update_id"] = next(_ids)
        await self.harness.app.process_update(Update.de_json(payload, self.harness.app.bot))
        self.harness.raise_unexpected()
        new = self.harness.request.sent[before:]
        self.replies = [s for s in new if s.chat_id == self.telegram_id]
        return self.replies

    def _message(self, **extra: Any) -> dict[str, Any]:
        return {
            "message_id": next(_ids),
            "date": int(datetime.now(UTC).timestamp()),
            "chat": {"id": self.telegram_id, "type": "private"},
            "from": self._from(),
            **extra,
        }

    async def says(self, text: str) -> list[Sent]:
        """Send a line (a command when it starts with /)."""
        entities = []
        if text.startswith("/"):
            entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return await self._process({"message": self._message(text=text, entities=entities)})

    async def shares_contact(self, phone: str, first_name: str, last_name: str = "") -> list[Sent]:
        """Share a Telegram contact into the chat."""
        contact = {"phone_number": phone, "first_name": first_name, "last_name": last_name}
        return await self._process({"message": self._message(contact=contact)})

    async def sends_document(self, file_name: str, mime_type: str, file_id: str = "doc1") -> list[Sent]:
        """Send a document (the test serves its bytes through the request's responder)."""
        document = {"file_id": file_id, "file_unique_id": file_id, "file_name": file_name,
                    "mime_type": mime_type, "file_size": 1}
        return await self._process({"message": self._message(document=document)})

    async def presses_data(self, data: str, message_id: int = 1) -> list[Sent]:
        """Press a button with this exact callback data (crafted data included)."""
        query = {
            "id": str(next(_ids)),
            "from": self._from(),
            "chat_instance": "test",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(datetime.now(UTC).timestamp()),
                "chat": {"id": self.telegram_id, "type": "private"},
                "from": {"id": 1, "is_bot": True, "first_name": "Entonnoir"},
                "text": "…",
            },
        }
        return await self._process({"callback_query": query})

    async def presses(self, label: str) -> list[Sent]:
        """Press the button whose label contains `label`, in the latest message showing one."""
        for sent in reversed(self.harness.request.sent):
            if sent.chat_id != self.telegram_id:
                continue
            for row in sent.buttons:
                for text, data in row:
                    if label in text:
                        return await self.presses_data(data, sent.message_id or 1)
        raise AssertionError(f"no button labelled {label!r} shown to {self.name}")

    @property
    def last_text(self) -> str:
        """The text of the last message the bot sent this person in the last exchange."""
        texts = [s.text for s in self.replies if s.text]
        return texts[-1] if texts else ""

    @property
    def all_text(self) -> str:
        return "\n".join(s.text for s in self.replies if s.text)

    def buttons(self) -> list[str]:
        return [label for s in self.replies for row in s.buttons for label, _ in row]


class ChatHarness:
    """The Application with a recording Bot API, and people to talk to it."""

    def __init__(self, app: Any, request: RecordingRequest) -> None:
        self.app, self.request = app, request
        self.unexpected: list[BaseException] = []

    async def user(self, name: str, role: Role = Role.SALES, lang: str = "en") -> Person:
        telegram_id = 100_000 + next(_ids)
        person = Person(self, telegram_id, name, lang)
        person.user = await create_user(name, role, telegram_id=telegram_id, language=lang)
        return person

    def stranger(self, lang: str = "en") -> Person:
        return Person(self, 900_000 + next(_ids), "Stranger", lang)

    def sent_to(self, person: Person) -> list[Sent]:
        return [s for s in self.request.sent if s.chat_id == person.telegram_id]

    def raise_unexpected(self) -> None:
        if self.unexpected:
            error = self.unexpected.pop(0)
            raise AssertionError(f"handler raised unexpectedly: {error!r}") from error


@pytest.fixture
async def chat(db: str, settings: Settings) -> AsyncIterator[ChatHarness]:
    """The real Application on a fresh SQLite database, no job queue, no rate limiter."""
    from bot.__main__ import bootstrap

    request = RecordingRequest(settings.bot_username)
    app = build_application(bootstrap(settings), request=request, rate_limit=False, jobs=False)
    harness = ChatHarness(app, request)

    async def fail_on_unexpected(update: object, ctx: Ctx) -> None:
        if ctx.error is not None and not isinstance(ctx.error, UserError):
            harness.unexpected.append(ctx.error)

    app.add_error_handler(fail_on_unexpected)
    async with app:
        yield harness
