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

Anything else stays an unmatched payment for a human. Debits and reversals are recorded and
never settle. One bank entry is recorded once however often its mail is read: the key is the
bank's entry reference, or the Message-ID plus the entry's position.

Settling updates the invoice balance and status, remembers the payer's IBAN on the client,
alerts the invoice owner, and closes any open collection task on the invoice — all in the
transaction that records the payment. Lookups are done in bulk so a 10,000-entry statement
costs a handful of queries per kind, not one per entry.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from tortoise.expressions import Q
from tortoise.fields import JSONField
from tortoise.transactions import in_transaction

from storage.collections import close_for_invoice
from storage.einvoicing.lifecycle import CashedPayment, queue_cashed
from storage.errors import Conflict, Forbidden, NotFound
from storage.models import (
    Alert,
    AuditLog,
    CollectionStatus,
    CollectionTask,
    Contact,
    InboxMessage,
    InboxStatus,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    PayerAccount,
    Payment,
    PaymentDirection,
    PaymentStatus,
    Role,
    User,
)

__all__ = [
    "OPEN_STATUSES",
    "PAYMENT_ROLES",
    "NoticeLike",
    "RecordOutcome",
    "account_is_ours",
    "account_problem",
    "can_see_payments",
    "compact_rf",
    "entry_key",
    "get_payment",
    "ingest_message",
    "invoice_numbers_in",
    "likely_invoices",
    "list_payments",
    "list_quarantine",
    "match_payment",
    "quarantine_message",
    "record_notices",
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
    invoices: list[str] = field(default_factory=list)

    def add(self, other: RecordOutcome) -> None:
        self.recorded += other.recorded
        self.duplicates += other.duplicates
        self.settled += other.settled
        self.unmatched += other.unmatched
        self.ignored += other.ignored
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


def account_problem(account: str | None, ours: Sequence[str]) -> str | None:
    """Why a notice about `account` must not settle by itself, or None when it is ours."""
    if not account:
        return NO_ACCOUNT
    if not account_is_ours(account, ours):
        return f"statement for another account {compact_account(account)}"
    return None


def entry_key(notice: NoticeLike, message_id: str, position: int) -> str:
    """The idempotency key of a bank entry: its reference, else Message-ID + position."""
    raw = (notice.entry_ref or "").strip()
    key = f"bank:{raw}" if raw else f"msg:{message_id}#{position}"
    if len(key) > 120:
        key = "h:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def settle_amounts(gross_cents: int, paid_cents: int, amount_cents: int) -> tuple[int, int, int]:
    """(new paid cents, balance cents, surplus cents) after a payment; paid never exceeds gross."""
    remaining = max(gross_cents - paid_cents, 0)
    applied = min(amount_cents, remaining)
    surplus = amount_cents - applied
    new_paid = paid_cents + applied
    return new_paid, gross_cents - new_paid, surplus


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
    cashed: list[CashedPayment] = field(default_factory=list)  # "Encaissée" (212) for the PA
    outcome: RecordOutcome = field(default_factory=RecordOutcome)

    def alert(self, user_id: int, kind: str, key: str, params: dict[str, Any],
              buttons: list[dict[str, str]] | None = None) -> None:
        self.alerts.append({
            "user_id": user_id, "kind": kind, "dedupe_key": f"{key}:u{user_id}"[:200],
            "params": params, "buttons": buttons or [], "status": "pending", "attempts": 0,
            "created_at": self.now,
        })


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


async def _insert_many(model: type[Any], rows: list[dict[str, Any]], *,
                       ignore_conflicts: bool = False) -> None:
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
        await db.execute_many(sql, values[i:i + 2000])


async def _update_invoices(invoices: list[InvoiceLike], now: datetime) -> None:
    """Write the new balances and statuses of the invoices a batch touched."""
    if not invoices:
        return
    db = Invoice._meta.db
    postgres = db.capabilities.dialect == "postgres"
    marks = ["$1", "$2", "$3", "$4"] if postgres else ["?"] * 4
    sql = (f'UPDATE "invoices" SET "paid_cents"={marks[0]}, "status"={marks[1]}, '  # noqa: S608
           f'"updated_at"={marks[2]} WHERE "id"={marks[3]}')
    stamp = Invoice._meta.fields_map["updated_at"].to_db_value(now, Invoice)
    values = [[inv.paid_cents, inv.status.value, stamp, inv.id] for inv in invoices]
    for i in range(0, len(values), 2000):
        await db.execute_many(sql, values[i:i + 2000])


async def record_notices(
    notices: Sequence[NoticeLike], *, source: InboxMessage, now: datetime,
    our_accounts: Sequence[str] | None = None,
) -> RecordOutcome:
    """Record a message's notices once each, match and settle them, in ONE transaction.

    With `our_accounts`, a credit settles only when its `account_iban` is one of them;
    the others stay unmatched with the reason (None: the caller already checked)."""
    async with in_transaction():
        return (await _record(notices, source, now, our_accounts)).outcome


async def _record(notices: Sequence[NoticeLike], source: InboxMessage, now: datetime,
                  our_accounts: Sequence[str] | None) -> _Batch:
    batch = _Batch(now=now)
    keyed = [(entry_key(n, source.message_id, i), n) for i, n in enumerate(notices)]
    existing = await _existing_keys([k for k, _ in keyed])
    fresh: list[tuple[str, NoticeLike]] = []
    seen: set[str] = set()
    for key, notice in keyed:
        if key in existing or key in seen:
            batch.outcome.duplicates += 1
        else:
            seen.add(key)
            fresh.append((key, notice))
    credits = [(k, n) for k, n in fresh if str(n.direction) == PaymentDirection.CREDIT.value]
    by_rf, by_number = await _lookup_invoices(credits)
    payments: list[_PaymentRow] = []
    for key, notice in fresh:
        payment = _PaymentRow(
            entry_ref=key, direction=PaymentDirection(str(notice.direction)),
            status=PaymentStatus.UNMATCHED, amount_cents=notice.amount_cents,
            currency=notice.currency.upper(), booking_date=notice.booking_date,
            payer_name=(notice.payer_name or "")[:200] or None,
            payer_iban=_iban(notice.payer_iban), reference=(notice.reference or "")[:140] or None,
            remittance=notice.remittance, inbox_message_id=source.id,
        )
        payments.append(payment)
        if payment.direction != PaymentDirection.CREDIT:
            payment.status = PaymentStatus.IGNORED
            batch.outcome.ignored += 1
            continue
        problem = None if our_accounts is None else account_problem(
            getattr(notice, "account_iban", None), our_accounts)
        if problem is not None:
            batch.held[key] = problem
            batch.outcome.unmatched += 1
            continue
        invoice, rule = await _match(notice, by_rf, by_number, batch)
        if invoice is None:
            batch.outcome.unmatched += 1
            continue
        _settle(batch, payment, invoice, rule)
    batch.outcome.recorded = len(payments)
    await _write(batch, payments)
    return batch


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


async def _select_in(model: type[Any], columns: str, column: str, values: list[Any],
                     where: str = "") -> list[dict[str, Any]]:
    """SELECT columns WHERE column IN (values), in chunks; names come from code, not input."""
    db = model._meta.db
    out: list[dict[str, Any]] = []
    for i in range(0, len(values), _CHUNK):
        chunk = values[i:i + _CHUNK]
        sql = (f'SELECT {columns} FROM "{model._meta.db_table}" '  # noqa: S608
               f'WHERE {where}"{column}" IN ({", ".join(_marks(db, len(chunk)))})')
        _, rows = await db.execute_query(sql, chunk)
        out += [dict(r) for r in rows]
    return out


async def _existing_keys(keys: list[str]) -> set[str]:
    rows = await _select_in(Payment, '"entry_ref"', "entry_ref", keys)
    return {str(r["entry_ref"]) for r in rows}


async def _invoices_where(column: str, values: list[str]) -> list[_Inv]:
    rows = await _select_in(Invoice, _INV_COLUMNS, column, values, "\"kind\" = 'invoice' AND ")
    return [_Inv(**{**r, "status": InvoiceStatus(r["status"])}) for r in rows]


async def _lookup_invoices(
    credits: list[tuple[str, NoticeLike]]
) -> tuple[dict[str, _Inv], dict[str, _Inv]]:
    """Every invoice named by an RF reference or a number in the batch, in bulk."""
    rfs: set[str] = set()
    numbers: set[str] = set()
    for _, n in credits:
        rfs.update(r for r in [compact_rf(n.reference), *rf_references_in(n.remittance)] if r)
        numbers.update(invoice_numbers_in(n.remittance))
        numbers.update(invoice_numbers_in(n.reference))
    by_rf = {compact_rf(inv.rf_reference) or "": inv
             for inv in await _invoices_where("rf_reference", sorted(rfs))}
    by_number = {inv.number or "": inv for inv in await _invoices_where("number", sorted(numbers))}
    return by_rf, by_number


def _usable(invoice: InvoiceLike, notice: NoticeLike) -> bool:
    return invoice.currency == notice.currency.upper() and (
        _is_open(invoice) or invoice.status == InvoiceStatus.PAID
    )


async def _match(notice: NoticeLike, by_rf: dict[str, _Inv], by_number: dict[str, _Inv],
                 batch: _Batch) -> tuple[InvoiceLike | None, str]:
    rfs = [r for r in [compact_rf(notice.reference), *rf_references_in(notice.remittance)] if r]
    hits = {by_rf[r].id: by_rf[r] for r in rfs if r in by_rf}
    if len(hits) == 1:
        inv = next(iter(hits.values()))
        if _usable(inv, notice):
            return batch.invoices.setdefault(inv.id, inv), "rf"
    numbers = invoice_numbers_in(notice.remittance) + invoice_numbers_in(notice.reference)
    hits = {by_number[n].id: by_number[n] for n in numbers if n in by_number}
    if len(hits) == 1:
        inv = next(iter(hits.values()))
        if _usable(inv, notice):
            return batch.invoices.setdefault(inv.id, inv), "number"
    if hits:
        return None, ""
    # Within a batch, an earlier entry may already have changed an invoice's balance.
    candidates = [i for i in (batch.invoices.get(f.id, f) for f in await _payer_invoices(notice))
                  if _is_open(i)]
    exact = [i for i in candidates if i.total_gross_cents - i.paid_cents == notice.amount_cents]
    if len(exact) == 1:
        return batch.invoices.setdefault(exact[0].id, exact[0]), "payer"
    return None, ""


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
        contact_id__in=contacts, status__in=list(OPEN_STATUSES), kind=InvoiceKind.INVOICE,
        currency=notice.currency.upper(),
    ).order_by("due_date", "id")
    return list(found)


def _settle(batch: _Batch, payment: Payment | _PaymentRow, invoice: InvoiceLike, rule: str) -> None:
    """Apply a payment to an invoice in memory; rows are written by `_write`."""
    before = {"paid_cents": invoice.paid_cents, "status": invoice.status.value}
    new_paid, balance, surplus = settle_amounts(
        invoice.total_gross_cents, invoice.paid_cents, payment.amount_cents
    )
    invoice.paid_cents = new_paid
    if balance <= 0:
        invoice.status = InvoiceStatus.PAID
        batch.paid_now.add(invoice.id)
    elif new_paid > 0:
        invoice.status = InvoiceStatus.PARTIALLY_PAID
    batch.invoices[invoice.id] = invoice
    payment.invoice_id = invoice.id
    payment.status = PaymentStatus.MATCHED
    payment.matched_by = rule
    payment.surplus_cents = surplus
    batch.cashed.append(CashedPayment(invoice.id, payment.amount_cents - surplus,
                                      payment.booking_date or batch.now.date(), payment.entry_ref))
    if payment.payer_iban:
        batch.ibans.setdefault(payment.payer_iban, invoice.contact_id)
    batch.audits.append({
        "user_id": None, "at": batch.now, "entity": "invoice", "entity_id": str(invoice.id),
        "action": "payment", "before": before,
        "after": {"paid_cents": new_paid, "status": invoice.status.value,
                  "payment": payment.entry_ref},
    })
    payer = payment.payer_name or batch.payer_names.get(invoice.contact_id, "")
    params = {"number": invoice.number or f"#{invoice.id}", "payer": payer,
              "amount_cents": payment.amount_cents, "balance_cents": balance,
              "currency": invoice.currency}
    owner_id: int = invoice.owner_id
    batch.alert(owner_id, "payment_received", f"paid:{payment.entry_ref}", params)
    if surplus:
        batch.alert(owner_id, "payment_surplus", f"surplus:{payment.entry_ref}",
                    {**params, "surplus_cents": surplus})
    batch.outcome.settled += 1
    if invoice.number and invoice.number not in batch.numbers:
        batch.numbers.add(invoice.number)
        batch.outcome.invoices.append(invoice.number)


async def _write(batch: _Batch, payments: list[_PaymentRow]) -> None:
    """Write the batch's rows: payments, invoices, payer IBANs, collection tasks, alerts."""
    if payments:
        await _insert_many(Payment, [p.row(batch.now) for p in payments])
    if batch.invoices:
        await _update_invoices(list(batch.invoices.values()), batch.now)
    if batch.ibans:
        await _remember_ibans(batch.ibans)
    if batch.paid_now:
        await _close_collections(batch)
    await queue_cashed(batch.cashed)
    if batch.outcome.unmatched:
        await _alert_unmatched(batch, [p.entry_ref for p in payments
                                       if p.status == PaymentStatus.UNMATCHED])
    if batch.audits:
        await _insert_many(AuditLog, batch.audits)
    if batch.alerts:
        await _insert_many(Alert, batch.alerts, ignore_conflicts=True)


async def _remember_ibans(ibans: dict[str, int]) -> None:
    keys = list(ibans)
    known: set[str] = set()
    for i in range(0, len(keys), _CHUNK):
        rows = await PayerAccount.filter(iban__in=keys[i:i + _CHUNK]).values_list("iban", flat=True)
        known.update(str(r) for r in rows)
    new = [PayerAccount(iban=k, contact_id=v) for k, v in ibans.items() if k not in known]
    if new:
        await PayerAccount.bulk_create(new, batch_size=_CHUNK, ignore_conflicts=True)


async def _close_collections(batch: _Batch) -> None:
    """Close the open collection task of every invoice paid now (the collections rule)."""
    ids = sorted(batch.paid_now)
    with_task: list[int] = []
    for i in range(0, len(ids), _CHUNK):
        rows = await CollectionTask.filter(invoice_id__in=ids[i:i + _CHUNK],
                                           status=CollectionStatus.OPEN).values_list(
                                               "invoice_id", flat=True)
        with_task += [int(str(r)) for r in rows]
    for invoice_id in with_task:
        await close_for_invoice(invoice_id, batch.now, "paid")


async def _alert_unmatched(batch: _Batch, keys: list[str]) -> None:
    users = await User.filter(role__in=list(UNMATCHED_ROLES), active=True)
    if not users:
        return
    for payment in await Payment.filter(entry_ref__in=keys[:50]):
        params = {"id": payment.id, "amount_cents": payment.amount_cents,
                  "currency": payment.currency, "payer": payment.payer_name or "?"}
        buttons = [{"label": "payments.btn_show", "data": f"pay:show:{payment.id}"}]
        reason = batch.held.get(payment.entry_ref)
        kind = "payment_unmatched" if reason is None else "payment_held"
        if reason is not None:
            params["reason"] = reason
        for user in users:
            batch.alert(user.id, kind, f"unmatched:{payment.id}", params, buttons)


# ---------------------------------------------------------------- messages


async def _message_row(message_id: str, status: InboxStatus, **values: Any) -> InboxMessage:
    """The inbox row of a message (one per Message-ID and status: a re-read reuses it)."""
    row = await InboxMessage.get_or_none(message_id=message_id, status=status)
    if row is None:
        row = await InboxMessage.create(message_id=message_id, status=status, **values)
    return row


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
    notices: Sequence[NoticeLike], *, message_id: str, folder: str, uid: int | None,
    sender: str, subject: str, now: datetime, our_accounts: Sequence[str] | None = None,
) -> tuple[InboxMessage, RecordOutcome]:
    """A trusted message's notices: the inbox row and the payments, in one transaction.

    `our_accounts`: see `record_notices`; a notice held back leaves its reason on the row."""
    async with in_transaction():
        row = await _message_row(
            message_id, InboxStatus.PROCESSED,
            **_clip({"folder": folder, "uid": uid, "sender": sender, "subject": subject}),
        )
        batch = await _record(notices, row, now, our_accounts)
        if batch.held:
            row.reason = "; ".join(sorted(set(batch.held.values())))
            await row.save(update_fields=["reason"])
        return row, batch.outcome


async def quarantine_message(
    *, message_id: str, folder: str, uid: int | None, sender: str, subject: str,
    raw: bytes, reason: str, now: datetime,
) -> InboxMessage:
    """Keep an untrusted message with its reason and tell admins and managers; never settles."""
    return await _keep_for_people(
        InboxStatus.QUARANTINED, "quarantine", "quarantined", message_id=message_id,
        folder=folder, uid=uid, sender=sender, subject=subject, raw=raw, reason=reason,
    )


async def store_unrecognised(
    *, message_id: str, folder: str, uid: int | None, sender: str, subject: str,
    raw: bytes, reason: str, now: datetime,
) -> InboxMessage:
    """Keep a trusted message with nothing recognisable, with the reason, for a human."""
    return await _keep_for_people(
        InboxStatus.UNRECOGNISED, "unrecognised", "mail_unrecognised", message_id=message_id,
        folder=folder, uid=uid, sender=sender, subject=subject, raw=raw, reason=reason,
    )


async def _keep_for_people(
    status: InboxStatus, key: str, kind: str, *, message_id: str, folder: str,
    uid: int | None, sender: str, subject: str, raw: bytes, reason: str,
) -> InboxMessage:
    """The message row and, in the same transaction, one alert per admin and manager."""
    async with in_transaction():
        row = await _message_row(
            message_id, status,
            **_clip({"folder": folder, "uid": uid, "sender": sender, "subject": subject,
                     "raw_message": raw, "reason": reason}),
        )
        params = {"id": row.id, "sender": row.sender, "subject": row.subject, "reason": reason}
        for user in await User.filter(role__in=list(QUARANTINE_ROLES), active=True):
            await Alert.get_or_create(
                dedupe_key=f"{key}:{message_id}:u{user.id}"[:200],
                defaults={"user_id": user.id, "kind": kind, "params": params},
            )
    return row


# ---------------------------------------------------------------- people


async def _invoice_by_reference(ref: int | str) -> Invoice | None:
    """An invoice by id, or by its number typed loosely (`f2026 42`, `F2026-00042`)."""
    if isinstance(ref, int):
        return await Invoice.get_or_none(id=ref, kind=InvoiceKind.INVOICE, number__isnull=False)
    numbers = invoice_numbers_in(ref)
    if len(numbers) != 1:
        return None
    return await Invoice.get_or_none(number=numbers[0], kind=InvoiceKind.INVOICE)


async def match_payment(actor: User, payment_id: int, invoice_ref: int | str, *, now: datetime
                        ) -> tuple[Payment, Invoice]:
    """A person settles an unmatched credit against an open invoice."""
    _check(actor)
    async with in_transaction():
        payment = await Payment.get_or_none(id=payment_id)
        if payment is None:
            raise NotFound("payment", id=payment_id)
        invoice = await _invoice_by_reference(invoice_ref)
        if invoice is None or invoice.number is None:
            raise NotFound("payment_invoice", ref=str(invoice_ref))
        if payment.status != PaymentStatus.UNMATCHED or payment.direction != PaymentDirection.CREDIT:
            raise Conflict("payment_not_unmatched", id=payment_id)
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


async def list_payments(actor: User, which: str = "recent", limit: int = 20) -> list[Payment]:
    """Recent payments, or the unmatched credits waiting for a person."""
    _check(actor)
    query = Payment.all()
    if which == "unmatched":
        query = query.filter(status=PaymentStatus.UNMATCHED, direction=PaymentDirection.CREDIT)
    return list(await query.order_by("-id").limit(limit).prefetch_related("invoice"))


async def list_quarantine(actor: User, limit: int = 20) -> list[InboxMessage]:
    """Quarantined and unrecognised messages, newest first."""
    _check(actor)
    return list(await InboxMessage.filter(
        status__in=[InboxStatus.QUARANTINED, InboxStatus.UNRECOGNISED]
    ).order_by("-id").limit(limit))


async def get_payment(actor: User, payment_id: int) -> Payment:
    _check(actor)
    payment = await Payment.get_or_none(id=payment_id).prefetch_related("invoice")
    if payment is None:
        raise NotFound("payment", id=payment_id)
    return payment


async def likely_invoices(actor: User, payment_id: int, limit: int = 5) -> list[Invoice]:
    """Open invoices an unmatched payment probably settles: the payer's first, then same amount."""
    payment = await get_payment(actor, payment_id)
    mine = await _payer_invoices(payment)
    same = await Invoice.filter(
        Q(status__in=list(OPEN_STATUSES)), kind=InvoiceKind.INVOICE, currency=payment.currency,
    ).filter(total_gross_cents=payment.amount_cents, paid_cents=0).order_by("due_date", "id"
                                                                           ).limit(limit)
    exact = [i for i in mine if i.total_gross_cents - i.paid_cents == payment.amount_cents]
    ordered = _unique([*exact, *same, *mine])
    return ordered[:limit]


def _unique(invoices: Iterable[Invoice]) -> list[Invoice]:
    seen: set[int] = set()
    out = []
    for inv in invoices:
        if inv.id not in seen:
            seen.add(inv.id)
            out.append(inv)
    return out
