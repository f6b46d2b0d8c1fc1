"""Alerts carry actions; the bot draws them as buttons, and a press acts as any button does.

Storage writes what can be done ("complete task 5"), never callback data; the deliverer
draws each action in the recipient's language with the callback data of the handler that
does it, and that handler checks the presser's right again.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from telegram.ext import CallbackQueryHandler

from bot.delivery import ACTION_BUTTONS, Pacer, deliver_alerts, render_alert
from bot.settings import Settings
from storage.alerts import ActionKind, AlertAction, actions_of, alert_user
from storage.models import Alert, Role, Task
from storage.reports import task_reminders
from storage.users import create_user
from tests.harness import ChatHarness

DAY = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # 10:00 in Paris, outside quiet hours
ROOT = Path(__file__).resolve().parents[2]

# What each action looks like to the person, written out here (not read from the bot).
EXPECTED = {
    ActionKind.OPEN_PURCHASE_ORDER: ("Open the order", "Ouvrir la commande", "po:open:{}"),
    ActionKind.DELIVER_DEAL: ("🚚 Delivered", "🚚 Livrée", "po:deliver:{}"),
    ActionKind.APPROVE_SUPPLIER_INVOICE: ("Approve", "Approuver", "si:ok:{}"),
    ActionKind.DISPUTE_SUPPLIER_INVOICE: ("Dispute", "Contester", "si:dispute:{}"),
    ActionKind.REFUSE_SUPPLIER_INVOICE: ("Refuse", "Refuser", "si:refuse:{}"),
    ActionKind.RESUBMIT_INVOICE: ("Resubmit", "Renvoyer", "pa:resubmit:{}"),
    ActionKind.MATCH_PAYMENT: ("Choose the invoice", "Choisir la facture", "pay:show:{}"),
    ActionKind.SEND_REMINDER: ("✉️ Send reminder now", "✉️ Relancer maintenant", "coll:remind:{}"),
    ActionKind.LOG_CALL: ("📞 Log call", "📞 Noter un appel", "coll:call:{}"),
    ActionKind.PROMISE_TO_PAY: ("🤝 Promise to pay", "🤝 Promesse de paiement", "coll:promise:{}"),
    ActionKind.TOGGLE_DISPUTE: ("⚖️ Disputed / resolved", "⚖️ Litige / résolu", "coll:dispute:{}"),
    ActionKind.OPEN_OVERDUE_INVOICE: ("📄 Open invoice", "📄 Ouvrir la facture", "coll:invoice:{}"),
    ActionKind.COMPLETE_TASK: ("✔ Done", "✔ Fait", "task:done:{}"),
}


def _callback_patterns(chat: ChatHarness) -> list[re.Pattern[str]]:
    return [
        h.pattern
        for group in chat.app.handlers.values()
        for h in group
        if isinstance(h, CallbackQueryHandler) and isinstance(h.pattern, re.Pattern)
    ]


async def test_every_action_is_drawn_in_the_readers_language_with_a_handled_callback(
    chat: ChatHarness, settings: Settings
) -> None:
    assert set(ACTION_BUTTONS) == set(ActionKind) == set(EXPECTED)
    alice = await chat.user("alice", Role.SALES, lang="en")
    olga = await chat.user("olga", Role.SALES, lang="fr")
    target = 2**31 - 1  # the largest id a row has: the data stays within 64 bytes
    every = [AlertAction(kind, target) for kind in ActionKind]
    for person in (alice, olga):
        assert person.user is not None
        await alert_user(person.user, "task_due", "all-actions", {"id": 1, "text": "x", "due": ""}, every)
    result = await deliver_alerts(chat.app.bot, settings, Pacer(), clock=lambda: DAY)
    assert result.delivered == 2 and not result.errors
    patterns = _callback_patterns(chat)
    for person, column in ((alice, 0), (olga, 1)):
        [sent] = chat.sent_to(person)
        wanted = [(EXPECTED[kind][column], EXPECTED[kind][2].format(target)) for kind in ActionKind]
        assert sent.buttons == [wanted[i : i + 2] for i in range(0, len(wanted), 2)]
        for _, data in wanted:  # every button reaches a handler of the real Application
            assert any(p.match(data) for p in patterns), data
    # ... which understands it and checks the presser's right on the record: a salesperson
    # is refused, or told there is no such record she may see (or asked the dispute's
    # reason first), never that the button is invalid.
    [sent] = chat.sent_to(alice)
    for _, data in [b for row in sent.buttons for b in row]:
        [answer] = [r.text for r in await alice.presses_data(data, sent.message_id or 1)]
        assert answer and "no longer valid" not in answer, (data, answer)
        assert "that you may see" in answer or "Only " in answer or "Reason code?" in answer, (data, answer)


async def test_a_reminder_written_by_storage_carries_an_action_and_its_button_completes_the_task(
    chat: ChatHarness, settings: Settings
) -> None:
    alice = await chat.user("alice", Role.SALES)
    bob = await chat.user("bob", Role.SALES)
    assert alice.user is not None
    task = await Task.create(
        text="Call Ann back", assignee_id=alice.user.id, due_at=DAY + timedelta(minutes=5)
    )
    assert await task_reminders(DAY) == 1
    alert = await Alert.get(kind="task_due")
    assert alert.buttons == [{"action": "complete_task", "id": task.id}]  # no callback data
    assert actions_of(alert) == [AlertAction(ActionKind.COMPLETE_TASK, task.id)]
    assert (await deliver_alerts(chat.app.bot, settings, Pacer(), clock=lambda: DAY)).delivered == 1
    [sent] = chat.sent_to(alice)
    assert "Call Ann back" in sent.text and sent.buttons == [[("✔ Done", f"task:done:{task.id}")]]
    # Someone else pressing the same data is refused: the right is checked at press time.
    await bob.presses_data(f"task:done:{task.id}")
    assert not (await Task.get(id=task.id)).done
    assert "T" + str(task.id) in bob.last_text
    await alice.presses("Done")
    assert (await Task.get(id=task.id)).done


async def test_a_stored_action_no_longer_understood_is_left_out_and_logged(
    db: str, caplog: pytest.LogCaptureFixture
) -> None:
    olga = await create_user("olga", Role.SALES, telegram_id=11, language="fr")
    alert = await Alert.create(
        user=olga,
        dedupe_key="k",
        kind="task_due",
        params={"id": 5, "text": "x", "due": ""},
        buttons=[
            {"action": "fly_to_the_moon", "id": 5},
            {"action": "complete_task", "id": "5"},
            {"label": "ops.btn_task_done", "data": "task:done:5"},
            {"action": "complete_task", "id": 5},
        ],
    )
    await alert.fetch_related("rerouted_from")
    assert actions_of(alert) == [AlertAction(ActionKind.COMPLETE_TASK, 5)]
    with caplog.at_level(logging.WARNING, logger="bot.delivery"):
        _, markup = render_alert(alert, "fr")
    assert markup is not None
    assert [[(b.text, b.callback_data) for b in row] for row in markup.inline_keyboard] == [
        [("✔ Fait", "task:done:5")]
    ]
    assert "not understood" in caplog.text and "fly_to_the_moon" in caplog.text


def _handler_areas() -> set[str]:
    """The first part of every callback data the bot builds (`cb("po", ...)`) or handles
    (`pattern=r"^(iref|bill):"`)."""
    areas: set[str] = set()
    for path in (ROOT / "bot").rglob("*.py"):
        text = path.read_text()
        areas |= set(re.findall(r'\bcb\(\s*"([a-z_]+)"', text))
        for found in re.findall(r'pattern=r?"\^\(?([a-z_|]+)', text):
            areas |= set(found.split("|"))
    return areas


def test_storage_writes_no_callback_data() -> None:
    """No `area:verb:` string of the bot's handlers appears anywhere in storage/."""
    areas = _handler_areas()
    assert {"po", "si", "pa", "pay", "coll", "task", "deal", "inv"} <= areas
    alternatives = "|".join(sorted(areas))
    callback = re.compile(r"""["'](?:""" + alternatives + r"):[a-z_]+:")
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in sorted((ROOT / "storage").rglob("*.py"))
        if "migrations" not in path.parts  # 0009 names the old data it converts
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if callback.search(line)
    ]
    assert not found, "\n".join(found)
