"""The chat harness: the real PTB Application driven through `RecordingRequest`.

Dialog tests read like the conversation:

    alice = await chat.user("alice", Role.SALES)
    await alice.says("/newcontact Ann | +33612345678")
    assert "created" in alice.last_text
    await alice.presses("Note")
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from telegram import Update

from bot.app import build_application
from bot.context import Ctx
from bot.settings import Settings
from bot.transport import Sent
from storage.errors import UserError
from storage.models import Role, User
from storage.users import create_user
from tests.strict_api import StrictBotApi

__all__ = ["ChatHarness", "Group", "Person"]

_ids = itertools.count(1)


def _non_blocking() -> set[asyncio.Task[Any]]:
    """The tasks PTB runs for handlers registered with block=False (and the product's own
    background work for an update, named `...non_blocking`)."""
    return {t for t in asyncio.all_tasks() if "non_blocking" in t.get_name()}


class Person:
    """Someone typing in their private chat with the bot."""

    def __init__(self, harness: ChatHarness, telegram_id: int, name: str, lang: str) -> None:
        self.harness, self.telegram_id, self.name, self.lang = harness, telegram_id, name, lang
        self.replies: list[Sent] = []
        self.user: User | None = None

    def _from(self) -> dict[str, Any]:
        return {"id": self.telegram_id, "is_bot": False, "first_name": self.name, "language_code": self.lang}

    async def _process(self, payload: dict[str, Any]) -> list[Sent]:
        before = len(self.harness.request.sent)
        refused_before = len(self.harness.request.refused)
        payload["update_id"] = next(_ids)
        started = _non_blocking()
        await self.harness.app.process_update(Update.de_json(payload, self.harness.app.bot))
        # Handlers registered with block=False run as tasks: wait for this update's own.
        await asyncio.gather(*(_non_blocking() - started), return_exceptions=True)
        self.harness.raise_unexpected()
        self.harness.check_refusals(self.harness.request.refused[refused_before:])
        new = self.harness.request.sent[before:]
        self.replies = [s for s in new if s.chat_id == self.telegram_id]
        return self.replies

    def _message(self, chat: Group | None = None, **extra: Any) -> dict[str, Any]:
        where = chat.payload() if chat else {"id": self.telegram_id, "type": "private"}
        return {
            "message_id": next(_ids),
            "date": int(datetime.now(UTC).timestamp()),
            "chat": where,
            "from": self._from(),
            **extra,
        }

    async def says(self, text: str, *, in_group: Group | None = None) -> list[Sent]:
        """Send a line (a command when it starts with /), in private or in a group."""
        entities = []
        if text.startswith("/"):
            entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        message = self._message(in_group, text=text, entities=entities)
        return await self._process({"message": message})

    async def shares_contact(self, phone: str, first_name: str, last_name: str = "") -> list[Sent]:
        """Share a Telegram contact into the chat."""
        contact = {"phone_number": phone, "first_name": first_name, "last_name": last_name}
        return await self._process({"message": self._message(contact=contact)})

    async def sends_document(
        self,
        file_name: str,
        mime_type: str,
        file_id: str = "doc1",
        *,
        in_group: Group | None = None,
        file_size: int = 1,
    ) -> list[Sent]:
        """Send a document (the test serves its bytes through the request's responder)."""
        document = {
            "file_id": file_id,
            "file_unique_id": file_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": file_size,
        }
        return await self._process({"message": self._message(in_group, document=document)})

    async def presses_data(
        self,
        data: str,
        message_id: int = 1,
        *,
        late: bool = False,
        in_group: Group | None = None,
    ) -> list[Sent]:
        """Press a button with this exact callback data (crafted data included).

        `late`: the press reaches the bot after Telegram's answer window (the bot was down):
        answering the query is refused as "too old", the action must still happen."""
        query_id = str(next(_ids))
        if late:
            self.harness.request.expire(query_id)
        shown = self.harness.request.messages.get(
            (in_group.chat_id if in_group else self.telegram_id, message_id)
        )
        query = {
            "id": query_id,
            "from": self._from(),
            "chat_instance": "test",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(datetime.now(UTC).timestamp()),
                "chat": in_group.payload() if in_group else {"id": self.telegram_id, "type": "private"},
                "from": {"id": 1, "is_bot": True, "first_name": "Entonnoir"},
                "text": shown[0] if shown else "…",
            },
        }
        return await self._process({"callback_query": query})

    async def presses(self, label: str, *, late: bool = False) -> list[Sent]:
        """Press the button whose label contains `label`, in the latest message showing one."""
        for sent in reversed(self.harness.request.sent):
            if sent.chat_id != self.telegram_id:
                continue
            for row in sent.buttons:
                for text, data in row:
                    if label in text:
                        return await self.presses_data(data, sent.message_id or 1, late=late)
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


class Group:
    """A group (or supergroup) chat the bot was added to."""

    def __init__(self, chat_id: int, title: str, kind: str) -> None:
        self.chat_id, self.title, self.kind = chat_id, title, kind

    def payload(self) -> dict[str, Any]:
        return {"id": self.chat_id, "type": self.kind, "title": self.title}


class ChatHarness:
    """The Application with a strict fake Bot API, and people to talk to it."""

    def __init__(self, app: Any, request: StrictBotApi) -> None:
        self.app, self.request = app, request
        self.unexpected: list[BaseException] = []
        self.tolerate: set[str] = set()

    async def user(self, name: str, role: Role = Role.SALES, lang: str = "en") -> Person:
        telegram_id = 100_000 + next(_ids)
        person = Person(self, telegram_id, name, lang)
        person.user = await create_user(name, role, telegram_id=telegram_id, language=lang)
        return person

    def stranger(self, lang: str = "en") -> Person:
        return Person(self, 900_000 + next(_ids), "Stranger", lang)

    def group(self, title: str = "Team", kind: str = "supergroup") -> Group:
        return Group(-1_000_000_000_000 - next(_ids), title, kind)

    def sent_to(self, person: Person | Group) -> list[Sent]:
        chat_id = person.chat_id if isinstance(person, Group) else person.telegram_id
        return [s for s in self.request.sent if s.chat_id == chat_id]

    def check_refusals(self, refused: list[tuple[str, str]]) -> None:
        """A call Telegram would refuse fails the test, unless the test expects that refusal
        (`tolerate`: description prefixes). Answering a late press is refused without failing."""
        for method, description in refused:
            if not any(description.startswith(p) for p in self.tolerate):
                raise AssertionError(f"Telegram would refuse {method}: {description}")

    def raise_unexpected(self) -> None:
        if self.unexpected:
            error = self.unexpected.pop(0)
            raise AssertionError(f"handler raised unexpectedly: {error!r}") from error


@pytest.fixture
async def chat(db: str, settings: Settings) -> AsyncIterator[ChatHarness]:
    """The real Application on a fresh SQLite database, no job queue, no rate limiter,
    talking to the strict fake Bot API (a 400 from Telegram fails the test)."""
    from bot.__main__ import bootstrap

    request = StrictBotApi(settings.bot_username)
    app = build_application(bootstrap(settings), request=request, rate_limit=False, jobs=False)
    harness = ChatHarness(app, request)

    async def fail_on_unexpected(update: object, ctx: Ctx) -> None:
        if ctx.error is not None and not isinstance(ctx.error, UserError):
            harness.unexpected.append(ctx.error)

    app.add_error_handler(fail_on_unexpected)
    async with app:
        await app.start()  # running, as in production: non-blocking handlers are tracked
        try:
            yield harness
        finally:
            await app.stop()
