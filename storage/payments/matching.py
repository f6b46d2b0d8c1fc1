"""Which invoice a bank entry settles: pure rules over invoices already read (and locked).

Matching, in order (`Match.rule`, stored as `Payment.matched_by`):

    rf       the structured creditor reference (ISO 11649 "RF..") equals `Invoice.rf_reference`
    number   exactly one invoice number found in the remittance text (spaces, dashes, case free)
    payer    exactly one open invoice of the payer (IBAN seen before on the client, or the
             client's name) whose remaining balance equals the amount
    batch    several invoices named, whose open amounts add up exactly to the entry
    credited the one invoice named was cancelled by a credit note (the money is owed back)

Several references in one entry settle them all only when their open amounts add up
exactly to the entry; otherwise the payment waits for a person, with the candidates in its
note. Anything else stays unmatched for a human. (`manual` is a person's choice: see
`storage.payments.manual`.) Within a batch an earlier entry may already have changed an
invoice: `touched` holds the batch's current copy of each invoice, which wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from storage.models import InvoiceStatus
from storage.payments.invoices import OPEN_STATUSES, InvoiceLike, InvoiceView
from storage.payments.notes import Note, invoices_do_not_add_up
from storage.payments.notices import PaymentNotice
from storage.payments.references import numbers_named, rfs_named

__all__ = [
    "Match",
    "allocate_batch",
    "is_open",
    "match",
    "names_known",
    "open_cents",
    "returnable",
    "returned_invoice",
]


@dataclass
class Match:
    """The invoices an entry settles (none: it waits) and the rule that chose them."""

    invoices: list[InvoiceLike] = field(default_factory=list)
    rule: str = ""
    note: Note | None = None  # why several invoices named were not settled, for /match


def is_open(invoice: InvoiceLike) -> bool:
    """Can the invoice still receive money (issued, sent or partially paid)?"""
    return invoice.status in OPEN_STATUSES


def open_cents(invoice: InvoiceLike) -> int:
    """What is left to pay on the invoice."""
    return invoice.total_gross_cents - invoice.paid_cents


def allocate_batch(amount_cents: int, open_amounts: Sequence[int]) -> bool:
    """May an entry naming several invoices settle them all? Only when their open amounts
    add up exactly to the entry (no guessing which one was paid short)."""
    return len(open_amounts) > 1 and all(c > 0 for c in open_amounts) and sum(open_amounts) == amount_cents


def returnable(invoice: InvoiceLike, currency: str) -> bool:
    """May a return take money back from this invoice (paid, not cancelled, same currency)?"""
    return (
        invoice.paid_cents > 0
        and invoice.currency == currency
        and invoice.status in (InvoiceStatus.PAID, InvoiceStatus.PARTIALLY_PAID)
    )


def names_known(
    notice: PaymentNotice, by_rf: dict[str, InvoiceView], by_number: dict[str, InvoiceView]
) -> bool:
    """Does the entry name (by RF or number) an invoice that exists?"""
    return any(r in by_rf for r in rfs_named(notice)) or any(n in by_number for n in numbers_named(notice))


def _usable(invoice: InvoiceLike, notice: PaymentNotice) -> bool:
    return invoice.currency == notice.currency.upper() and (
        is_open(invoice) or invoice.status == InvoiceStatus.PAID
    )


def match(
    notice: PaymentNotice,
    by_rf: dict[str, InvoiceView],
    by_number: dict[str, InvoiceView],
    touched: dict[int, InvoiceLike],
    payer_invoices: Sequence[InvoiceLike] = (),
) -> Match:
    """The invoices an entry settles and the rule, from the invoices it names (`by_rf`,
    `by_number`) or else the payer's open ones; a chosen invoice joins `touched`."""
    hits = {by_rf[r].id: by_rf[r] for r in rfs_named(notice) if r in by_rf}
    if len(hits) == 1:
        inv = next(iter(hits.values()))
        if _usable(inv, notice):
            return Match([touched.setdefault(inv.id, inv)], "rf")
    by_numbers = {by_number[n].id: by_number[n] for n in numbers_named(notice) if n in by_number}
    if len(hits) <= 1 and len(by_numbers) == 1:
        inv = next(iter(by_numbers.values()))
        if _usable(inv, notice):
            return Match([touched.setdefault(inv.id, inv)], "number")
    named = {**hits, **by_numbers}
    if len(named) == 1:
        inv = next(iter(named.values()))
        if inv.status == InvoiceStatus.CANCELLED and inv.currency == notice.currency.upper():
            return Match([inv], "credited")
    if len(named) > 1:
        return _batch_allocation(notice, named, touched)
    if named:
        return Match()
    candidates = [i for i in (touched.get(f.id, f) for f in payer_invoices) if is_open(i)]
    exact = [i for i in candidates if open_cents(i) == notice.amount_cents]
    if len(exact) == 1:
        return Match([touched.setdefault(exact[0].id, exact[0])], "payer")
    return Match()


def _batch_allocation(
    notice: PaymentNotice, named: dict[int, InvoiceView], touched: dict[int, InvoiceLike]
) -> Match:
    """Several invoices named by one entry: all of them when their open amounts add up to
    the entry exactly, else none (the candidates go to the payment's note for /match)."""
    invoices = sorted((touched.get(i.id, i) for i in named.values()), key=lambda i: i.number or "")
    currency = notice.currency.upper()
    usable = all(is_open(i) and i.currency == currency for i in invoices)
    if usable and allocate_batch(notice.amount_cents, [open_cents(i) for i in invoices]):
        return Match([touched.setdefault(i.id, i) for i in invoices], "batch")
    candidates = [(i.number or "", i.status.value, open_cents(i), i.currency) for i in invoices]
    return Match([], "batch", invoices_do_not_add_up(notice.amount_cents, currency, candidates))


def returned_invoice(
    notice: PaymentNotice,
    by_rf: dict[str, InvoiceView],
    by_number: dict[str, InvoiceView],
    touched: dict[int, InvoiceLike],
) -> InvoiceLike | None:
    """The one invoice a return names that it may take money back from, else None."""
    hits = {by_rf[r].id: by_rf[r] for r in rfs_named(notice) if r in by_rf}
    hits.update({by_number[n].id: by_number[n] for n in numbers_named(notice) if n in by_number})
    usable = [touched.get(i.id, i) for i in hits.values()]
    usable = [i for i in usable if returnable(i, notice.currency.upper())]
    if len(usable) != 1:
        return None
    return touched.setdefault(usable[0].id, usable[0])
