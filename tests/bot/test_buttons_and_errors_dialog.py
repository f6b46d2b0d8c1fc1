"""Late buttons still act, no-op edits and outdated keyboards are not errors, apologies are
truthful, and admins hear of each distinct failure once an hour with a count."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from telegram import InlineKeyboardMarkup
from tortoise import Tortoise

from bot.errors import error_key
from storage.error_reports import report_error
from storage.models import Alert, Contact, Deal, Role, Task
from tests.harness import ChatHarness, Person


async def _deal(person: Person) -> Deal:
    await person.says("/newcontact Ann Martin | +33612345678")
    await person.says("/newdeal Ann | Boiler | 1 200")
    return await Deal.get(title="Boiler")


async def test_a_button_pressed_while_the_bot_was_down_still_does_its_work(chat: ChatHarness) -> None:
    alice = await chat.user("alice", Role.SALES)
    deal = await _deal(alice)
    await alice.says(f"/task D{deal.id} | Call back | +1d")
    await alice.says("/tasks")
    await alice.presses("Done T", late=True)  # answering the query is refused: too old
    assert (await Task.get(text="Call back")).done
    assert "done" in alice.last_text
    assert chat.request.late_refused  # the bot did try to answer, and carried on


async def test_an_edit_that_changes_nothing_is_not_an_error(chat: ChatHarness) -> None:
    alice = await chat.user("alice", Role.SALES)
    deal = await _deal(alice)
    await alice.says(f"/deal D{deal.id}")
    card = chat.sent_to(alice)[-1]
    move = card.buttons[0][-1][1]  # a later stage
    await alice.presses_data(move, card.message_id or 1)
    shown, markup = chat.request.messages[(alice.telegram_id, card.message_id or 1)]
    # The same card again (a second device, a double tap): Telegram says "not modified".
    result = await chat.app.bot.edit_message_text(
        shown,
        chat_id=alice.telegram_id,
        message_id=card.message_id,
        parse_mode="HTML",
        reply_markup=InlineKeyboardMarkup.de_json(json.loads(markup), chat.app.bot),
    )
    assert result is True
    assert chat.request.refused[-1][1].startswith("message is not modified")


async def test_an_outdated_keyboard_is_answered_this_button_is_no_longer_valid(
    chat: ChatHarness,
) -> None:
    alice = await chat.user("alice", Role.SALES, lang="fr")
    before = len(chat.request.sent)
    await alice.presses_data("oldarea:zap:12")
    [popup] = chat.request.sent[before:]
    assert popup.method == "answerCallbackQuery" and popup.params["text"] == "Ce bouton n'est plus valide."
    alice.lang = "en"
    bob = await chat.user("bob", Role.SALES)
    await bob.presses_data("contact:open")
    assert bob.last_text == "This button is no longer valid."


async def test_when_the_reply_fails_after_the_change_the_user_is_told_it_was_saved(
    chat: ChatHarness,
) -> None:
    alice = await chat.user("alice", Role.SALES)

    async def refuse_the_card(method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        if method == "sendMessage" and "created" in str(params.get("text")):
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
        return None

    chat.request.responder = refuse_the_card
    before = len(chat.request.sent)
    with pytest.raises(AssertionError, match="handler raised unexpectedly"):
        await alice.says("/newcontact Ann Martin | +33612345678")
    assert await Contact.filter(name="Ann Martin").count() == 1
    [apology] = [s.text for s in chat.request.sent[before:] if s.chat_id == alice.telegram_id]
    assert apology.startswith("Your change was saved, but I could not show the answer")


async def test_admins_get_one_alert_per_handler_and_error_kind_with_a_count(chat: ChatHarness) -> None:
    root = await chat.user("root", Role.ADMIN)
    alice = await chat.user("alice", Role.SALES)
    conn = Tortoise.get_connection("default")
    for table in ("tasks", "payments", "stock_levels", "purchase_orders", "job_runs", "collection_tasks"):
        await conn.execute_script(f"DROP TABLE {table}")
    commands = ["/tasks", "/tasks", "/tasks", "/payments", "/stock", "/po", "/status", "/collections"]
    for command in commands:
        with pytest.raises(AssertionError, match="handler raised unexpectedly"):
            await (alice if command == "/tasks" else root).says(command)
    rows = await Alert.filter(user_id=root.user.id, kind="handler_error").order_by("id")
    keys = [r.params["error"] for r in rows]
    assert len(keys) == len(set(keys)) == 6, keys  # six different failures, six alerts
    # Named by the handler that failed, not by the innermost (aiosqlite) frame.
    assert set(keys) == {
        "tasks.tasks:OperationalError",
        "payments.payments:OperationalError",
        "purchasing.stock:OperationalError",
        "purchasing.po:OperationalError",
        "status.status:OperationalError",
        "collections.collections:OperationalError",
    }
    tasks_alert = next(r for r in rows if r.params["error"].startswith("tasks."))
    assert tasks_alert.params["count"] == 3


async def test_report_error_is_once_per_key_per_hour(chat: ChatHarness) -> None:
    root = await chat.user("root", Role.ADMIN)
    now = datetime(2026, 11, 20, 9, 5, tzinfo=UTC)
    for i in range(6):
        await report_error(f"area.handler{i}:ValueError", now)
    for _ in range(4):
        await report_error("area.handler0:ValueError", now + timedelta(minutes=30))
    await report_error("area.handler0:ValueError", now + timedelta(hours=1))
    rows = await Alert.filter(user_id=root.user.id, kind="handler_error").order_by("id")
    assert len(rows) == 7
    assert rows[0].params["count"] == 5 and rows[-1].params["count"] == 1


def test_error_key_without_a_handler_on_the_stack_names_the_bot_frame_or_nothing() -> None:
    try:
        raise ValueError("boom")
    except ValueError as err:
        assert error_key(err) == "?:ValueError"  # a test module is not the bot


async def test_a_button_whose_answer_fails_for_any_reason_still_does_its_work(
    chat: ChatHarness,
) -> None:
    alice = await chat.user("alice", Role.SALES)
    deal = await _deal(alice)
    await alice.says(f"/task D{deal.id} | Call back | +1d")
    await alice.says("/tasks")

    async def gateway_down(method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        if method == "answerCallbackQuery":
            return 502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}
        return None

    chat.request.responder = gateway_down
    await alice.presses("Done T")
    assert (await Task.get(text="Call back")).done
    assert "done" in alice.last_text


async def test_a_failure_before_the_change_says_nothing_was_changed(chat: ChatHarness) -> None:
    boss = await chat.user("boss", Role.MANAGER)

    async def no_file(method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        if method == "getFile":
            return 502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}
        return None

    chat.request.responder = no_file
    before = len(chat.request.sent)
    with pytest.raises(AssertionError, match="handler raised unexpectedly"):
        await boss.sends_document("c.csv", "text/csv")
    [apology] = [s.text for s in chat.request.sent[before:] if s.chat_id == boss.telegram_id]
    assert "Nothing was changed" in apology
