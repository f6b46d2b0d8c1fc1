"""A form in progress survives a restart: the real Application, rebuilt, continues it.

Two Application instances in turn on one database, with `DbPersistence` — as after a
restart, or when the next update reaches another instance.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from telegram import Update

from bot.__main__ import bootstrap
from bot.app import build_application
from bot.persistence import DbPersistence
from bot.settings import Settings
from bot.transport import RecordingRequest
from storage.chat_state import load_state
from storage.models import Contact, Role
from storage.users import create_user

_ids = itertools.count(1)
ALICE = 4_200_001


async def _start(settings: Settings, interval: float = 0.05) -> tuple[Any, RecordingRequest]:
    request = RecordingRequest(settings.bot_username)
    app = build_application(
        bootstrap(settings),
        request=request,
        rate_limit=False,
        jobs=False,
        persistence=DbPersistence(update_interval=interval),
    )
    await app.initialize()
    await app.start()
    return app, request


async def _says(app: Any, request: RecordingRequest, text: str) -> str:
    before = len(request.sent)
    message: dict[str, Any] = {
        "message_id": next(_ids),
        "date": int(datetime.now(UTC).timestamp()),
        "chat": {"id": ALICE, "type": "private"},
        "from": {"id": ALICE, "is_bot": False, "first_name": "Alice", "language_code": "en"},
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
    await app.process_update(Update.de_json({"update_id": next(_ids), "message": message}, app.bot))
    replies = [s for s in request.sent[before:] if s.chat_id == ALICE]
    return str(replies[-1].params.get("text", "")) if replies else ""


async def _stop(app: Any) -> None:
    await app.stop()
    await app.shutdown()


async def test_a_half_filled_form_continues_after_a_restart(db: str, settings: Settings) -> None:
    await create_user("alice", Role.SALES, telegram_id=ALICE, language="en")
    first, request = await _start(settings)
    assert "name" in (await _says(first, request, "/newcontact")).lower()
    await _says(first, request, "Bob Dupont")
    await _stop(first)  # the restart: the first instance is gone
    stored = await load_state("user", str(ALICE))
    assert stored["form"]["values"] == {"name": "Bob Dupont"}

    second, request = await _start(settings)
    await _says(second, request, "-")  # no phone: the second question, as before the restart
    await _says(second, request, "bob@example.com")
    done = await _says(second, request, "-")
    await _stop(second)
    assert "Bob Dupont" in done
    assert await Contact.filter(name="Bob Dupont", email="bob@example.com").count() == 1
    assert "form" not in (await load_state("user", str(ALICE)) or {})


async def test_an_instance_sees_the_form_another_instance_moved_on(db: str, settings: Settings) -> None:
    await create_user("alice", Role.SALES, telegram_id=ALICE, language="en")
    one, r1 = await _start(settings)
    two, r2 = await _start(settings)  # both running, as behind a load balancer
    try:
        await _says(one, r1, "/newcontact")
        await _says(one, r1, "Carla Rossi")
        await one.update_persistence()  # what the persistence loop does every interval
        # The next answer reaches the other instance: it reads the stored form first.
        await _says(two, r2, "-")
        await _says(two, r2, "-")
        done = await _says(two, r2, "-")
        assert "Carla Rossi" in done
    finally:
        await _stop(one)
        await _stop(two)
    assert await Contact.filter(name="Carla Rossi").count() == 1


async def test_an_unchanged_document_is_not_written_back_over_another_instance(
    db: str, settings: Settings
) -> None:
    await create_user("alice", Role.SALES, telegram_id=ALICE, language="en")
    # the first instance flushes only when told (as if its interval had not come yet)
    one, r1 = await _start(settings, interval=3600)
    two, r2 = await _start(settings)
    try:
        assert await _says(one, r1, "/help")  # Alice touched on the first instance, unchanged
        # Her next messages reach the other instance, which starts a form and writes it.
        await _says(two, r2, "/newcontact")
        await _says(two, r2, "Dana Weiss")
        await two.update_persistence()
        # The first instance's flush comes later: its copy did not change, nothing is put
        # back over the form (an empty document written here would lose it).
        await one.update_persistence()
        assert (await load_state("user", str(ALICE)))["form"]["values"] == {"name": "Dana Weiss"}
        await _says(one, r1, "-")  # back on the first instance: the form goes on
        await _says(one, r1, "-")
        assert "Dana Weiss" in await _says(one, r1, "-")
    finally:
        await _stop(one)
        await _stop(two)
    assert await Contact.filter(name="Dana Weiss").count() == 1


async def test_a_command_that_changes_nothing_writes_no_document(db: str, settings: Settings) -> None:
    await create_user("alice", Role.SALES, telegram_id=ALICE, language="en")
    app, request = await _start(settings, interval=3600)
    try:
        assert await _says(app, request, "/help")
        await app.update_persistence()
        assert await load_state("user", str(ALICE)) is None
        assert await load_state("chat", str(ALICE)) is None
        await _says(app, request, "/newcontact")
        await app.update_persistence()
        assert "form" in await load_state("user", str(ALICE))
    finally:
        await _stop(app)
