"""Money is never lost or invented when two transactions change one invoice at once.

On a real PostgreSQL (READ COMMITTED), with two real concurrent transactions on two pooled
connections. The interleaving is forced, not hoped for: a third transaction holds the
invoice's row lock while the two contenders start one after the other, and each is let
go only once PostgreSQL shows it waiting for a lock. Without row locks taken before the
balances are read, both contenders read the invoice before either writes it, and the
second write overwrites the first (a payment lost, a cancelled invoice paid again).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import date
from typing import Any

import pytest
from asyncpg.exceptions import DeadlockDetectedError, SerializationError, UniqueViolationError
from tortoise import connections
from tortoise.exceptions import OperationalError
from tortoise.transactions import in_transaction

from storage.errors import Conflict
from storage.invoicing import credit_invoice, draft_from_deal, issue_invoice
from storage.models import (
    Alert,
    InboxMessage,
    InboxStatus,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
    Role,
)
from storage.payments import ingest_message, match_payment, record_notices, retryable
from storage.payments.notices import Direction
from storage.users import create_user
from tests.billing_data import RENDER, SELLER, make_billing
from tests.payment_fixtures import NOW, client, credit, issued, owner, rf

TODAY = date(2026, 3, 2)
ONLY_POSTGRES = pytest.mark.parametrize("any_db", ["postgres"], indirect=True)


async def _source(mid: str) -> InboxMessage:
    return await InboxMessage.create(message_id=mid, folder="INBOX", status=InboxStatus.PROCESSED)


async def _waiting_for_locks() -> int:
    conn = connections.get("default")
    # Inside a transaction pg_stat_activity is read once and cached: start a fresh read.
    await conn.execute_query("SELECT pg_stat_clear_snapshot()")
    rows = await conn.execute_query_dict(
        "SELECT count(*) AS n FROM pg_stat_activity "
        "WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    return int(rows[0]["n"])


async def _until_waiting(count: int) -> None:
    for _ in range(2000):
        if await _waiting_for_locks() >= count:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"{count} transactions never waited for a lock")


async def _race(invoice_id: int, first: Awaitable[Any], second: Awaitable[Any]) -> list[Any]:
    """Run `first` then `second` against an invoice whose row is held by a third
    transaction until both wait for a lock; their results (or exceptions)."""
    held, release = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with in_transaction() as conn:
            await conn.execute_query('SELECT "id" FROM "invoices" WHERE "id" = $1 FOR UPDATE', [invoice_id])
            held.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    await held.wait()
    one = asyncio.ensure_future(first)
    await _until_waiting(1)
    two = asyncio.ensure_future(second)
    await _until_waiting(2)
    release.set()
    await holder
    return list(await asyncio.gather(one, two, return_exceptions=True))


@ONLY_POSTGRES
async def test_two_concurrent_statements_paying_one_invoice_add_up(any_db: str) -> None:
    who = await owner()
    acme = await client("ACME SA", who)
    inv = await issued(1, acme, who, 100_00)
    s1, s2 = await _source("<a@bank>"), await _source("<b@bank>")

    outcomes = await _race(
        inv.id,
        record_notices([credit(30_00, ref=rf(1), entry="E1")], source=s1, now=NOW),
        record_notices([credit(50_00, ref=rf(1), entry="E2")], source=s2, now=NOW),
    )

    assert [o.settled for o in outcomes] == [1, 1]
    again = await Invoice.get(id=inv.id)
    assert (again.paid_cents, again.status) == (80_00, InvoiceStatus.PARTIALLY_PAID)
    assert await Payment.filter(invoice_id=inv.id, status=PaymentStatus.MATCHED).count() == 2


@ONLY_POSTGRES
async def test_two_statements_in_opposite_orders_never_deadlock(any_db: str) -> None:
    who = await owner()
    acme = await client("ACME SA", who)
    one, two = await issued(1, acme, who, 100_00), await issued(2, acme, who, 100_00)
    s1, s2 = await _source("<a@bank>"), await _source("<b@bank>")

    outcomes = await _race(
        one.id,
        record_notices(
            [credit(10_00, ref=rf(2), entry="A2"), credit(10_00, ref=rf(1), entry="A1")], source=s1, now=NOW
        ),
        record_notices(
            [credit(20_00, ref=rf(1), entry="B1"), credit(20_00, ref=rf(2), entry="B2")], source=s2, now=NOW
        ),
    )

    assert [o.settled for o in outcomes] == [2, 2]
    assert [i.paid_cents for i in await Invoice.filter(id__in=[one.id, two.id]).order_by("id")] == [
        30_00,
        30_00,
    ]


async def _issued_invoice() -> tuple[Any, Invoice]:
    b = await make_billing()
    draft = await draft_from_deal(b.alice, b.deal.id, SELLER)
    inv = (await issue_invoice(b.alice, draft.id, SELLER, TODAY, render=RENDER)).invoice
    return b, inv


@ONLY_POSTGRES
@pytest.mark.parametrize("credit_first", [True, False])
async def test_a_payment_racing_a_credit_note_is_owed_back_and_the_invoice_stays_cancelled(
    any_db: str,
    credit_first: bool,
) -> None:
    b, inv = await _issued_invoice()
    source = await _source("<pay@bank>")
    crediting = credit_invoice(
        b.alice, inv.number or "", "Erreur de prix", SELLER, TODAY, render=RENDER, now=NOW
    )
    paying = record_notices(
        [credit(inv.total_gross_cents, ref=inv.rf_reference, entry="P1")], source=source, now=NOW
    )

    first, second = (crediting, paying) if credit_first else (paying, crediting)
    outcomes = await _race(inv.id, first, second)

    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    again = await Invoice.get(id=inv.id)
    assert again.status == InvoiceStatus.CANCELLED
    credit_note = await Invoice.get(credit_of_id=inv.id)
    refund = await Refund.get(credit_note_id=credit_note.id)
    assert (refund.amount_cents, refund.status, refund.invoice_id) == (
        inv.total_gross_cents,
        RefundStatus.OWED,
        inv.id,
    )
    payment = await Payment.get(entry_ref__endswith="P1")
    assert (payment.status, payment.invoice_id) == (PaymentStatus.MATCHED, inv.id)
    if credit_first:  # the payment found the invoice cancelled: it went to the refund
        assert payment.matched_by == "credited"
        told = {a.user_id for a in await Alert.filter(kind="payment_on_credited")}
        assert told == {b.alice.id, b.boss.id}


@ONLY_POSTGRES
async def test_a_second_payment_after_the_credit_adds_to_the_refund_owed(any_db: str) -> None:
    b, inv = await _issued_invoice()
    half = inv.total_gross_cents // 2
    await record_notices(
        [credit(half, ref=inv.rf_reference, entry="P1")], source=await _source("<p1@bank>"), now=NOW
    )
    credit_note = await credit_invoice(
        b.alice, inv.number or "", "Erreur", SELLER, TODAY, render=RENDER, now=NOW
    )
    outcome = await record_notices(
        [credit(half, ref=inv.rf_reference, entry="P2")], source=await _source("<p2@bank>"), now=NOW
    )

    assert (outcome.settled, outcome.credited, outcome.unmatched) == (0, 1, 0)
    refund = await Refund.get(credit_note_id=credit_note.id)
    assert (refund.amount_cents, refund.status) == (2 * half, RefundStatus.OWED)
    again = await Invoice.get(id=inv.id)
    assert (again.status, again.paid_cents) == (InvoiceStatus.CANCELLED, half)


@ONLY_POSTGRES
async def test_a_payment_after_the_refund_was_made_waits_for_a_person(any_db: str) -> None:
    b, inv = await _issued_invoice()
    await record_notices(
        [credit(inv.total_gross_cents, ref=inv.rf_reference, entry="P1")],
        source=await _source("<p1@bank>"),
        now=NOW,
    )
    credit_note = await credit_invoice(
        b.alice, inv.number or "", "Erreur", SELLER, TODAY, render=RENDER, now=NOW
    )
    await Refund.filter(credit_note_id=credit_note.id).update(status=RefundStatus.DONE)
    outcome = await record_notices(
        [credit(100, ref=inv.rf_reference, entry="P2")], source=await _source("<p2@bank>"), now=NOW
    )

    assert (outcome.credited, outcome.unmatched) == (0, 1)
    payment = await Payment.get(entry_ref__endswith="P2")
    assert (payment.status, payment.invoice_id) == (PaymentStatus.UNMATCHED, None)
    held = await Alert.filter(kind="payment_held").first()
    assert held is not None
    assert held.params["reason_key"] == [
        ["held.credited_refunded", {"number": inv.number, "credit_note": credit_note.number}]
    ]
    refund = await Refund.get(credit_note_id=credit_note.id)
    assert refund.amount_cents == inv.total_gross_cents


@ONLY_POSTGRES
async def test_a_manual_match_racing_a_bank_settlement_adds_up(any_db: str) -> None:
    who = await owner()
    boss = await create_user("boss", Role.MANAGER, telegram_id=77, language="en")
    acme = await client("ACME SA", who)
    inv = await issued(1, acme, who, 100_00)
    await record_notices(
        [credit(40_00, payer="Somebody", entry="U1")], source=await _source("<u@bank>"), now=NOW
    )
    unmatched = await Payment.get(entry_ref__endswith="U1")
    assert unmatched.status == PaymentStatus.UNMATCHED

    outcomes = await _race(
        inv.id,
        record_notices([credit(60_00, ref=rf(1), entry="E1")], source=await _source("<e@bank>"), now=NOW),
        match_payment(boss, unmatched.id, "F2026-00001", now=NOW),
    )

    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    again = await Invoice.get(id=inv.id)
    assert (again.paid_cents, again.status) == (100_00, InvoiceStatus.PAID)


@ONLY_POSTGRES
async def test_two_people_matching_one_payment_settle_it_once(any_db: str) -> None:
    who = await owner()
    boss = await create_user("boss", Role.MANAGER, telegram_id=77, language="en")
    acme = await client("ACME SA", who)
    one, two = await issued(1, acme, who, 100_00), await issued(2, acme, who, 100_00)
    await record_notices(
        [credit(40_00, payer="Somebody", entry="U1")], source=await _source("<u@bank>"), now=NOW
    )
    unmatched = await Payment.get(entry_ref__endswith="U1")
    held, release = asyncio.Event(), asyncio.Event()

    async def hold() -> None:  # the payment's row, this time
        async with in_transaction() as conn:
            await conn.execute_query('SELECT "id" FROM "payments" WHERE "id" = $1 FOR UPDATE', [unmatched.id])
            held.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    await held.wait()
    first = asyncio.ensure_future(match_payment(boss, unmatched.id, "F2026-00001", now=NOW))
    await _until_waiting(1)
    second = asyncio.ensure_future(match_payment(boss, unmatched.id, "F2026-00002", now=NOW))
    await _until_waiting(2)
    release.set()
    await holder
    outcomes = await asyncio.gather(first, second, return_exceptions=True)

    assert isinstance(outcomes[1], Conflict) and not isinstance(outcomes[0], BaseException)
    paid = [i.paid_cents for i in await Invoice.filter(id__in=[one.id, two.id]).order_by("id")]
    assert paid == [40_00, 0]


@ONLY_POSTGRES
async def test_a_statement_aborted_to_break_a_deadlock_is_recorded_on_a_second_attempt(
    any_db: str,
) -> None:
    who = await owner()
    acme = await client("ACME SA", who)
    one, two = await issued(1, acme, who, 100_00), await issued(2, acme, who, 100_00)
    holds_two, holds_both, release = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def out_of_order() -> None:  # invoice 2, then invoice 1: the order settlement avoids
        async with in_transaction() as conn:
            await conn.execute_query("SET LOCAL deadlock_timeout = '10s'")  # not the victim
            await conn.execute_query('SELECT 1 FROM "invoices" WHERE "id" = $1 FOR UPDATE', [two.id])
            holds_two.set()
            await _until_waiting(1)  # the statement holds invoice 1 and waits for invoice 2
            await conn.execute_query(
                'SELECT 1 FROM "invoices" WHERE "id" = $1 FOR UPDATE', [one.id]
            )  # granted once the statement is aborted
            holds_both.set()
            await release.wait()

    other = asyncio.create_task(out_of_order())
    await holds_two.wait()
    statement = asyncio.ensure_future(
        ingest_message(
            [credit(30_00, ref=rf(1), entry="E1"), credit(30_00, ref=rf(2), entry="E2")],
            message_id="<dead@bank>",
            folder="INBOX",
            uid=1,
            sender="bank@example.com",
            subject="avis",
            now=NOW,
        )
    )
    both = asyncio.ensure_future(holds_both.wait())
    await asyncio.wait([both, statement, other], timeout=60, return_when=asyncio.FIRST_COMPLETED)
    assert both.done(), (statement.done() and statement.exception(), other.done() and other.exception())
    release.set()
    await other
    _, outcome = await statement

    assert outcome.settled == 2
    assert await InboxMessage.filter(message_id="<dead@bank>").count() == 1
    assert [i.paid_cents for i in await Invoice.filter(id__in=[one.id, two.id]).order_by("id")] == [
        30_00,
        30_00,
    ]
    assert await Payment.all().count() == 2


def test_only_deadlocks_and_serialisation_failures_are_retried() -> None:
    assert retryable(DeadlockDetectedError())
    assert retryable(OperationalError("wrapped")) is False
    wrapped = OperationalError("deadlock")
    wrapped.__cause__ = SerializationError()
    assert retryable(wrapped)
    assert not retryable(UniqueViolationError())


async def test_concurrent_statements_and_a_manual_match_add_up_on_either_database(
    any_db: str,
) -> None:
    """Not forced here: on SQLite the one connection serialises the transactions; on
    PostgreSQL the row locks do. Either way every cent lands once."""
    who = await owner()
    boss = await create_user("boss", Role.MANAGER, telegram_id=77, language="en")
    acme = await client("ACME SA", who)
    inv = await issued(1, acme, who, 100_00)
    await record_notices(
        [credit(10_00, payer="Somebody", entry="U1")], source=await _source("<u@bank>"), now=NOW
    )
    unmatched = await Payment.get(entry_ref__endswith="U1")
    sources = [await _source(f"<s{i}@bank>") for i in range(3)]

    outcomes = await asyncio.gather(
        *(
            record_notices([credit(20_00, ref=rf(1), entry=f"E{i}")], source=s, now=NOW)
            for i, s in enumerate(sources)
        ),
        match_payment(boss, unmatched.id, "F2026-00001", now=NOW),
    )

    assert sum(o.settled for o in outcomes[:3]) == 3
    again = await Invoice.get(id=inv.id)
    assert (again.paid_cents, again.status) == (70_00, InvoiceStatus.PARTIALLY_PAID)


@ONLY_POSTGRES
async def test_a_refund_raised_meanwhile_is_not_closed_by_a_transfer_of_the_old_amount(
    any_db: str,
) -> None:
    b, inv = await _issued_invoice()
    await record_notices(
        [credit(inv.total_gross_cents, ref=inv.rf_reference, entry="P1")],
        source=await _source("<p1@bank>"),
        now=NOW,
    )
    credit_note = await credit_invoice(
        b.alice, inv.number or "", "Erreur", SELLER, TODAY, render=RENDER, now=NOW
    )
    refund = await Refund.get(credit_note_id=credit_note.id)
    raised, release = asyncio.Event(), asyncio.Event()

    async def raise_refund() -> None:  # as a payment on the credited invoice does
        async with in_transaction() as conn:
            await conn.execute_query(
                'UPDATE "refunds" SET "amount_cents" = "amount_cents" + 500 WHERE "id" = $1', [refund.id]
            )
            raised.set()
            await release.wait()

    other = asyncio.create_task(raise_refund())
    await raised.wait()
    paid_back = credit(
        refund.amount_cents,
        remittance=f"Remboursement {credit_note.number}",
        entry="OUT1",
        direction=Direction.DEBIT,
    )
    statement = asyncio.ensure_future(
        record_notices([paid_back], source=await _source("<out@bank>"), now=NOW)
    )
    await _until_waiting(1)
    release.set()
    await other
    await statement

    again = await Refund.get(id=refund.id)
    assert (again.status, again.amount_cents) == (RefundStatus.OWED, refund.amount_cents + 500)
