"""The invoices a batch of bank entries may change, read in bulk (and locked).

A 10,000-entry statement costs a handful of queries per kind, not one per entry: the
invoices its references name, the payers' open invoices, the keys already recorded. Rows
are read as `InvoiceView`s (the fields matching and settling use), not full models.

Several instances on one PostgreSQL: every invoice a statement may change is locked with
ONE `SELECT ... FOR UPDATE` in ascending id order (`lock_invoices`) before its balance is
read again, so concurrent settlements add up and never wait for each other in a cycle.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from tortoise.queryset import QuerySet

from storage import orm
from storage.models import (
    Contact,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    PayerAccount,
    Payment,
    PaymentDirection,
    PaymentStatus,
)
from storage.payments.accounts import clean_iban
from storage.payments.notices import PaymentNotice
from storage.payments.references import compact_rf, numbers_named, rfs_named

__all__ = [
    "OPEN_STATUSES",
    "InvoiceLike",
    "InvoiceView",
    "existing_keys",
    "invoice_of_original",
    "invoices_where",
    "lock_invoices",
    "lookup_invoices",
    "on_postgres",
    "payer_candidates",
    "payer_contacts",
    "payer_invoices",
]

OPEN_STATUSES = (InvoiceStatus.ISSUED, InvoiceStatus.SENT, InvoiceStatus.PARTIALLY_PAID)
CHUNK = 500


@dataclass
class InvoiceView:
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

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> InvoiceView:
        """A view of a row read by `.values(*VIEW_FIELDS)` (or the locking query)."""
        return cls(**{**row, "status": InvoiceStatus(row["status"])})


InvoiceLike = Invoice | InvoiceView
VIEW_FIELDS = tuple(f.name for f in fields(InvoiceView))
_VIEW_COLUMNS = ", ".join(f'"{c}"' for c in VIEW_FIELDS)


def on_postgres() -> bool:
    """Do invoices live on PostgreSQL (where row locks exist)?"""
    return orm.client(Invoice).capabilities.dialect == "postgres"


def _chunks(values: Sequence[Any]) -> Iterable[list[Any]]:
    for i in range(0, len(values), CHUNK):
        yield list(values[i : i + CHUNK])


async def invoices_where(field: str, values: Sequence[Any]) -> list[InvoiceView]:
    """The invoices (not credit notes) whose `field` is one of `values`, in chunks."""
    out: list[InvoiceView] = []
    for chunk in _chunks(values):
        rows = await Invoice.filter(kind=InvoiceKind.INVOICE, **{f"{field}__in": chunk}).values(*VIEW_FIELDS)
        out += [InvoiceView.from_row(r) for r in rows]
    return out


async def existing_keys(keys: Sequence[str]) -> set[str]:
    """The entry keys among `keys` already recorded as payments."""
    found: set[str] = set()
    for chunk in _chunks(keys):
        found.update(
            str(k) for k in await Payment.filter(entry_ref__in=chunk).values_list("entry_ref", flat=True)
        )
    return found


async def lookup_invoices(
    credits: Iterable[PaymentNotice],
) -> tuple[dict[str, InvoiceView], dict[str, InvoiceView]]:
    """Every invoice named by an RF reference or a number in the batch (by RF, by number)."""
    rfs: set[str] = set()
    numbers: set[str] = set()
    for notice in credits:
        rfs.update(rfs_named(notice))
        numbers.update(numbers_named(notice))
    by_rf = {
        compact_rf(inv.rf_reference) or "": inv for inv in await invoices_where("rf_reference", sorted(rfs))
    }
    by_number = {inv.number or "": inv for inv in await invoices_where("number", sorted(numbers))}
    return by_rf, by_number


async def lock_invoices(ids: Sequence[int]) -> dict[int, InvoiceView]:
    """Lock these invoices for the rest of the transaction and read them (by id).

    PostgreSQL: one `SELECT ... WHERE id = ANY($1) ORDER BY id FOR UPDATE`, whatever the
    number of ids. SQLite: a plain read (writers are serialised on its one connection)."""
    if not ids:
        return {}
    if not on_postgres():
        return {i.id: i for i in await invoices_where("id", list(ids))}
    sql = (
        f'SELECT {_VIEW_COLUMNS} FROM "invoices" WHERE "id" = ANY($1::int[]) '  # noqa: S608
        'AND "kind" = \'invoice\' ORDER BY "id" FOR UPDATE'
    )
    _, rows = await orm.client(Invoice).execute_query(sql, [sorted(ids)])
    return {int(r["id"]): InvoiceView.from_row(dict(r)) for r in rows}


async def payer_contacts(iban: str | None, name: str | None) -> list[int]:
    """The client an IBAN paid for before, else the contacts named exactly like the payer."""
    if iban:
        account = await PayerAccount.get_or_none(iban=iban)
        if account is not None:
            return [account.contact_id]
    clean = " ".join((name or "").split())
    if not clean:
        return []
    rows = await Contact.filter(name__iexact=clean).values_list("id", flat=True)
    return [int(str(r)) for r in rows]


def _open_of(contacts: list[int], currency: str) -> QuerySet[Invoice]:
    return Invoice.filter(
        contact_id__in=contacts,
        status__in=list(OPEN_STATUSES),
        kind=InvoiceKind.INVOICE,
        currency=currency.upper(),
    ).order_by("due_date", "id")


async def payer_invoices(iban: str | None, name: str | None, currency: str) -> list[Invoice]:
    """The payer's open invoices in this currency, by due date."""
    contacts = await payer_contacts(iban, name)
    return list(await _open_of(contacts, currency)) if contacts else []


async def payer_candidates(notice: PaymentNotice) -> list[InvoiceView]:
    """The payer's open invoices in the entry's currency (by due date), read without a lock."""
    contacts = await payer_contacts(clean_iban(notice.payer_iban), notice.payer_name)
    if not contacts:
        return []
    return [InvoiceView.from_row(r) for r in await _open_of(contacts, notice.currency).values(*VIEW_FIELDS)]


async def invoice_of_original(payer_iban: str | None, amount_cents: int, currency: str) -> InvoiceView | None:
    """The invoice settled by the one credit a return mirrors (same payer account, amount
    and currency), when exactly one such credit exists (read without a lock)."""
    if not payer_iban:
        return None
    originals = await Payment.filter(
        direction=PaymentDirection.CREDIT,
        status=PaymentStatus.MATCHED,
        payer_iban=payer_iban,
        amount_cents=amount_cents,
        currency=currency,
        invoice_id__not_isnull=True,
    ).values_list("invoice_id", flat=True)
    ids = {int(str(i)) for i in originals}
    if len(ids) != 1:
        return None
    found = await invoices_where("id", [next(iter(ids))])
    return found[0] if found else None
