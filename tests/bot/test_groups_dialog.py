"""In a group the bot says nothing of the CRM: only /help, /teamchat and "write to me in private"."""

from __future__ import annotations

from datetime import UTC, datetime

from telegram.ext import CommandHandler

from bot.delivery import Pacer, deliver_alerts
from bot.settings import Settings
from storage.alerts import alert_team
from storage.models import Contact, Deal, Invite, Role
from tests.harness import ChatHarness

DAY = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # 10:00 in Paris, outside quiet hours


def _commands(chat: ChatHarness) -> list[str]:
    names = {
        name
        for handlers in chat.app.handlers.values()
        for h in handlers
        if isinstance(h, CommandHandler)
        for name in h.commands
    }
    return sorted(names)


async def test_a_group_with_a_stranger_hears_nothing_of_the_crm_but_team_alerts(
    chat: ChatHarness, settings: Settings
) -> None:
    root = await chat.user("root", Role.ADMIN)
    mia = await chat.user("mia", Role.MANAGER)
    alice = await chat.user("alice", Role.SALES)
    stranger = chat.stranger()
    await alice.says("/newcontact Zoé Secret | +33612345678 | zoe@secret.example | SecretCorp")
    await alice.says("/newdeal C1 | Secret deal | 12345")
    await root.says("/invite sales")
    code = (await Invite.first()).code  # type: ignore[union-attr]
    group = chat.group("Sales floor")
    before = len(chat.request.sent)

    await mia.says("/teamchat@entonnoir_bot", in_group=group)
    commands = _commands(chat)
    assert {"contacts", "export", "invite", "users", "invoicepdf", "report"} <= set(commands)
    for person in (root, mia, alice, stranger):
        for name in commands:
            for suffix in ("", "@entonnoir_bot", "@other_bot"):
                await person.says(f"/{name}{suffix} C1", in_group=group)
                await person.says(f"/{name}{suffix}", in_group=group)
        await person.says("Zoé Secret", in_group=group)
        await person.says("/start@entonnoir_bot " + code, in_group=group)
        await person.sends_document("contacts.csv", "text/csv", in_group=group)
    # A button pressed in the group (crafted: no card was ever shown there) gets a private pop-up.
    contact = await Contact.get(name="Zoé Secret")
    deal = await Deal.first()
    assert deal is not None
    await alice.presses_data(f"contact:open:{contact.id}", in_group=group)
    await alice.presses_data(f"deal:open:{deal.id}", in_group=group)

    in_group = [s for s in chat.request.sent[before:] if s.chat_id == group.chat_id]
    allowed_prefixes = (
        "Write to me in private: https://t.me/entonnoir_bot?start=group",
        "<b>Contacts</b>",  # /help
        "This group now receives the team's alerts",
        "Only a manager can choose the team chat.",
    )
    for sent in in_group:
        assert sent.text.startswith(allowed_prefixes), sent.text
        assert sent.method == "sendMessage"
    leaked = " ".join(s.text for s in in_group)
    for secret in ("Zoé", "SecretCorp", "12 345", "12,345", "Secret deal", "zoe@", code, "alice"):
        assert secret not in leaked
    # The redirect carries the deep link as a button too, and nothing else.
    redirect = next(s for s in in_group if s.text.startswith("Write to me"))
    assert redirect.buttons == [[("Open the private chat", "https://t.me/entonnoir_bot?start=group")]]
    # Not a word to the stranger, in the group or elsewhere.
    assert chat.sent_to(stranger) == []
    pops = [s for s in chat.request.sent[before:] if s.method == "answerCallbackQuery"]
    assert len(pops) == 2 and all("private" in str(s.params.get("text")) for s in pops)
    # Commands for other bots, bare commands and chatter got nothing at all: the three
    # members got one answer per command addressed to us and per bare /help, /aide, /teamchat.
    assert len(in_group) == 1 + 3 * (2 * len(commands) + 2 * 3 + 1)

    # The team alerts /teamchat enabled do reach the group.
    await alert_team("job_failed", "team:1", {"job": "inbox", "error": "IMAP down"})
    result = await deliver_alerts(chat.app.bot, settings, Pacer(), clock=lambda: DAY)
    assert result.delivered == 1
    assert any("IMAP down" in s.text for s in chat.sent_to(group))


async def test_deep_link_from_the_group_greets_a_member_and_refuses_a_stranger(
    chat: ChatHarness,
) -> None:
    alice = await chat.user("alice", Role.SALES)
    await alice.says("/start group")
    assert alice.last_text.startswith("Hello alice")
    stranger = chat.stranger()
    await stranger.says("/start group")
    assert stranger.last_text.startswith("Sorry, this bot is private")


async def test_an_ordinary_command_in_a_group_is_ignored_unless_addressed(chat: ChatHarness) -> None:
    alice = await chat.user("alice", Role.SALES)
    group = chat.group("Sales floor", kind="group")
    before = len(chat.request.sent)
    await alice.says("/contacts", in_group=group)
    await alice.says("/contacts@some_other_bot", in_group=group)
    await alice.says("hello", in_group=group)
    assert chat.request.sent[before:] == []
    await alice.says("/contacts@entonnoir_bot", in_group=group)
    [only] = chat.request.sent[before:]
    assert only.text.startswith("Write to me in private") and only.chat_id == group.chat_id
    await alice.says("/help", in_group=group)
    assert chat.sent_to(group)[-1].text.startswith("<b>Contacts</b>")
