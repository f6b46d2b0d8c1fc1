"""Payments read from the bank's mail: record once, match to invoices, settle, quarantine.

Matching, in order (`match` names the rule in `Payment.matched_by`):

    rf       the structured creditor reference (ISO 11649 "RF..") equals `Invoice.rf_reference`
    number   exactly one invoice number found in the remittance text (spaces, dashes, case free)
    payer    exactly one open invoice of the payer (IBAN seen before on the client, or the
             client's name) whose remaining balance equals the amount
    manual   a person chose the invoice (`match_payment`)

Before any of that, the account rule: a credit settles by itself only when the bank says it
was booked on OUR account (`account_problem`). A genuine bank message about another account
(a client forwarding the bank's notice of a transfer between its own accounts, with our RF
reference) is quarantined by the inbox; a notice naming no account stays unmatched for a
human with the reason.

Several references in one entry (a batch without per-transaction amounts, or a text naming
several invoices) settle them all only when their open amounts add up exactly to the entry;
otherwise the payment waits for a person, with the candidates written in its note.

Anything else stays an unmatched payment for a human. Debits are recorded and never settle.
A return or reversal of a credit (camt RvslInd / RRTN / AC04..., MT940 RC or /RTRN/) that
names a settled invoice, or that mirrors the credit which settled one, reopens the returned
amount: the invoice goes back to open or partially paid, its collection task reopens, and
the owner, collections and managers are told the reason in words. A return tied to no
invoice waits for a person, with an alert.

One bank entry is recorded once however often its mail is read, and never twice in the
table (`entry_ref` is unique): its key (`entry_key`) is the bank's own id of the entry with
the account, else a fingerprint of the account, statement, booking date, amount,
direction and the entry's own details — never a customer reference alone, never the email.

Settling updates the invoice balance and status, remembers the payer's IBAN on the client,
alerts the invoice owner, and closes any open collection task on the invoice — all in the
transaction that records the payment. Lookups are done in bulk so a 10,000-entry statement
costs a handful of queries per kind, not one per entry.

Several instances on one PostgreSQL: every path that changes an invoice's balance or status
(a statement, `/match`, a return) locks the invoice rows before reading them — a statement
with ONE `SELECT ... FOR UPDATE` of all its candidates in ascending id order — so
concurrent settlements add up and a credit note's cancellation is never overwritten. A
payment that lands on an invoice cancelled by a credit note is owed back: it is added to
that credit note's refund (`_credited`). A statement PostgreSQL aborts to break a deadlock
runs again from the start (`again_if_aborted`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from tortoise.expressions import F, Q
from tortoise.fields import JSONField
from tortoise.transactions import in_transaction

from storage.alerts import ActionKind, AlertAction
from storage.collections import close_for_invoice
from storage.einvoicing.lifecycle import CashedPayment, queue_cashed
from storage.errors import Conflict, Forbidden, NotFound
from storage.models import (
    Alert,
    AuditLog,
    CollectionEvent,
    CollectionStatus,
    CollectionTask,
    Contact,
    InboxMessage,
    InboxStatus,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    OutboxEmail,
    OutboxStatus,
    PayerAccount,
    Payment,
    PaymentDirection,
    PaymentStatus,
    Refund,
    RefundStatus,
    Role,
    User,
)
from storage.refunds import REFUND_ROLES, match_refund_debits

__all__ = [
    "OPEN_STATUSES",
    "PAYMENT_ROLES",
    "NoticeLike",
    "RecordOutcome",
    "account_is_ours",
    "account_problem",
    "again_if_aborted",
    "allocate_batch",
    "can_see_payments",
    "compact_rf",
    "entry_key",
    "get_payment",
    "ingest_message",
    "invoice_numbers_in",
    "likely_invoices",
    "list_payments",
    "list_quarantine",
    "lock_invoices",
    "masked_account_matches",
    "match_payment",
    "quarantine_message",
    "record_notices",
    "reopen_amounts",
    "retryable",
    "rf_references_in",
    "settle_amounts",
    "store_unrecognised",
]

OPEN_STATUSES = (InvoiceStatus.ISSUED, InvoiceStatus.SENT, InvoiceStatus.PARTIALLY_PAID)
PAYMENT_ROLES = frozenset({Role.ADMIN, Role.MANAGER, Role.COLLECTIONS})
QUARANTINE_ROLES = (Role.ADMIN, Role.MANAGER)
UNMATCHED_ROLES = (Role.MANAGER, Role.COLLECTIONS)
_CHUNK = 500
MAX_STORED_RAW = 5 * 1024 * 1024
MAX_REMITTANCE = 1000
RETURN_ROLES = (Role.COLLECTIONS, Role.MANAGER)
_PLACEHOLDERS = frozenset({"", "N", "X", "NONREF", "NOTPROVIDED", "EREF", "NONE", "NA", "N/A"})
# PostgreSQL aborts a transaction with these to break a deadlock or a serialisation conflict.
_RETRY_STATES = frozenset({"40P01", "40001"})
ATTEMPTS = 3

log = logging.getLogger(__name__)
T = TypeVar("T")


class NoticeLike(Protocol):
    """What `mail.notices.PaymentNotice` carries (storage does not import mail)."""

    @property
    def amount_cents(self) -> int: ...
    @property
    def currency(self) -> str: ...
    @property
    def booking_date(self) -> Any: ...
    @property
    def direction(self) -> str: ...
    @property
    def payer_name(self) -> str | None: ...
    @property
    def payer_iban(self) -> str | None: ...
    @property
    def reference(self) -> str | None: ...
    @property
    def remittance(self) -> str | None: ...
    @property
    def entry_ref(self) -> str | None: ...


@dataclass
class RecordOutcome:
    """What one batch of notices did."""

    recorded: int = 0
    duplicates: int = 0
    settled: int = 0
    unmatched: int = 0
    ignored: int = 0
    returned: int = 0
    credited: int = 0  # paid to an invoice a credit note cancelled: added to its refund
    invoices: list[str] = field(default_factory=list)

    def add(self, other: RecordOutcome) -> None:
        self.recorded += other.recorded
        self.duplicates += other.duplicates
        self.settled += other.settled
        self.unmatched += other.unmatched
        self.ignored += other.ignored
        self.returned += other.returned
        self.credited += other.credited
        self.invoices += other.invoices


# ---------------------------------------------------------------- pure rules

_RF_RE = re.compile(r"\bRF\s?\d{2}(?:\s?[0-9A-Z]){1,21}\b", re.IGNORECASE)
_NUMBER_RE = re.compile(
    r"(?<![A-Z0-9])([A-Z]{1,3})\s*[-/._ ]?\s*(20\d\d)\s*[-/._ ]?\s*(\d{1,6})(?!\d)", re.IGNORECASE
)


def compact_rf(value: str | None) -> str | None:
    """An RF reference without spaces, upper-cased; None when it is not an RF reference."""
    if not value:
        return None
    text = "".join(value.split()).upper()
    return text if re.fullmatch(r"RF\d{2}[0-9A-Z]{1,21}", text) else None


def rf_references_in(text: str | None) -> list[str]:
    """The RF creditor references written in free text (compact form, in order)."""
    found: list[str] = []
    for m in _RF_RE.finditer(text or ""):
        ref = compact_rf(m.group(0))
        if ref and ref not in found:
            found.append(ref)
    return found


def invoice_numbers_in(text: str | None) -> list[str]:
    """Invoice numbers (`F2026-00042`) in remittance text, whatever the spaces, dashes, case."""
    found: list[str] = []
    for m in _NUMBER_RE.finditer(text or ""):
        series, year, seq = m.group(1).upper(), m.group(2), int(m.group(3))
        if series == "RF":
            continue
        number = f"{series}{year}-{seq:05d}"
        if number not in found:
            found.append(number)
    return found


_IBAN_RE = re.compile(r"[A-Z]{2}\d{2}[0-9A-Z]{8,30}")
NO_ACCOUNT = "the message names no account: left for a human"


def compact_account(value: str) -> str:
    """An account as written by a bank, without spaces, upper-cased."""
    return "".join(value.split()).upper()


def account_is_ours(account: str, ours: Sequence[str]) -> bool:
    """Is the account a bank message names one of ours?

    An IBAN must equal one of ours (compact, upper-case). A national form such as MT940's
    `:25:10020030/1234567890` (bank code / account) cannot be compared exactly: it counts as
    ours when it has at least two parts and every part, leading zeros aside, appears in that
    order in the BBAN of one of our IBANs (at least 10 characters matched in all)."""
    acc = compact_account(account)
    if not acc:
        return False
    if "*" in acc or "X" * 4 in acc[4:] or "." * 3 in acc:
        return any(masked_account_matches(acc, iban) for iban in ours)
    for iban in ours:
        mine = compact_account(iban)
        if acc == mine:
            return True
        if _IBAN_RE.fullmatch(acc):
            continue
        parts = [p.lstrip("0") for p in re.split(r"[^0-9A-Z]+", acc) if p.strip("0")]
        if len(parts) < 2 or sum(map(len, parts)) < 10:
            continue
        bban, at = mine[4:], 0
        for part in parts:
            found = bban.find(part, at)
            if found < 0:
                break
            at = found + len(part)
        else:
            return True
    return False


def masked_account_matches(masked: str, iban: str) -> bool:
    """A masked account (`FR76 **** 0189`, `FR76XXXXXXXX0189`) against one IBAN: every
    visible run must appear, in order, the first at the start and the last at the end, with
    at least 6 visible characters (so `****` alone never matches)."""
    mine = compact_account(iban)
    runs = [r for r in re.split(r"[*.]+|X{4,}", compact_account(masked)) if r]
    if sum(map(len, runs)) < 6 or not mine.startswith(runs[0]) or not mine.endswith(runs[-1]):
        return False
    at = 0
    for run in runs:
        found = mine.find(run, at)
        if found < 0:
            return False
        at = found + len(run)
    return True


def account_problem(account: str | None, ours: Sequence[str]) -> str | None:
    """Why a notice about `account` must not settle by itself, or None when it is ours."""
    if not account:
        return NO_ACCOUNT
    if not account_is_ours(account, ours):
        return f"statement for another account {compact_account(account)}"
    return None


def entry_key(notice: NoticeLike) -> str:
    """The identity of a bank entry, the same whichever email or statement carries it.

    The bank's own id of the entry (`entry_ref`, which parsers fill only with what the bank
    guarantees) scoped by the account; otherwise a fingerprint of the account, statement
    number, booking date, amount, currency, direction, the entry's own details and its rank
    among identical entries of its document. Never the Message-ID of the carrying email."""
    account = compact_account(getattr(notice, "account_iban", None) or "")
    ref = " ".join((notice.entry_ref or "").split())
    if ref.upper() not in _PLACEHOLDERS:
        key = f"bank:{account}:{ref}" if account else f"bank:{ref}"
        return key if len(key) <= 120 else "h:" + hashlib.sha256(key.encode()).hexdigest()
    booked = notice.booking_date
    parts = [
        account,
        str(getattr(notice, "statement_ref", None) or ""),
        booked.isoformat() if booked is not None else "",
        str(notice.amount_cents),
        notice.currency.upper(),
        str(notice.direction),
        str(getattr(notice, "details", None) or ""),
        notice.payer_iban or "",
        notice.payer_name or "",
        notice.reference or "",
        notice.remittance or "",
        str(getattr(notice, "occurrence", 1) or 1),
    ]
    return "fp:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def settle_amounts(gross_cents: int, paid_cents: int, amount_cents: int) -> tuple[int, int, int]:
    """(new paid cents, balance cents, surplus cents) after a payment; paid never exceeds gross."""
    remaining = max(gross_cents - paid_cents, 0)
    applied = min(amount_cents, remaining)
    surplus = amount_cents - applied
    new_paid = paid_cents + applied
    return new_paid, gross_cents - new_paid, surplus


def reopen_amounts(gross_cents: int, paid_cents: int, returned_cents: int) -> tuple[int, int, int]:
    """(new paid cents, balance cents, cents reopened) after a return; never below zero."""
    reopened = min(max(returned_cents, 0), paid_cents)
    new_paid = paid_cents - reopened
    return new_paid, gross_cents - new_paid, reopened


def allocate_batch(amount_cents: int, open_cents: Sequence[int]) -> bool:
    """May an entry naming several invoices settle them all? Only when their open amounts
    add up exactly to the entry (no guessing which one was paid short)."""
    return len(open_cents) > 1 and all(c > 0 for c in open_cents) and sum(open_cents) == amount_cents


def can_see_payments(user: User) -> bool:
    """Admins, managers and collections see and match payments."""
    return user.role in PAYMENT_ROLES


def _check(user: User) -> None:
    if not can_see_payments(user):
        raise Forbidden("payments_forbidden")


def _is_open(invoice: InvoiceLike) -> bool:
    return invoice.status in OPEN_STATUSES


# ---------------------------------------------------------------- recording


@dataclass
class _Batch:
    """The state of one `record_notices` call: invoices touched, rows to write."""

    now: datetime
    invoices: dict[int, InvoiceLike] = field(default_factory=dict)
    payer_names: dict[int, str] = field(default_factory=dict)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    audits: list[dict[str, Any]] = field(default_factory=list)
    numbers: set[str] = field(default_factory=set)
    paid_now: set[int] = field(default_factory=set)
    ibans: dict[str, int] = field(default_factory=dict)
    held: dict[str, str] = field(default_factory=dict)  # payment entry_ref -> why not settled
    held_keys: dict[str, list[Any]] = field(default_factory=dict)  # the same, translatable
    reopened: set[int] = field(default_factory=set)  # invoices a return reopened
    returns: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    cashed: list[CashedPayment] = field(default_factory=list)  # "Encaissée" (212) for the PA
    outcome: RecordOutcome = field(default_factory=RecordOutcome)

    def hold(self, entry: str, reason: str, key: list[Any]) -> None:
        """A payment left for a person, with why (in English, and as a locale key)."""
        self.held[entry] = reason
        self.held_keys[entry] = key
        self.outcome.unmatched += 1

    def alert(
        self,
        user_id: int,
        kind: str,
        key: str,
        params: dict[str, Any],
        buttons: list[dict[str, str]] | None = None,
    ) -> None:
        self.alerts.append(
            {
                "user_id": user_id,
                "kind": kind,
                "dedupe_key": f"{key}:u{user_id}"[:200],
                "params": params,
                "buttons": buttons or [],
                "status": "pending",
                "attempts": 0,
                "created_at": self.now,
            }
        )


@dataclass
class _PaymentRow:
    """A payment about to be inserted in bulk (same attribute names as `Payment`)."""

    entry_ref: str
    direction: PaymentDirection
    status: PaymentStatus
    amount_cents: int
    currency: str
    booking_date: Any
    payer_name: str | None
    payer_iban: str | None
    reference: str | None
    remittance: str | None
    inbox_message_id: int
    account: str | None = None
    return_code: str | None = None
    note: str | None = None
    invoice_id: int | None = None
    surplus_cents: int = 0
    matched_by: str | None = None

    def row(self, now: datetime) -> dict[str, Any]:
        return {**self.__dict__, "created_at": now}


def _defaults(model: type[Any], given: set[str]) -> dict[str, Any]:
    """The model's defaults for the columns a raw insert does not name (fields added later)."""
    out: dict[str, Any] = {}
    for name in model._meta.fields_db_projection:
        f = model._meta.fields_map[name]
        if name in given or f.pk:
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            out[name] = datetime.now(UTC)
        elif f.default is not None:
            out[name] = f.default() if callable(f.default) else f.default
        elif f.null:
            out[name] = None
    return out


def _converter(f: Any, model: type[Any]) -> Any:
    """Tortoise's own conversion of a field's values, memoised (many values repeat)."""
    if isinstance(f, JSONField):
        encode = f.encoder
        return lambda value: None if value is None else encode(value)
    cache: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        key = (type(value), value)
        if key not in cache:
            cache[key] = f.to_db_value(value, model)
        return cache[key]

    return convert


async def _insert_many(
    model: type[Any], rows: list[dict[str, Any]], *, ignore_conflicts: bool = False
) -> None:
    """INSERT many rows with one prepared statement (Tortoise's own value conversion)."""
    if not rows:
        return
    db = model._meta.db
    fields = model._meta.fields_map
    projection: dict[str, str] = model._meta.fields_db_projection
    defaults = _defaults(model, set(rows[0]))
    if defaults:
        rows = [{**defaults, **row} for row in rows]
    names = list(rows[0])
    columns = [projection[n] for n in names]
    postgres = db.capabilities.dialect == "postgres"
    marks = [f"${i + 1}" if postgres else "?" for i in range(len(names))]
    # Table and column names come from the model's metadata, never from input.
    quoted = ", ".join(f'"{c}"' for c in columns)
    conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    sql = f'INSERT INTO "{model._meta.db_table}" ({quoted}) VALUES ({", ".join(marks)}){conflict}'  # noqa: S608
    convert = [_converter(fields[n], model) for n in names]
    values = [[conv(row[n]) for conv, n in zip(convert, names, strict=True)] for row in rows]
    for i in range(0, len(values), 2000):
        await db.execute_many(sql, values[i : i + 2000])


async def _update_invoices(invoices: list[InvoiceLike], now: datetime) -> None:
    """Write the new balances and statuses of the invoices a batch touched."""
    if not invoices:
        return
    db = Invoice._meta.db
    postgres = db.capabilities.dialect == "postgres"
    marks = ["$1", "$2", "$3", "$4"] if postgres else ["?"] * 4
    sql = (
        f'UPDATE "invoices" SET "paid_cents"={marks[0]}, "status"={marks[1]}, '  # noqa: S608
        f'"updated_at"={marks[2]} WHERE "id"={marks[3]}'
    )
    stamp = Invoice._meta.fields_map["updated_at"].to_db_value(now, Invoice)
    values = [[inv.paid_cents, inv.status.value, stamp, inv.id] for inv in invoices]
    for i in range(0, len(values), 2000):
        await db.execute_many(sql, values[i : i + 2000])


async def record_notices(
    notices: Sequence[NoticeLike],
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
            return (await _record(notices, source, now, our_accounts)).outcome

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


async def _record(
    notices: Sequence[NoticeLike], source: InboxMessage, now: datetime, our_accounts: Sequence[str] | None
) -> _Batch:
    batch = _Batch(now=now)
    keyed = [(entry_key(n), n) for n in notices]
    existing = await _existing_keys([k for k, _ in keyed])
    legacy = {k: _legacy_key(n) for k, n in keyed if k.startswith("bank:")}
    if legacy:  # entries recorded before the account was part of the key
        known = await _existing_keys(sorted({v for v in legacy.values() if v}))
        existing.update(k for k, v in legacy.items() if v in known)
    fresh: list[tuple[str, NoticeLike]] = []
    seen: set[str] = set()
    for key, notice in keyed:
        if key in existing or key in seen:
            batch.outcome.duplicates += 1
        else:
            seen.add(key)
            fresh.append((key, notice))
    settling = [(k, n) for k, n in fresh if str(n.direction) != PaymentDirection.DEBIT.value]
    by_rf, by_number = await _lookup_invoices(settling)
    payments: list[_PaymentRow] = []
    todo: list[tuple[_PaymentRow, NoticeLike]] = []
    for key, notice in fresh:
        account = getattr(notice, "account_iban", None)
        payment = _PaymentRow(
            entry_ref=key,
            direction=PaymentDirection(str(notice.direction)),
            status=PaymentStatus.UNMATCHED,
            amount_cents=notice.amount_cents,
            currency=notice.currency.upper(),
            booking_date=notice.booking_date,
            payer_name=(notice.payer_name or "")[:200] or None,
            payer_iban=_iban(notice.payer_iban),
            reference=(notice.reference or "")[:140] or None,
            remittance=(notice.remittance or "")[:MAX_REMITTANCE] or None,
            inbox_message_id=source.id,
            account=compact_account(account)[:50] if account else None,
            return_code=(getattr(notice, "return_code", None) or "")[:8] or None,
            note=getattr(notice, "warning", None),
        )
        payments.append(payment)
        if payment.direction == PaymentDirection.DEBIT:
            payment.status = PaymentStatus.IGNORED
            batch.outcome.ignored += 1
            continue
        problem = None if our_accounts is None else account_problem(account, our_accounts)
        if problem is not None:
            batch.hold(
                key,
                problem,
                ["held.no_account", {}]
                if not account
                else ["inbox.foreign_account", {"account": compact_account(account)}],
            )
            continue
        if payment.direction == PaymentDirection.CREDIT and payment.return_code:
            batch.hold(
                key,
                f"money coming back from a reversed debit ({payment.return_code})",
                ["held.reversed_debit", {"code": payment.return_code}],
            )
            continue
        todo.append((payment, notice))
    # Every invoice this batch may change, locked (in id order) before its balance is read:
    # an invoice changed by another transaction meanwhile is read as that one committed it.
    others = await _other_candidates(todo, by_rf, by_number)
    by_rf, by_number, others = await _locked(by_rf, by_number, others)
    for payment, notice in todo:
        if payment.direction == PaymentDirection.REVERSAL:
            await _return(batch, payment, notice, by_rf, by_number, others)
            continue
        invoices, rule = _match(notice, by_rf, by_number, batch, payment, others.get(payment.entry_ref, []))
        if rule == "credited":
            await _credited(batch, payment, invoices[0])
            continue
        if not invoices:
            batch.outcome.unmatched += 1
            continue
        for invoice in invoices:
            _settle(batch, payment, invoice, rule, _open(invoice) if len(invoices) > 1 else None)
    batch.outcome.recorded = len(payments)
    await _write(batch, payments)
    return batch


async def _other_candidates(
    todo: list[tuple[_PaymentRow, NoticeLike]],
    by_rf: dict[str, _Inv],
    by_number: dict[str, _Inv],
) -> dict[str, list[_Inv]]:
    """The invoices an entry naming none may change, read without locks (they are locked
    and read again by `_locked`): the payer's open invoices for a credit, the invoice the
    mirrored credit settled for a return."""
    out: dict[str, list[_Inv]] = {}
    for payment, notice in todo:
        if payment.direction == PaymentDirection.REVERSAL:
            original = await _invoice_of_original(payment)
            if original is not None:
                out[payment.entry_ref] = [original]
        elif not _named(notice, by_rf, by_number):
            out[payment.entry_ref] = await _payer_candidates(notice)
    return out


def _named(notice: NoticeLike, by_rf: dict[str, _Inv], by_number: dict[str, _Inv]) -> bool:
    rfs = [r for r in [compact_rf(notice.reference), *rf_references_in(notice.remittance)] if r]
    numbers = invoice_numbers_in(notice.remittance) + invoice_numbers_in(notice.reference)
    return any(r in by_rf for r in rfs) or any(n in by_number for n in numbers)


async def _locked(
    by_rf: dict[str, _Inv],
    by_number: dict[str, _Inv],
    others: dict[str, list[_Inv]],
) -> tuple[dict[str, _Inv], dict[str, _Inv], dict[str, list[_Inv]]]:
    """The same invoices read again under a row lock (PostgreSQL: one `SELECT ... FOR
    UPDATE` in ascending id order, so two batches never wait for each other in a cycle);
    one object per invoice, shared by every map. On SQLite the transaction already holds
    the only connection: the rows were read inside it and nobody else writes meanwhile."""
    seen: dict[int, _Inv] = {}
    for inv in [*by_rf.values(), *by_number.values(), *(i for f in others.values() for i in f)]:
        seen.setdefault(inv.id, inv)
    if Invoice._meta.db.capabilities.dialect == "postgres":
        fresh = await lock_invoices(sorted(seen))
    else:  # read inside this transaction, which no other writer can interleave with
        fresh = seen

    def again(inv: _Inv) -> _Inv | None:
        return fresh.get(inv.id)

    return (
        {k: v for k, inv in by_rf.items() if (v := again(inv)) is not None},
        {k: v for k, inv in by_number.items() if (v := again(inv)) is not None},
        {k: [v for inv in found if (v := again(inv)) is not None] for k, found in others.items()},
    )


async def lock_invoices(ids: Sequence[int]) -> dict[int, _Inv]:
    """Lock these invoices for the rest of the transaction and read them (by id).

    PostgreSQL: one `SELECT ... WHERE id = ANY($1) ORDER BY id FOR UPDATE`, whatever the
    number of ids. SQLite: a plain read (writers are serialised on its one connection)."""
    if not ids:
        return {}
    db = Invoice._meta.db
    if db.capabilities.dialect != "postgres":
        return {i.id: i for i in await _invoices_where("id", list(ids))}
    sql = (
        f'SELECT {_INV_COLUMNS} FROM "invoices" WHERE "id" = ANY($1::int[]) '  # noqa: S608
        'AND "kind" = \'invoice\' ORDER BY "id" FOR UPDATE'
    )
    _, rows = await db.execute_query(sql, [sorted(ids)])
    return {int(r["id"]): _Inv(**{**dict(r), "status": InvoiceStatus(r["status"])}) for r in rows}


def _open(invoice: InvoiceLike) -> int:
    return invoice.total_gross_cents - invoice.paid_cents


async def _return(
    batch: _Batch,
    payment: _PaymentRow,
    notice: NoticeLike,
    by_rf: dict[str, _Inv],
    by_number: dict[str, _Inv],
    others: dict[str, list[_Inv]],
) -> None:
    """A credit that came back: reopen the invoice it had settled, or leave it for a person.
    An invoice cancelled by a credit note is never reopened (the money it received is dealt
    with by its refund): the return then waits for a person."""
    invoice = _returned_invoice(notice, by_rf, by_number, batch)
    if invoice is None:
        found = [batch.invoices.get(i.id, i) for i in others.get(payment.entry_ref, [])]
        usable = [i for i in found if _returnable(i, payment.currency)]
        invoice = batch.invoices.setdefault(usable[0].id, usable[0]) if usable else None
    if invoice is None:
        code = payment.return_code or "—"
        batch.hold(
            payment.entry_ref,
            f"a returned payment ({code}) tied to no invoice",
            ["held.return_unmatched", {"code": code}],
        )
        return
    _reopen(batch, payment, invoice, await _was_sent(invoice.id))


async def _was_sent(invoice_id: int) -> bool:
    """Was the invoice emailed to the client (its status before it was paid was `sent`)?"""
    return await OutboxEmail.filter(
        invoice_id=invoice_id, purpose="invoice", status=OutboxStatus.SENT
    ).exists()


def _returned_invoice(
    notice: NoticeLike, by_rf: dict[str, _Inv], by_number: dict[str, _Inv], batch: _Batch
) -> InvoiceLike | None:
    rfs = [r for r in [compact_rf(notice.reference), *rf_references_in(notice.remittance)] if r]
    numbers = invoice_numbers_in(notice.remittance) + invoice_numbers_in(notice.reference)
    hits = {by_rf[r].id: by_rf[r] for r in rfs if r in by_rf}
    hits.update({by_number[n].id: by_number[n] for n in numbers if n in by_number})
    usable = [batch.invoices.get(i.id, i) for i in hits.values()]
    usable = [i for i in usable if _returnable(i, notice.currency.upper())]
    if len(usable) != 1:
        return None
    return batch.invoices.setdefault(usable[0].id, usable[0])


def _returnable(invoice: InvoiceLike, currency: str) -> bool:
    """May a return take money back from this invoice (paid, not cancelled, same currency)?"""
    return (
        invoice.paid_cents > 0
        and invoice.currency == currency
        and invoice.status in (InvoiceStatus.PAID, InvoiceStatus.PARTIALLY_PAID)
    )


async def _invoice_of_original(payment: _PaymentRow) -> _Inv | None:
    """The invoice settled by the one credit this return mirrors (same payer account and
    amount), when exactly one such credit exists (read without a lock: see `_locked`)."""
    if not payment.payer_iban:
        return None
    originals = await Payment.filter(
        direction=PaymentDirection.CREDIT,
        status=PaymentStatus.MATCHED,
        payer_iban=payment.payer_iban,
        amount_cents=payment.amount_cents,
        currency=payment.currency,
        invoice_id__not_isnull=True,
    ).values_list("invoice_id", flat=True)
    ids = {int(str(i)) for i in originals}
    if len(ids) != 1:
        return None
    found = await _invoices_where("id", [next(iter(ids))])
    return found[0] if found else None


def _reopen(
    batch: _Batch, payment: _PaymentRow | Payment, invoice: InvoiceLike, was_sent: bool = False
) -> None:
    """Apply a return to an invoice in memory: back to open (sent, when it had been sent to
    the client) or partially paid."""
    before = {"paid_cents": invoice.paid_cents, "status": invoice.status.value}
    new_paid, balance, reopened = reopen_amounts(
        invoice.total_gross_cents, invoice.paid_cents, payment.amount_cents
    )
    invoice.paid_cents = new_paid
    unpaid = InvoiceStatus.SENT if was_sent else InvoiceStatus.ISSUED
    invoice.status = InvoiceStatus.PARTIALLY_PAID if new_paid > 0 else unpaid
    batch.invoices[invoice.id] = invoice
    batch.paid_now.discard(invoice.id)
    batch.reopened.add(invoice.id)
    payment.invoice_id = invoice.id
    payment.status = PaymentStatus.MATCHED
    payment.matched_by = "return"
    batch.audits.append(
        {
            "user_id": None,
            "at": batch.now,
            "entity": "invoice",
            "entity_id": str(invoice.id),
            "action": "payment_returned",
            "before": before,
            "after": {
                "paid_cents": new_paid,
                "status": invoice.status.value,
                "payment": payment.entry_ref,
                "return_code": payment.return_code,
            },
        }
    )
    params = {
        "number": invoice.number or f"#{invoice.id}",
        "payer": payment.payer_name or batch.payer_names.get(invoice.contact_id, ""),
        "amount_cents": reopened,
        "balance_cents": balance,
        "currency": invoice.currency,
        "reason_key": f"return_reason.{payment.return_code or 'none'}",
        "code": payment.return_code or "—",
    }
    batch.returns.append((invoice.owner_id, payment.entry_ref, params))
    batch.outcome.returned += 1
    if invoice.number and invoice.number not in batch.numbers:
        batch.numbers.add(invoice.number)
        batch.outcome.invoices.append(invoice.number)


async def _credited(batch: _Batch, payment: _PaymentRow, invoice: InvoiceLike) -> None:
    """Money received for an invoice a credit note cancelled (the invoice locked by
    `_locked`) is owed back to the client: it is added to the credit note's refund, which
    opens if the invoice was unpaid when credited. The invoice stays cancelled; collections,
    managers and its owner are told. When the refund was already made (or no credit note is
    found), the payment waits for a person instead, with the reason."""
    number = invoice.number or f"#{invoice.id}"
    note = await Invoice.filter(credit_of_id=invoice.id, kind=InvoiceKind.CREDIT_NOTE).order_by("-id").first()
    refund = None if note is None else await Refund.filter(credit_note_id=note.id).select_for_update().first()
    if note is None or (refund is not None and refund.status != RefundStatus.OWED):
        credit_note = (note.number or "") if note is not None else "—"
        batch.hold(
            payment.entry_ref,
            f"a payment for invoice {number}, cancelled by credit note {credit_note} "
            "whose refund was already made: pay it back or tie it by hand",
            ["held.credited_refunded", {"number": number, "credit_note": credit_note}],
        )
        return
    before = 0 if refund is None else refund.amount_cents
    if refund is None:
        refund = await Refund.create(
            credit_note_id=note.id,
            invoice_id=invoice.id,
            contact_id=invoice.contact_id,
            amount_cents=payment.amount_cents,
            currency=payment.currency,
            created_at=batch.now,
        )
    else:
        await Refund.filter(id=refund.id).update(amount_cents=F("amount_cents") + payment.amount_cents)
        refund.amount_cents += payment.amount_cents
    payment.invoice_id = invoice.id
    payment.status = PaymentStatus.MATCHED
    payment.matched_by = "credited"
    batch.audits.append(
        {
            "user_id": None,
            "at": batch.now,
            "entity": "refund",
            "entity_id": str(refund.id),
            "action": "payment_on_credited",
            "before": {"amount_cents": before},
            "after": {"amount_cents": refund.amount_cents, "payment": payment.entry_ref, "invoice": number},
        }
    )
    params = {
        "number": number,
        "credit_note": note.number or "",
        "currency": payment.currency,
        "payer": payment.payer_name or batch.payer_names.get(invoice.contact_id, ""),
        "amount_cents": payment.amount_cents,
        "total_cents": refund.amount_cents,
    }
    team = [u.id for u in await User.filter(role__in=list(REFUND_ROLES), active=True)]
    for user_id in dict.fromkeys([invoice.owner_id, *team]):
        batch.alert(user_id, "payment_on_credited", f"credited:{payment.entry_ref}", params)
    batch.outcome.credited += 1
    if invoice.number and invoice.number not in batch.numbers:
        batch.numbers.add(invoice.number)
        batch.outcome.invoices.append(invoice.number)


def _legacy_key(notice: NoticeLike) -> str | None:
    """The key the same entry had before identities named the account (`bank:<ref>`)."""
    ref = (notice.entry_ref or "").strip()
    if not ref or not getattr(notice, "account_iban", None):
        return None
    key = f"bank:{ref}"
    return key if len(key) <= 120 else "h:" + hashlib.sha256(key.encode()).hexdigest()


def _iban(value: str | None) -> str | None:
    text = "".join((value or "").split()).upper()
    return text[:34] or None


@dataclass
class _Inv:
    """The fields of an invoice that matching and settling use, read in bulk."""

    id: int
    number: str | None
    status: InvoiceStatus
    currency: str
    total_gross_cents: int
    paid_cents: int
    contact_id: int
    owner_id: int
    rf_reference: str | None


InvoiceLike = Invoice | _Inv
_INV_COLUMNS = ", ".join(f'"{c}"' for c in _Inv.__dataclass_fields__)


def _marks(db: Any, count: int, start: int = 1) -> list[str]:
    if db.capabilities.dialect == "postgres":
        return [f"${i}" for i in range(start, start + count)]
    return ["?"] * count


async def _select_in(
    model: type[Any], columns: str, column: str, values: list[Any], where: str = ""
) -> list[dict[str, Any]]:
    """SELECT columns WHERE column IN (values), in chunks; names come from code, not input."""
    db = model._meta.db
    out: list[dict[str, Any]] = []
    for i in range(0, len(values), _CHUNK):
        chunk = values[i : i + _CHUNK]
        sql = (
            f'SELECT {columns} FROM "{model._meta.db_table}" '  # noqa: S608
            f'WHERE {where}"{column}" IN ({", ".join(_marks(db, len(chunk)))})'
        )
        _, rows = await db.execute_query(sql, chunk)
        out += [dict(r) for r in rows]
    return out


async def _existing_keys(keys: list[str]) -> set[str]:
    rows = await _select_in(Payment, '"entry_ref"', "entry_ref", keys)
    return {str(r["entry_ref"]) for r in rows}


async def _invoices_where(column: str, values: Sequence[Any]) -> list[_Inv]:
    rows = await _select_in(Invoice, _INV_COLUMNS, column, list(values), "\"kind\" = 'invoice' AND ")
    return [_Inv(**{**r, "status": InvoiceStatus(r["status"])}) for r in rows]


async def _lookup_invoices(credits: list[tuple[str, NoticeLike]]) -> tuple[dict[str, _Inv], dict[str, _Inv]]:
    """Every invoice named by an RF reference or a number in the batch, in bulk."""
    rfs: set[str] = set()
    numbers: set[str] = set()
    for _, n in credits:
        rfs.update(r for r in [compact_rf(n.reference), *rf_references_in(n.remittance)] if r)
        numbers.update(invoice_numbers_in(n.remittance))
        numbers.update(invoice_numbers_in(n.reference))
    by_rf = {
        compact_rf(inv.rf_reference) or "": inv for inv in await _invoices_where("rf_reference", sorted(rfs))
    }
    by_number = {inv.number or "": inv for inv in await _invoices_where("number", sorted(numbers))}
    return by_rf, by_number


def _usable(invoice: InvoiceLike, notice: NoticeLike) -> bool:
    return invoice.currency == notice.currency.upper() and (
        _is_open(invoice) or invoice.status == InvoiceStatus.PAID
    )


def _match(
    notice: NoticeLike,
    by_rf: dict[str, _Inv],
    by_number: dict[str, _Inv],
    batch: _Batch,
    payment: _PaymentRow | None = None,
    payer_invoices: Sequence[InvoiceLike] = (),
) -> tuple[list[InvoiceLike], str]:
    """The invoices an entry settles and the rule (`credited`: the one invoice it names was
    cancelled by a credit note), from invoices locked by `_locked`."""
    rfs = [r for r in [compact_rf(notice.reference), *rf_references_in(notice.remittance)] if r]
    hits = {by_rf[r].id: by_rf[r] for r in rfs if r in by_rf}
    if len(hits) == 1:
        inv = next(iter(hits.values()))
        if _usable(inv, notice):
            return [batch.invoices.setdefault(inv.id, inv)], "rf"
    numbers = invoice_numbers_in(notice.remittance) + invoice_numbers_in(notice.reference)
    by_numbers = {by_number[n].id: by_number[n] for n in numbers if n in by_number}
    if len(hits) <= 1 and len(by_numbers) == 1:
        inv = next(iter(by_numbers.values()))
        if _usable(inv, notice):
            return [batch.invoices.setdefault(inv.id, inv)], "number"
    named = {**hits, **by_numbers}
    if len(named) == 1:
        inv = next(iter(named.values()))
        if inv.status == InvoiceStatus.CANCELLED and inv.currency == notice.currency.upper():
            return [inv], "credited"
    if len(named) > 1:
        return _batch_allocation(notice, named, batch, payment), "batch"
    if named:
        return [], ""
    # Within a batch, an earlier entry may already have changed an invoice's balance.
    candidates = [i for i in (batch.invoices.get(f.id, f) for f in payer_invoices) if _is_open(i)]
    exact = [i for i in candidates if i.total_gross_cents - i.paid_cents == notice.amount_cents]
    if len(exact) == 1:
        return [batch.invoices.setdefault(exact[0].id, exact[0])], "payer"
    return [], ""


def _batch_allocation(
    notice: NoticeLike, named: dict[int, _Inv], batch: _Batch, payment: _PaymentRow | None
) -> list[InvoiceLike]:
    """Several invoices named by one entry: all of them when their open amounts add up to
    the entry exactly, else none (the candidates go to the payment's note for /match)."""
    invoices = sorted((batch.invoices.get(i.id, i) for i in named.values()), key=lambda i: i.number or "")
    usable = all(_is_open(i) and i.currency == notice.currency.upper() for i in invoices)
    if usable and allocate_batch(notice.amount_cents, [_open(i) for i in invoices]):
        return [batch.invoices.setdefault(i.id, i) for i in invoices]
    if payment is not None:
        listed = ", ".join(
            f"{i.number} ({i.status.value}, open {_open(i) / 100:.2f} {i.currency})" for i in invoices
        )
        why = (
            f"names {len(invoices)} invoices whose open amounts do not add up to the "
            f"entry's {notice.amount_cents / 100:.2f}: candidates {listed}"
        )
        payment.note = f"{payment.note}; {why}" if payment.note else why
    return []


async def _payer_contacts(iban: str | None, name: str | None) -> list[int]:
    if iban:
        account = await PayerAccount.get_or_none(iban=iban)
        if account is not None:
            return [account.contact_id]
    clean = " ".join((name or "").split())
    if not clean:
        return []
    rows = await Contact.filter(name__iexact=clean).values_list("id", flat=True)
    return [int(str(r)) for r in rows]


async def _payer_invoices(notice: NoticeLike) -> list[Invoice]:
    contacts = await _payer_contacts(_iban(notice.payer_iban), notice.payer_name)
    if not contacts:
        return []
    found = await Invoice.filter(
        contact_id__in=contacts,
        status__in=list(OPEN_STATUSES),
        kind=InvoiceKind.INVOICE,
        currency=notice.currency.upper(),
    ).order_by("due_date", "id")
    return list(found)


async def _payer_candidates(notice: NoticeLike) -> list[_Inv]:
    """The payer's open invoices in the entry's currency (by due date), read without a lock."""
    contacts = await _payer_contacts(_iban(notice.payer_iban), notice.payer_name)
    if not contacts:
        return []
    rows = (
        await Invoice.filter(
            contact_id__in=contacts,
            status__in=list(OPEN_STATUSES),
            kind=InvoiceKind.INVOICE,
            currency=notice.currency.upper(),
        )
        .order_by("due_date", "id")
        .values(*_Inv.__dataclass_fields__)
    )
    return [_Inv(**{**r, "status": InvoiceStatus(r["status"])}) for r in rows]


def _settle(
    batch: _Batch,
    payment: Payment | _PaymentRow,
    invoice: InvoiceLike,
    rule: str,
    allocated: int | None = None,
) -> None:
    """Apply a payment (or the `allocated` part of a batch) to an invoice in memory; rows
    are written by `_write`."""
    before = {"paid_cents": invoice.paid_cents, "status": invoice.status.value}
    amount = payment.amount_cents if allocated is None else allocated
    new_paid, balance, surplus = settle_amounts(invoice.total_gross_cents, invoice.paid_cents, amount)
    invoice.paid_cents = new_paid
    if balance <= 0:
        invoice.status = InvoiceStatus.PAID
        batch.paid_now.add(invoice.id)
    elif new_paid > 0:
        invoice.status = InvoiceStatus.PARTIALLY_PAID
    batch.invoices[invoice.id] = invoice
    if payment.invoice_id is None or allocated is None:
        payment.invoice_id = invoice.id
    payment.status = PaymentStatus.MATCHED
    payment.matched_by = rule
    payment.surplus_cents = surplus
    batch.cashed.append(
        CashedPayment(
            invoice.id,
            payment.amount_cents - surplus,
            payment.booking_date or batch.now.date(),
            payment.entry_ref,
        )
    )
    if payment.payer_iban:
        batch.ibans.setdefault(payment.payer_iban, invoice.contact_id)
    batch.audits.append(
        {
            "user_id": None,
            "at": batch.now,
            "entity": "invoice",
            "entity_id": str(invoice.id),
            "action": "payment",
            "before": before,
            "after": {"paid_cents": new_paid, "status": invoice.status.value, "payment": payment.entry_ref},
        }
    )
    payer = payment.payer_name or batch.payer_names.get(invoice.contact_id, "")
    params = {
        "number": invoice.number or f"#{invoice.id}",
        "payer": payer,
        "amount_cents": amount,
        "balance_cents": balance,
        "currency": invoice.currency,
    }
    owner_id: int = invoice.owner_id
    key = f"paid:{payment.entry_ref}" if allocated is None else f"paid:{payment.entry_ref}:{invoice.id}"
    batch.alert(owner_id, "payment_received", key, params)
    if surplus:
        batch.alert(
            owner_id, "payment_surplus", f"surplus:{payment.entry_ref}", {**params, "surplus_cents": surplus}
        )
    batch.outcome.settled += 1
    if invoice.number and invoice.number not in batch.numbers:
        batch.numbers.add(invoice.number)
        batch.outcome.invoices.append(invoice.number)


async def _write(batch: _Batch, payments: list[_PaymentRow]) -> None:
    """Write the batch's rows: payments, invoices, payer IBANs, collection tasks, alerts."""
    if payments:
        await _insert_many(Payment, [p.row(batch.now) for p in payments])
        await match_refund_debits(
            [p.entry_ref for p in payments if p.direction == PaymentDirection.DEBIT], batch.now
        )
    if batch.invoices:
        await _update_invoices(list(batch.invoices.values()), batch.now)
    if batch.ibans:
        await _remember_ibans(batch.ibans)
    if batch.paid_now:
        await _close_collections(batch)
    if batch.returns:
        await _reopen_collections(batch)
        await _alert_returns(batch)
    await queue_cashed(batch.cashed)
    if batch.outcome.unmatched:
        await _alert_unmatched(batch, [p.entry_ref for p in payments if p.status == PaymentStatus.UNMATCHED])
    if batch.audits:
        await _insert_many(AuditLog, batch.audits)
    if batch.alerts:
        await _insert_many(Alert, batch.alerts, ignore_conflicts=True)


async def _remember_ibans(ibans: dict[str, int]) -> None:
    keys = list(ibans)
    known: set[str] = set()
    for i in range(0, len(keys), _CHUNK):
        rows = await PayerAccount.filter(iban__in=keys[i : i + _CHUNK]).values_list("iban", flat=True)
        known.update(str(r) for r in rows)
    new = [PayerAccount(iban=k, contact_id=v) for k, v in ibans.items() if k not in known]
    if new:
        await PayerAccount.bulk_create(new, batch_size=_CHUNK, ignore_conflicts=True)


async def _close_collections(batch: _Batch) -> None:
    """Close the open collection task of every invoice paid now (the collections rule)."""
    ids = sorted(batch.paid_now)
    with_task: list[int] = []
    for i in range(0, len(ids), _CHUNK):
        rows = await CollectionTask.filter(
            invoice_id__in=ids[i : i + _CHUNK], status=CollectionStatus.OPEN
        ).values_list("invoice_id", flat=True)
        with_task += [int(str(r)) for r in rows]
    for invoice_id in with_task:
        await close_for_invoice(invoice_id, batch.now, "paid")


async def _reopen_collections(batch: _Batch) -> None:
    """A returned payment reopens the closed collection task of its invoice (one task per
    invoice: the same task, with a `reopened` event)."""
    ids = sorted(batch.reopened)
    for i in range(0, len(ids), _CHUNK):
        for task in await CollectionTask.filter(
            invoice_id__in=ids[i : i + _CHUNK], status=CollectionStatus.CLOSED
        ):
            task.status, task.closed_at = CollectionStatus.OPEN, None
            await task.save(update_fields=["status", "closed_at"])
            await CollectionEvent.create(task=task, kind="reopened", note="payment returned", at=batch.now)


async def _alert_returns(batch: _Batch) -> None:
    """The owner, collections and managers learn of each return, with its reason in words."""
    team = [u.id for u in await User.filter(role__in=list(RETURN_ROLES), active=True)]
    for owner_id, entry, params in batch.returns:
        for user_id in dict.fromkeys([owner_id, *team]):
            batch.alert(user_id, "payment_returned", f"returned:{entry}", params)


async def _alert_unmatched(batch: _Batch, keys: list[str]) -> None:
    users = await User.filter(role__in=list(UNMATCHED_ROLES), active=True)
    if not users:
        return
    for payment in await Payment.filter(entry_ref__in=keys[:50]):
        params = {
            "id": payment.id,
            "amount_cents": payment.amount_cents,
            "currency": payment.currency,
            "payer": payment.payer_name or "?",
            "note": _bounded(f"\n{payment.note}" if payment.note else ""),
        }
        buttons = [AlertAction(ActionKind.MATCH_PAYMENT, payment.id).to_json()]
        reason = batch.held.get(payment.entry_ref)
        kind = "payment_unmatched" if reason is None else "payment_held"
        if reason is not None:
            params["reason"] = _bounded(reason)
            params["reason_key"] = [batch.held_keys[payment.entry_ref]]
        for user in users:
            batch.alert(user.id, kind, f"unmatched:{payment.id}", params, buttons)


# ---------------------------------------------------------------- messages


async def _message_row(message_id: str, status: InboxStatus, **values: Any) -> InboxMessage:
    """The inbox row of a message (one per Message-ID and status: a re-read reuses it)."""
    row = await InboxMessage.get_or_none(message_id=message_id, status=status)
    if row is None:
        row = await InboxMessage.create(message_id=message_id, status=status, **values)
    return row


MAX_ALERT_REASON = 300


def _bounded(text: str, limit: int = MAX_ALERT_REASON) -> str:
    """A reason as an alert shows it: at most `limit` characters (the whole text stays on
    the message row, shown by `/payments quarantine`)."""
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _clip(values: dict[str, Any]) -> dict[str, Any]:
    values = dict(values)
    values["sender"] = (values.get("sender") or "")[:254]
    values["subject"] = (values.get("subject") or "")[:300]
    raw = values.get("raw_message")
    if raw is not None and len(raw) > MAX_STORED_RAW:
        head, _, _ = bytes(raw).partition(b"\r\n\r\n")
        values["raw_message"] = head[:MAX_STORED_RAW]
    return values


async def ingest_message(
    notices: Sequence[NoticeLike],
    *,
    message_id: str,
    folder: str,
    uid: int | None,
    sender: str,
    subject: str,
    now: datetime,
    our_accounts: Sequence[str] | None = None,
    refused: str | None = None,
    reasons: list[Any] | None = None,
) -> tuple[InboxMessage, RecordOutcome]:
    """A trusted message's notices: the inbox row and the payments, in one transaction.

    `our_accounts`: see `record_notices`; a notice held back leaves its reason on the row.
    `refused`: why some parts of the message were not read (an attachment refused,
    unreadable, about another account...): kept on the row, and admins and managers get
    one alert, even when the rest of the message settled invoices."""
    return await again_if_aborted(
        lambda: _ingest(
            notices,
            message_id=message_id,
            folder=folder,
            uid=uid,
            sender=sender,
            subject=subject,
            now=now,
            our_accounts=our_accounts,
            refused=refused,
            reasons=reasons,
        )
    )


async def _ingest(
    notices: Sequence[NoticeLike],
    *,
    message_id: str,
    folder: str,
    uid: int | None,
    sender: str,
    subject: str,
    now: datetime,
    our_accounts: Sequence[str] | None,
    refused: str | None,
    reasons: list[Any] | None,
) -> tuple[InboxMessage, RecordOutcome]:
    async with in_transaction():
        row = await _message_row(
            message_id,
            InboxStatus.PROCESSED,
            **_clip({"folder": folder, "uid": uid, "sender": sender, "subject": subject}),
        )
        batch = await _record(notices, row, now, our_accounts)
        texts = ([refused] if refused else []) + sorted(set(batch.held.values()))
        if texts:
            row.reason = "; ".join(texts)
            row.reasons = list(reasons or [])
            for key in batch.held_keys.values():
                if key not in row.reasons:
                    row.reasons.append(key)
            await row.save(update_fields=["reason", "reasons"])
        if refused:
            params = {
                "id": row.id,
                "sender": row.sender,
                "subject": row.subject,
                "reason": _bounded(refused),
                "reason_key": list(reasons or []),
            }
            told = _Batch(now=now)
            for user in await User.filter(role__in=list(QUARANTINE_ROLES), active=True):
                told.alert(user.id, "mail_partly_read", f"partly:{message_id}", params)
            await _insert_many(Alert, told.alerts, ignore_conflicts=True)
        return row, batch.outcome


async def quarantine_message(
    *,
    message_id: str,
    folder: str,
    uid: int | None,
    sender: str,
    subject: str,
    raw: bytes,
    reason: str,
    now: datetime,
    reasons: list[Any] | None = None,
) -> InboxMessage:
    """Keep an untrusted message with its reason and tell admins and managers; never settles.
    `reasons`: the same as translatable codes ([[key, {params}], ...])."""
    return await _keep_for_people(
        InboxStatus.QUARANTINED,
        "quarantine",
        "quarantined",
        message_id=message_id,
        folder=folder,
        uid=uid,
        sender=sender,
        subject=subject,
        raw=raw,
        reason=reason,
        reasons=reasons,
    )


async def store_unrecognised(
    *,
    message_id: str,
    folder: str,
    uid: int | None,
    sender: str,
    subject: str,
    raw: bytes,
    reason: str,
    now: datetime,
    reasons: list[Any] | None = None,
) -> InboxMessage:
    """Keep a trusted message with nothing recognisable, with the reason, for a human."""
    return await _keep_for_people(
        InboxStatus.UNRECOGNISED,
        "unrecognised",
        "mail_unrecognised",
        message_id=message_id,
        folder=folder,
        uid=uid,
        sender=sender,
        subject=subject,
        raw=raw,
        reason=reason,
        reasons=reasons,
    )


async def _keep_for_people(
    status: InboxStatus,
    key: str,
    kind: str,
    *,
    message_id: str,
    folder: str,
    uid: int | None,
    sender: str,
    subject: str,
    raw: bytes,
    reason: str,
    reasons: list[Any] | None = None,
) -> InboxMessage:
    """The message row and, in the same transaction, one alert per admin and manager."""
    async with in_transaction():
        row = await _message_row(
            message_id,
            status,
            **_clip(
                {
                    "folder": folder,
                    "uid": uid,
                    "sender": sender,
                    "subject": subject,
                    "raw_message": raw,
                    "reason": reason,
                    "reasons": list(reasons or []),
                }
            ),
        )
        params = {
            "id": row.id,
            "sender": row.sender,
            "subject": row.subject,
            "reason": _bounded(reason),
            "reason_key": list(reasons or []),
        }
        for user in await User.filter(role__in=list(QUARANTINE_ROLES), active=True):
            await Alert.get_or_create(
                dedupe_key=f"{key}:{message_id}:u{user.id}"[:200],
                defaults={"user_id": user.id, "kind": kind, "params": params},
            )
    return row


# ---------------------------------------------------------------- people


async def _invoice_by_reference(ref: int | str, *, lock: bool = False) -> Invoice | None:
    """An invoice by id, or by its number typed loosely (`f2026 42`, `F2026-00042`);
    `lock`: its row locked for the rest of the transaction (PostgreSQL)."""
    if isinstance(ref, int):
        query = Invoice.filter(id=ref, kind=InvoiceKind.INVOICE, number__isnull=False)
    else:
        numbers = invoice_numbers_in(ref)
        if len(numbers) != 1:
            return None
        query = Invoice.filter(number=numbers[0], kind=InvoiceKind.INVOICE)
    return await (query.select_for_update() if lock else query).first()


async def match_payment(
    actor: User, payment_id: int, invoice_ref: int | str, *, now: datetime
) -> tuple[Payment, Invoice]:
    """A person settles an unmatched credit against an open invoice, or ties an unmatched
    return to the paid invoice it takes money back from (reopening it)."""
    _check(actor)
    async with in_transaction():
        # Locked, payment first then invoice: two people matching the same payment, or a
        # bank entry settling the same invoice meanwhile, wait for each other's commit.
        payment = await Payment.filter(id=payment_id).select_for_update().first()
        if payment is None:
            raise NotFound("payment", id=payment_id)
        invoice = await _invoice_by_reference(invoice_ref, lock=True)
        if invoice is None or invoice.number is None:
            raise NotFound("payment_invoice", ref=str(invoice_ref))
        if payment.status != PaymentStatus.UNMATCHED or payment.direction not in (
            PaymentDirection.CREDIT,
            PaymentDirection.REVERSAL,
        ):
            raise Conflict("payment_not_unmatched", id=payment_id)
        if payment.direction == PaymentDirection.REVERSAL:
            await _match_return(actor, payment, invoice, now)
            return payment, invoice
        if not _is_open(invoice):
            raise Conflict("invoice_not_open", number=invoice.number)
        if invoice.currency != payment.currency:
            raise Conflict("payment_currency", currency=payment.currency, number=invoice.number)
        batch = _Batch(now=now)
        _settle(batch, payment, invoice, "manual")
        batch.audits[-1]["user_id"] = actor.id
        await payment.save(update_fields=["invoice_id", "status", "matched_by", "surplus_cents"])
        await invoice.save(update_fields=["paid_cents", "status", "updated_at"])
        if batch.ibans:
            await _remember_ibans(batch.ibans)
        if batch.paid_now:
            await _close_collections(batch)
        await queue_cashed(batch.cashed)
        await _insert_many(AuditLog, batch.audits)
        await _insert_many(Alert, batch.alerts, ignore_conflicts=True)
    return payment, invoice


async def _match_return(actor: User, payment: Payment, invoice: Invoice, now: datetime) -> None:
    """A person's choice for a return: the invoice must have been paid (in its currency)."""
    if invoice.paid_cents <= 0 or invoice.status not in (InvoiceStatus.PAID, InvoiceStatus.PARTIALLY_PAID):
        raise Conflict("invoice_not_paid", number=invoice.number)
    if invoice.currency != payment.currency:
        raise Conflict("payment_currency", currency=payment.currency, number=invoice.number)
    batch = _Batch(now=now)
    _reopen(batch, payment, invoice, await _was_sent(invoice.id))
    batch.audits[-1]["user_id"] = actor.id
    await payment.save(update_fields=["invoice_id", "status", "matched_by"])
    await invoice.save(update_fields=["paid_cents", "status", "updated_at"])
    await _reopen_collections(batch)
    await _alert_returns(batch)
    await _insert_many(AuditLog, batch.audits)
    await _insert_many(Alert, batch.alerts, ignore_conflicts=True)


async def list_payments(actor: User, which: str = "recent", limit: int = 20) -> list[Payment]:
    """Recent payments, or the unmatched credits and returns waiting for a person."""
    _check(actor)
    query = Payment.all()
    if which == "unmatched":
        query = query.filter(
            status=PaymentStatus.UNMATCHED, direction__in=[PaymentDirection.CREDIT, PaymentDirection.REVERSAL]
        )
    return list(await query.order_by("-id").limit(limit).prefetch_related("invoice"))


async def list_quarantine(actor: User, limit: int = 20) -> list[InboxMessage]:
    """Quarantined and unrecognised messages, newest first."""
    _check(actor)
    return list(
        await InboxMessage.filter(status__in=[InboxStatus.QUARANTINED, InboxStatus.UNRECOGNISED])
        .order_by("-id")
        .limit(limit)
    )


async def get_payment(actor: User, payment_id: int) -> Payment:
    _check(actor)
    payment = await Payment.get_or_none(id=payment_id).prefetch_related("invoice")
    if payment is None:
        raise NotFound("payment", id=payment_id)
    return payment


async def likely_invoices(actor: User, payment_id: int, limit: int = 5) -> list[Invoice]:
    """Open invoices an unmatched payment probably settles: the payer's first, then same
    amount. For a return: the paid invoices it may take money back from."""
    payment = await get_payment(actor, payment_id)
    if payment.direction == PaymentDirection.REVERSAL:
        return await _returnable_invoices(payment, limit)
    mine = await _payer_invoices(payment)
    same = (
        await Invoice.filter(
            Q(status__in=list(OPEN_STATUSES)),
            kind=InvoiceKind.INVOICE,
            currency=payment.currency,
        )
        .filter(total_gross_cents=payment.amount_cents, paid_cents=0)
        .order_by("due_date", "id")
        .limit(limit)
    )
    exact = [i for i in mine if i.total_gross_cents - i.paid_cents == payment.amount_cents]
    ordered = _unique([*exact, *same, *mine])
    return ordered[:limit]


async def _returnable_invoices(payment: Payment, limit: int) -> list[Invoice]:
    """Invoices settled by a credit from the same account for the same amount first, then
    the payer's paid invoices (newest first)."""
    mirrored: list[Invoice] = []
    if payment.payer_iban:
        ids = await Payment.filter(
            direction=PaymentDirection.CREDIT,
            status=PaymentStatus.MATCHED,
            payer_iban=payment.payer_iban,
            amount_cents=payment.amount_cents,
            invoice_id__not_isnull=True,
        ).values_list("invoice_id", flat=True)
        mirrored = list(await Invoice.filter(id__in=[int(str(i)) for i in ids]))
    contacts = await _payer_contacts(_iban(payment.payer_iban), payment.payer_name)
    paid = (
        list(
            await Invoice.filter(
                contact_id__in=contacts,
                kind=InvoiceKind.INVOICE,
                currency=payment.currency,
                status__in=[InvoiceStatus.PAID, InvoiceStatus.PARTIALLY_PAID],
            )
            .order_by("-due_date", "-id")
            .limit(limit)
        )
        if contacts
        else []
    )
    usable = [
        i
        for i in [*mirrored, *paid]
        if i.paid_cents > 0 and i.status in (InvoiceStatus.PAID, InvoiceStatus.PARTIALLY_PAID)
    ]
    return _unique(usable)[:limit]


def _unique(invoices: Iterable[Invoice]) -> list[Invoice]:
    seen: set[int] = set()
    out = []
    for inv in invoices:
        if inv.id not in seen:
            seen.add(inv.id)
            out.append(inv)
    return out
