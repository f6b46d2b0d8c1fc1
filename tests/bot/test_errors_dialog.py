"""A failure inside a handler is answered with an apology and reported to admins once."""

from __future__ import annotations

import pytest
from tortoise import Tortoise

from bot.jobs.effects import deliver
from storage.models import Alert, Role
from tests.harness import ChatHarness


async def test_a_broken_database_gets_an_apology_and_admins_hear_once(chat: ChatHarness) -> None:
    root = await chat.user("root", Role.ADMIN)
    alice = await chat.user("alice", Role.SALES)
    await Tortoise.get_connection("default").execute_script("DROP TABLE tasks")
    for _ in range(2):
        before = len(chat.request.sent)
        with pytest.raises(AssertionError, match="handler raised unexpectedly"):
            await alice.says("/tasks")
        to_alice = [s.text for s in chat.request.sent[before:] if s.chat_id == alice.telegram_id]
        assert to_alice == [
            "Sorry, something went wrong on our side. Nothing was changed; the administrators have been told."
        ]
    # The report is an alert row (effects are rows), queued once for the two failures...
    rows = await Alert.filter(user_id=root.user.id, kind="handler_error")
    assert len(rows) == 1 and "OperationalError" in rows[0].params["error"]
    # ...and delivered by the alerts job.
    await deliver(chat.app.bot_data["services"], chat.app.bot)
    reports = [s.text for s in chat.sent_to(root) if "Unexpected error" in s.text]
    assert len(reports) == 1 and "OperationalError" in reports[0]
    await alice.says("/deals")  # the bot keeps answering
    assert alice.last_text == "No deal."


async def test_unknown_command_and_stray_text_get_a_hint(chat: ChatHarness) -> None:
    alice = await chat.user("alice", Role.SALES, lang="fr")
    await alice.says("/frobnicate")
    assert alice.last_text == "Je ne connais pas cette commande. Tapez /help."
    await alice.says("hello?")
    assert alice.last_text == "Tapez /help pour voir les commandes."
    await alice.says("/cancel")
    assert alice.last_text == "Il n'y avait rien à annuler."
    await alice.says("/newcontact")
    await alice.says("/cancel")
    assert alice.last_text == "Annulé. Rien n'a été enregistré."
    await alice.says("Ann")
    assert alice.last_text == "Tapez /help pour voir les commandes."
