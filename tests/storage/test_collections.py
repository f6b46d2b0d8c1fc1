"""Collections: overdue invoices, dunning levels once each, pauses, catch-up, visibility."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.alerts import ActionKind, AlertAction, actions_of
from storage.collections import (
    Company,
    close_for_invoice,
    dunning_level,
    list_collections,
    log_call,
    promise_to_pay,
    scan_overdue,
    send_reminder_now,
    set_disputed,
)
from storage.errors import InvalidInput, NotFound
from storage.models import (
    Alert,
    CollectionEvent,
    CollectionStatus,
    CollectionTask,
    Contact,
    Invoice,
    InvoiceStatus,
    OutboxAttachment,
    OutboxEmail,
    Role,
    User,
)
from storage.users import create_user

COMPANY = Company(
    name="Entonnoir SAS", email="factures@entonnoir.example", iban="FR7630006000011234567890189"
)
DUE = date(2026, 3, 1)
NOW = datetime(2026, 3, 1, 9, tzinfo=UTC)


def day(n: int) -> date:
    return DUE + timedelta(days=n)


async def make_invoice(
    owner: User,
    *,
    lang: str = "fr",
    number: str = "F2026-00001",
    status: InvoiceStatus = InvoiceStatus.ISSUED,
    due: date = DUE,
    email: str | None = "compta@client.example",
) -> Invoice:
    contact = await Contact.create(name="Client SA", owner=owner, billing_email=email, invoice_language=lang)
    return await Invoice.create(
        contact=contact,
        owner=owner,
        status=status,
        number=number,
        due_date=due,
        issue_date=due - timedelta(days=30),
        total_gross_cents=1_200_00,
        currency="EUR",
    )


async def scan(n: int) -> object:
    return await scan_overdue(day(n), NOW + timedelta(days=n), COMPANY)


def test_levels_by_days_late() -> None:
    assert [dunning_level(DUE, day(n)) for n in (0, 1, 14, 15, 29, 30, 44, 45, 400)] == [
        0,
        1,
        1,
        2,
        2,
        3,
        3,
        4,
        4,
    ]


def test_promise_pauses_until_the_date_passes_and_dispute_stops() -> None:
    assert dunning_level(DUE, day(20), promised_date=day(25)) == 0
    assert dunning_level(DUE, day(25), promised_date=day(25)) == 0
    assert dunning_level(DUE, day(26), promised_date=day(25)) == 2
    assert dunning_level(DUE, day(60), disputed=True) == 0


@given(st.integers(-100, 400), st.integers(0, 400))
def test_level_never_decreases_with_time(start: int, later: int) -> None:
    assert dunning_level(DUE, day(start)) <= dunning_level(DUE, day(start + later))


async def test_not_overdue_on_the_due_date(db: str) -> None:
    alice = await create_user("alice", Role.SALES, telegram_id=1)
    await make_invoice(alice)
    result = await scan(0)
    assert str(result).startswith("0 tasks opened")
    assert not await CollectionTask.exists()


async def test_overdue_opens_one_task_alerting_the_owner_with_buttons(db: str) -> None:
    alice = await create_user("alice", Role.SALES, telegram_id=1)
    invoice = await make_invoice(alice)
    await make_invoice(alice, number="F2026-00002", status=InvoiceStatus.PAID)
    await make_invoice(alice, number="F2026-00003", status=InvoiceStatus.DRAFT)
    await scan(1)
    await scan(1)
    task = await CollectionTask.get(invoice_id=invoice.id)
    assert task.assignee_id == alice.id and task.level == 1
    assert await CollectionTask.all().count() == 1
    alert = await Alert.get(kind="overdue")
    assert alert.user_id == alice.id
    assert alert.params["amount_cents"] == 1_200_00 and alert.params["due_date"] == "2026-03-01"
    assert actions_of(alert) == [
        AlertAction(ActionKind.SEND_REMINDER, task.id),
        AlertAction(ActionKind.LOG_CALL, task.id),
        AlertAction(ActionKind.PROMISE_TO_PAY, task.id),
        AlertAction(ActionKind.TOGGLE_DISPUTE, task.id),
        AlertAction(ActionKind.OPEN_OVERDUE_INVOICE, task.id),
    ]


async def test_each_level_runs_exactly_once_over_sixty_days(db: str) -> None:
    boss = await create_user("boss", Role.MANAGER, telegram_id=2)
    alice = await create_user("alice", Role.SALES, telegram_id=1)
    invoice = await make_invoice(alice)
    for n in range(0, 61):
        await scan(n)
        await scan(n)  # the job runs hourly: twice a day changes nothing
    emails = await OutboxEmail.filter(invoice_id=invoice.id).order_by("id")
    assert [e.dedupe_key for e in emails] == [
        f"dunning:{invoice.id}:1",
        f"dunning:{invoice.id}:2",
        f"dunning:{invoice.id}:3",
    ]
    assert emails[0].subject == "Rappel : facture F2026-00001"
    assert "Mise en demeure" in emails[2].subject
    assert "40,00\xa0€" in emails[2].body_text and "taux de 12 % l'an" in emails[2].body_text
    assert emails[0].to_addrs == ["compta@client.example"]
    atts = await OutboxAttachment.filter(email_id=emails[0].id)
    assert [(a.filename, a.mimetype, a.invoice_id) for a in atts] == [
        ("F2026-00001.pdf", "application/pdf", invoice.id)
    ]
    escalations = await Alert.filter(kind="escalated")
    assert [a.user_id for a in escalations] == [boss.id]
    kinds = [e.kind for e in await CollectionEvent.all().order_by("id")]
    assert kinds == ["opened", "level1", "level2", "level3", "level4"]


async def test_english_client_gets_english_text(db: str) -> None:
    alice = await create_user("alice", Role.SALES, telegram_id=1)
    await make_invoice(alice, lang="en")
    await scan(1)
    email = await OutboxEmail.get()
    assert email.subject == "Reminder: invoice F2026-00001"
    assert "€1,200.00" in email.body_text


async def test_catch_up_after_downtime_sends_only_the_highest_email(db: str) -> None:
    boss = await create_user("boss", Role.MANAGER, telegram_id=2)
    alice = await create_user("alice", Role.SALES, telegram_id=1)
    invoice = await make_invoice(alice)
    await scan(50)  # first run after being down since before the due date
    assert [e.dedupe_key for e in await OutboxEmail.all()] == [f"dunning:{invoice.id}:3"]
    assert await Alert.filter(kind="escalated", user_id=boss.id).count() == 1
    assert await Alert.filter(kind="overdue").count() == 1
    events = [(e.kind, e.note) for e in await CollectionEvent.all().order_by("id")]
    assert events == [
        ("opened", ""),
        ("level1", "skipped"),
        ("level2", "skipped"),
        ("level3", "email queued"),
        ("level4", "escalated"),
    ]
    await scan(51)
    assert await OutboxEmail.all().count() == 1


async def test_promise_pauses_then_levels_resume(db: str) -> None:
    alice = await create_user("alice", Role.SALES, telegram_id=1)
    await make_invoice(alice)
    await scan(1)
    task = await CollectionTask.get()
    await promise_to_pay(alice, task.id, day(20), day(2), NOW)
    for n in range(2, 21):
        await scan(n)
    assert await OutboxEmail.all().count() == 1
    await scan(21)
    assert await OutboxEmail.all().count() == 2
    with pytest.raises(InvalidInput):
        await promise_to_pay(alice, task.id, day(3), day(22), NOW)


async def test_dispute_stops_levels_until_resolved(db: str) -> None:
    alice = await create_user("alice", Role.SALES, telegram_id=1)
    await make_invoice(alice)
    await scan(1)
    task = await CollectionTask.get()
    await set_disputed(alice, task.id, True, NOW, "wrong quantity")
    for n in range(2, 40):
        await scan(n)
    assert await OutboxEmail.all().count() == 1
    await set_disputed(alice, task.id, False, NOW)
    await scan(40)
    keys = [e.dedupe_key for e in await OutboxEmail.all().order_by("id")]
    assert keys[-1].endswith(":3") and len(keys) == 2


async def test_manual_reminder_once_a_day_and_call_log(db: str) -> None:
    alice = await create_user("alice", Role.SALES, telegram_id=1)
    await make_invoice(alice)
    await scan(3)
    task = await CollectionTask.get()
    await send_reminder_now(alice, task.id, day(3), NOW, COMPANY)
    with pytest.raises(InvalidInput):
        await send_reminder_now(alice, task.id, day(3), NOW, COMPANY)
    assert await OutboxEmail.all().count() == 2
    with pytest.raises(InvalidInput):
        await log_call(alice, task.id, "   ", NOW)
    await log_call(alice, task.id, "Promised a cheque", NOW)
    assert await CollectionEvent.filter(kind="call", note="Promised a cheque").exists()


async def test_no_billing_email_is_one_sentence_and_writes_nothing(db: str) -> None:
    alice = await create_user("alice", Role.SALES, telegram_id=1)
    await make_invoice(alice, email=None)
    await scan(3)
    assert await Alert.filter(kind="dunning_no_email").count() == 1
    task = await CollectionTask.get()
    with pytest.raises(InvalidInput) as err:
        await send_reminder_now(alice, task.id, day(3), NOW, COMPANY)
    assert err.value.code == "no_billing_email"
    assert not await OutboxEmail.exists()


async def test_visibility_and_oldest_first(db: str) -> None:
    alice = await create_user("alice", Role.SALES, telegram_id=1)
    bob = await create_user("bob", Role.SALES, telegram_id=2)
    carol = await create_user("carol", Role.COLLECTIONS, telegram_id=3)
    await make_invoice(alice, number="F1", due=day(-5))
    await make_invoice(bob, number="F2", due=day(-20))
    await scan(0)
    assert [r.number for r in await list_collections(carol, day(0))] == ["F2", "F1"]
    rows = await list_collections(alice, day(0))
    assert [(r.number, r.days_overdue, r.due_cents) for r in rows] == [("F1", 5, 1_200_00)]
    bobs = await CollectionTask.get(invoice__number="F2")
    with pytest.raises(NotFound):
        await log_call(alice, bobs.id, "hi", NOW)
    await log_call(carol, bobs.id, "called", NOW)


async def test_payment_closes_the_task_and_tells_people(db: str) -> None:
    alice = await create_user("alice", Role.SALES, telegram_id=1)
    carol = await create_user("carol", Role.COLLECTIONS, telegram_id=3)
    invoice = await make_invoice(alice)
    await scan(5)
    invoice.status, invoice.paid_cents = InvoiceStatus.PAID, invoice.total_gross_cents
    await invoice.save()
    result = await scan(6)
    assert "1 closed" in str(result)
    task = await CollectionTask.get()
    assert task.status == CollectionStatus.CLOSED
    told = {a.user_id for a in await Alert.filter(kind="collection_closed")}
    assert told == {alice.id, carol.id}
    assert not await close_for_invoice(invoice.id, NOW)
    for n in range(6, 60):
        await scan(n)
    assert await OutboxEmail.all().count() == 1


async def test_a_payment_committed_during_the_scan_stops_the_reminder(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import storage.collections as collections

    alice = await create_user("alice", Role.SALES, telegram_id=1)
    invoice = await make_invoice(alice)
    await scan(5)  # task opened, level 1 email
    read_pending = collections._pending_tasks

    async def paid_meanwhile(today: date, levels: tuple[int, ...]) -> list[CollectionTask]:
        pending = await read_pending(today, levels)
        assert [t.invoice_id for t in pending] == [invoice.id]
        # The bank's payment commits between the scan's read and its transaction.
        await Invoice.filter(id=invoice.id).update(
            status=InvoiceStatus.PAID, paid_cents=invoice.total_gross_cents
        )
        return pending

    monkeypatch.setattr(collections, "_pending_tasks", paid_meanwhile)
    await scan(16)
    keys = [e.dedupe_key for e in await OutboxEmail.filter(invoice_id=invoice.id)]
    assert keys == [f"dunning:{invoice.id}:1"]
    assert (await CollectionTask.get()).level == 1
