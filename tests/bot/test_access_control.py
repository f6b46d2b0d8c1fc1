"""Access control: strangers reach nothing; a salesperson cannot reach another's records.

Every command the Application registers is tried, so a handler added later is covered
without editing this file.
"""

from __future__ import annotations

from typing import Any

from telegram.ext import CommandHandler

from storage.models import AuditLog, Contact, Deal, Note, Role, StageChange, Task, User
from tests.harness import ChatHarness, Person

REFUSAL = "Sorry, this bot is private. Ask your administrator for an invitation."


def registered_commands(chat: ChatHarness) -> list[str]:
    commands: set[str] = set()
    for handlers in chat.app.handlers.values():
        for handler in handlers:
            if isinstance(handler, CommandHandler):
                commands |= set(handler.commands)
    return sorted(commands)


async def test_a_stranger_gets_only_the_refusal_for_every_command(chat: ChatHarness) -> None:
    alice = await chat.user("alice", Role.ADMIN)
    await alice.says("/newcontact Ann Secret | +33612345678")
    commands = registered_commands(chat)
    assert {"start", "contacts", "deal", "task", "users", "invite", "pipeline"} <= set(commands)
    stranger = chat.stranger()
    for command in commands:
        for line in (f"/{command}", f"/{command} 1 x"):
            if line == "/start 1 x" or line.startswith("/start "):
                continue  # `/start CODE` is the registration path, tested on its own
            replies = await stranger.says(line)
            assert [r.text for r in replies] == [REFUSAL], line
    for data in ("contact:open:1", "deal:won:1", "task:done:1", "user:off:1", "form:pick:0"):
        before = len(chat.request.sent)
        replies = await stranger.presses_data(data)
        assert replies == [], data  # no message in the chat, only the alert below
        (answer,) = chat.request.sent[before:]
        assert (answer.method, answer.text) == ("answerCallbackQuery", REFUSAL), data
    await stranger.says("Ann")
    assert stranger.last_text == REFUSAL
    assert await User.filter(telegram_id=stranger.telegram_id).count() == 0
    assert await Contact.all().count() == 1


async def test_a_stranger_with_a_bad_code_is_not_registered(chat: ChatHarness) -> None:
    stranger = chat.stranger()
    await stranger.says("/start not-a-code")
    assert "not valid" in stranger.last_text
    assert await User.all().count() == 0


async def _snapshot() -> dict[str, Any]:
    deals = await Deal.all().order_by("id").values("id", "stage_id", "title", "lost_reason")
    return {
        "deals": deals,
        "contacts": await Contact.all().count(),
        "notes": await Note.all().count(),
        "tasks": await Task.all().order_by("id").values("id", "done"),
        "history": await StageChange.all().count(),
        "audit": await AuditLog.all().count(),
    }


async def _setup(chat: ChatHarness) -> tuple[Person, Person, int, int, int]:
    alice = await chat.user("alice", Role.SALES)
    bob = await chat.user("bob", Role.SALES)
    await alice.says("/newcontact Ann Private | +33612345678 | ann@example.com")
    ann = await Contact.get(name="Ann Private")
    await alice.says(f"/newdeal C{ann.id} | Secret boiler | 9000")
    deal = await Deal.get(title="Secret boiler")
    await alice.says(f"/task D{deal.id} | Secret call | tomorrow")
    task = await Task.get(text="Secret call")
    return alice, bob, ann.id, deal.id, task.id


async def test_salesperson_commands_on_anothers_records_change_nothing(chat: ChatHarness) -> None:
    _alice, bob, c, d, _t = await _setup(chat)
    before = await _snapshot()
    attempts = {
        f"/deal D{d}": f"No deal D{d}",
        f"/move D{d} Proposal": f"No deal D{d}",
        f"/move D{d}": f"No deal D{d}",
        f"/won D{d}": f"No deal D{d}",
        f"/lost D{d} too dear": f"No deal D{d}",
        f"/lost D{d}": f"No deal D{d}",
        f"/contact C{c}": f"No contact C{c}",
        f"/note C{c} sneaky": f"No contact C{c}",
        f"/task D{d} | sneaky | tomorrow": f"No deal D{d}",
        f"/task C{c} | sneaky": f"No contact C{c}",
        f"/newdeal C{c} | Sneaky | 100": f"No contact C{c}",
        "/newdeal Ann Private | Sneaky | 100": "No contact matches",
    }
    for line, expected in attempts.items():
        await bob.says(line)
        assert expected in bob.last_text, line
        assert "Secret boiler" not in bob.all_text and "Secret call" not in bob.all_text, line
        assert "+33612345678" not in bob.all_text and "9,000" not in bob.all_text, line
    for line in (
        "/contacts Ann",
        "/contacts 0612345678",
        "/contacts ann@example",
        "/deals all",
        "/deals",
        "/tasks",
        "/pipeline",
    ):
        await bob.says(line)
        assert "Secret" not in bob.all_text and "Private" not in bob.all_text, line
        assert "€9,000.00" not in bob.all_text, line
    assert await _snapshot() == before


async def test_crafted_callbacks_on_anothers_records_change_nothing(chat: ChatHarness) -> None:
    _alice, bob, c, d, t = await _setup(chat)
    before = await _snapshot()
    crafted = {
        f"deal:won:{d}": f"No deal D{d}",
        f"deal:lost:{d}": f"No deal D{d}",
        f"deal:open:{d}": f"No deal D{d}",
        f"deal:move:{d}:3": f"No deal D{d}",
        f"contact:open:{c}": f"No contact C{c}",
        f"contact:note:{c}": f"No contact C{c}",
        f"contact:deal:{c}": f"No contact C{c}",
        f"task:done:{t}": f"No task T{t}",
        f"deal:pick:{c}": "expired",
        "deal:won:": "not a valid reference",
        "deal:move:1": "no longer valid",
        "contact:open:1:2": "no longer valid",
        "task:undo:1": "no longer valid",
        "form:pick:9": "no longer valid",
    }
    for data, expected in crafted.items():
        await bob.presses_data(data)
        assert expected in bob.all_text, data
        assert "Secret" not in bob.all_text and "Private" not in bob.all_text, data
    # A pending /newdeal of his own cannot be redirected to Alice's contact either.
    await bob.says("/newcontact Ann Other | +33612345670")
    await bob.says("/newcontact Ann Third | +33612345671")
    await bob.says("/newdeal Ann | Sneaky | 100")
    assert "Several contacts match" in bob.last_text
    await bob.presses_data(f"deal:pick:{c}")
    assert f"No contact C{c}" in bob.last_text
    after = await _snapshot()
    assert after["deals"] == before["deals"] and after["tasks"] == before["tasks"]
    assert after["notes"] == before["notes"] and after["history"] == before["history"]


async def test_manager_may_act_on_everyones_deal(chat: ChatHarness) -> None:
    _alice, _bob, _c, d, t = await _setup(chat)
    boss = await chat.user("boss", Role.MANAGER)
    await boss.says(f"/move D{d} Proposal")
    assert "moved to Proposal" in boss.last_text
    await boss.presses_data(f"task:done:{t}")
    assert (await Task.get(id=t)).done
