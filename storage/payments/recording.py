"""Record a message's bank entries once each, match and settle them, in ONE transaction.

One bank entry is recorded once however often its mail is read, and never twice in the
table (`entry_ref` is unique, see `storage.payments.identity`). Debits are recorded and
never settle. Before any matching, the account rule (`storage.payments.accounts`): with
`our_accounts`, a credit settles by itself only when it was booked on one of them.

Every invoice a statement may change is locked (in id order) before its balance is read;
a statement PostgreSQL aborts to break a deadlock runs again from the start
(`again_if_aborted`): all of it was rolled back, its effects being rows of the same
transaction, so nothing is done twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TypeVar

from tortoise.transactions import in_transaction

from storage.models import InboxMessage, PaymentDirection, PaymentStatus
from storage.payments.accounts import account_problem, clean_iban, compact_account
from storage.payments.batch import Batch, PaymentRow, RecordOutcome
from storage.payments.identity import entry_key, legacy_key
from storage.payments.invoices import (
    InvoiceView,
    existing_keys,
    invoice_of_original,
    lock_invoices,
    lookup_invoices,
    on_postgres,
    payer_candidates,
)
from storage.payments.matching import match, names_known, open_cents
from storage.payments.notes import english
from storage.payments.notices import PaymentNotice
from storage.payments.settling import credited, settle, settle_return
from storage.payments.writes import write

__all__ = ["ATTEMPTS", "again_if_aborted", "record", "record_notices", "retryable"]

MAX_REMITTANCE = 1000
# PostgreSQL aborts a transaction with these to break a deadlock or a serialisation conflict.
_RETRY_STATES = frozenset({"40P01", "40001"})
ATTEMPTS = 3

log = logging.getLogger(__name__)
T = TypeVar("T")


async def record_notices(
    notices: Sequence[PaymentNotice],
    *,
    source: InboxMessage,
    now: datetime,
    our_accounts: Sequence[str] | None = None,
) -> RecordOutcome:
    """Record a message's notices once each, match and settle them, in ONE transaction.

    With `our_accounts`, a credit settles only when its `account_iban` is one of them;
    the others stay unmatched with the reason (None: the caller already checked)."""

    async def run() -> RecordOutcome:
        async with in_transaction():
            return (await record(notices, source, now, our_accounts)).outcome

    return await again_if_aborted(run)


def retryable(exc: BaseException) -> bool:
    """Did PostgreSQL abort the transaction only to break a deadlock or a serialisation
    conflict (SQLSTATE 40P01 / 40001, raw or wrapped by the ORM)?"""
    seen: BaseException | None = exc
    while seen is not None:
        if getattr(seen, "sqlstate", None) in _RETRY_STATES:
            return True
        seen = seen.__cause__
    return False


async def again_if_aborted(run: Callable[[], Awaitable[T]], attempts: int = ATTEMPTS) -> T:
    """Run a whole transaction again when PostgreSQL aborted it to break a deadlock: all of
    it was rolled back (its effects are rows of the same transaction), so nothing is done
    twice. Other errors, and the last attempt's, are raised."""
    for attempt in range(1, attempts + 1):
        try:
            return await run()
        except Exception as exc:
            if attempt == attempts or not retryable(exc):
                raise
            log.warning(
                "transaction aborted by the database (%s), attempt %d of %d",
                type(exc).__name__,
                attempt,
                attempts,
            )
            await asyncio.sleep(0.05 * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


async def _fresh(notices: Sequence[PaymentNotice], batch: Batch) -> list[tuple[str, PaymentNotice]]:
    """The notices not recorded yet (by key, also under their legacy key), once each."""
    keyed = [(entry_key(n), n) for n in notices]
    existing = await existing_keys([k for k, _ in keyed])
    legacy = {k: legacy_key(n) for k, n in keyed if k.startswith("bank:")}
    if legacy:  # entries recorded before the account was part of the key
        known = await existing_keys(sorted({v for v in legacy.values() if v}))
        existing.update(k for k, v in legacy.items() if v in known)
    fresh: list[tuple[str, PaymentNotice]] = []
    seen: set[str] = set()
    for key, notice in keyed:
        if key in existing or key in seen:
            batch.outcome.duplicates += 1
        else:
            seen.add(key)
            fresh.append((key, notice))
    return fresh


def _payment(key: str, notice: PaymentNotice, source: InboxMessage) -> PaymentRow:
    """The payment row of a notice, unmatched until a rule settles it."""
    account = notice.account_iban
    return PaymentRow(
        entry_ref=key,
        direction=PaymentDirection(notice.direction),
        status=PaymentStatus.UNMATCHED,
        amount_cents=notice.amount_cents,
        currency=notice.currency.upper(),
        booking_date=notice.booking_date,
        payer_name=(notice.payer_name or "")[:200] or None,
        payer_iban=clean_iban(notice.payer_iban),
        reference=(notice.reference or "")[:140] or None,
        remittance=(notice.remittance or "")[:MAX_REMITTANCE] or None,
        inbox_message_id=source.id,
        account=compact_account(account)[:50] if account else None,
        return_code=(notice.return_code or "")[:8] or None,
        note=english([notice.warning]) if notice.warning else None,
        notes=[notice.warning] if notice.warning else [],
    )


def _held_back(
    batch: Batch, payment: PaymentRow, account: str | None, our_accounts: Sequence[str] | None
) -> bool:
    """Hold a debit, a credit about another (or no) account, or a reversed debit."""
    if payment.direction == PaymentDirection.DEBIT:
        payment.status = PaymentStatus.IGNORED
        batch.outcome.ignored += 1
        return True
    problem = None if our_accounts is None else account_problem(account, our_accounts)
    if problem is not None:
        key = (
            ["held.no_account", {}]
            if not account
            else ["inbox.foreign_account", {"account": compact_account(account)}]
        )
        batch.hold(payment.entry_ref, problem, key)
        return True
    if payment.direction == PaymentDirection.CREDIT and payment.return_code:
        batch.hold(
            payment.entry_ref,
            f"money coming back from a reversed debit ({payment.return_code})",
            ["held.reversed_debit", {"code": payment.return_code}],
        )
        return True
    return False


async def record(
    notices: Sequence[PaymentNotice],
    source: InboxMessage,
    now: datetime,
    our_accounts: Sequence[str] | None,
) -> Batch:
    """Record, match and settle inside the caller's transaction; the batch tells what."""
    batch = Batch(now=now)
    fresh = await _fresh(notices, batch)
    by_rf, by_number = await lookup_invoices(n for _, n in fresh if n.direction != PaymentDirection.DEBIT)
    payments: list[PaymentRow] = []
    todo: list[tuple[PaymentRow, PaymentNotice]] = []
    for key, notice in fresh:
        payment = _payment(key, notice, source)
        payments.append(payment)
        if not _held_back(batch, payment, notice.account_iban, our_accounts):
            todo.append((payment, notice))
    # Every invoice this batch may change, locked (in id order) before its balance is read:
    # an invoice changed by another transaction meanwhile is read as that one committed it.
    others = await _other_candidates(todo, by_rf, by_number)
    by_rf, by_number, others = await _locked(by_rf, by_number, others)
    for payment, notice in todo:
        found = others.get(payment.entry_ref, [])
        if payment.direction == PaymentDirection.REVERSAL:
            await settle_return(batch, payment, notice, by_rf, by_number, found)
            continue
        chosen = match(notice, by_rf, by_number, batch.invoices, found)
        if chosen.note:
            payment.notes = [*payment.notes, chosen.note]
            payment.note = english(payment.notes)
        if chosen.rule == "credited":
            await credited(batch, payment, chosen.invoices[0])
            continue
        if not chosen.invoices:
            batch.outcome.unmatched += 1
            continue
        several = len(chosen.invoices) > 1
        for invoice in chosen.invoices:
            settle(batch, payment, invoice, chosen.rule, open_cents(invoice) if several else None)
    batch.outcome.recorded = len(payments)
    await write(batch, payments)
    return batch


async def _other_candidates(
    todo: list[tuple[PaymentRow, PaymentNotice]],
    by_rf: dict[str, InvoiceView],
    by_number: dict[str, InvoiceView],
) -> dict[str, list[InvoiceView]]:
    """The invoices an entry naming none may change, read without locks (they are locked
    and read again by `_locked`): the payer's open invoices for a credit, the invoice the
    mirrored credit settled for a return."""
    out: dict[str, list[InvoiceView]] = {}
    for payment, notice in todo:
        if payment.direction == PaymentDirection.REVERSAL:
            original = await invoice_of_original(payment.payer_iban, payment.amount_cents, payment.currency)
            if original is not None:
                out[payment.entry_ref] = [original]
        elif not names_known(notice, by_rf, by_number):
            out[payment.entry_ref] = await payer_candidates(notice)
    return out


async def _locked(
    by_rf: dict[str, InvoiceView],
    by_number: dict[str, InvoiceView],
    others: dict[str, list[InvoiceView]],
) -> tuple[dict[str, InvoiceView], dict[str, InvoiceView], dict[str, list[InvoiceView]]]:
    """The same invoices read again under a row lock (PostgreSQL: one `SELECT ... FOR
    UPDATE` in ascending id order, so two batches never wait for each other in a cycle);
    one object per invoice, shared by every map. On SQLite the transaction already holds
    the only connection: the rows were read inside it and nobody else writes meanwhile."""
    seen: dict[int, InvoiceView] = {}
    for inv in [*by_rf.values(), *by_number.values(), *(i for f in others.values() for i in f)]:
        seen.setdefault(inv.id, inv)
    fresh = await lock_invoices(sorted(seen)) if on_postgres() else seen

    def again(inv: InvoiceView) -> InvoiceView | None:
        return fresh.get(inv.id)

    return (
        {k: v for k, inv in by_rf.items() if (v := again(inv)) is not None},
        {k: v for k, inv in by_number.items() if (v := again(inv)) is not None},
        {k: [v for inv in found if (v := again(inv)) is not None] for k, found in others.items()},
    )
