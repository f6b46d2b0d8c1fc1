"""Invoices and credit notes: drafts, EN 16931 totals, gapless numbering, issue, send, credit.

Pure rules (totals, due dates, numbers, RF references) take plain values; use-cases run
one transaction each. The company's identity arrives as a plain `Seller` built by the
composition root from the settings: storage never reads settings.

Numbering is gapless per series and year: the number is taken at issue, inside the
issuing transaction, by an atomic `UPDATE number_counters SET last_value = last_value + 1`
(a row lock on PostgreSQL; the SQLite client serialises transactions), backed by the
unique (series, year, seq) constraint. A failed issue rolls the counter back with it.

Issued documents never change: the issuing transaction also renders the numbered document
through the caller's `Render` and stores its bytes (`storage.documents`); every later send
delivers those bytes. A credit note is not a receivable: it has no due date and no payment
reference, is never open or overdue, and when the credited invoice was already (partly)
paid it opens a refund owed to the client (`storage.refunds`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from stdnum import iso11649
from stdnum.iso7064 import mod_97_10
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from storage import audit
from storage.access import can_write_owned, reads_everything
from storage.collections import close_for_invoice
from storage.contacts import get_contact
from storage.documents import Render, freeze
from storage.einvoicing.queue import route_issued
from storage.einvoicing.routing import Route
from storage.errors import Conflict, Forbidden, InvalidInput, NotFound
from storage.invoice_mail import compose
from storage.models import (
    Contact,
    ContactKind,
    DealLine,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    NumberCounter,
    OutboxEmail,
    OutboxStatus,
    User,
)
from storage.outbox import Attachment, queue_email
from storage.parsing import parse_date
from storage.pipeline import get_deal
from storage.products import check_line_input, get_product
from storage.refunds import open_refund
from storage.seller import Seller
from storage.text import check_db_id, fits
from storage.totals import (
    Totals,
    VatRow,
    compute_totals,
    line_discount,
    line_net,
    round_cents,
)
from storage.vat import BuyerTax, Treatment, buyer_tax, check_issuable, line_treatment

__all__ = [
    "CREDIT_SERIES",
    "INVOICE_SERIES",
    "LEGAL_MAX_TERMS_DAYS",
    "InvoiceList",
    "IssueResult",
    "Seller",
    "Totals",
    "VatRow",
    "add_invoice_line",
    "bill_to",
    "cancel_draft",
    "compute_totals",
    "credit_invoice",
    "draft_for_contact",
    "draft_from_deal",
    "due_date_for",
    "find_invoice",
    "format_number",
    "get_invoice",
    "invoice_lines",
    "invoice_totals",
    "issue_invoice",
    "line_discount",
    "line_net",
    "list_invoices",
    "mark_invoice_sent",
    "parse_invoice_ref",
    "remove_invoice_line",
    "rf_reference",
    "round_cents",
    "send_invoice",
    "set_terms",
    "terms_from_text",
    "treated_lines",
]

INVOICE_SERIES = "F"
CREDIT_SERIES = "A"
LEGAL_MAX_TERMS_DAYS = 60
# What a credit note repeats of the invoice it cancels (beyond amounts and lines).
CARRIED_TO_CREDIT = (
    "buyer_reference",
    "purchase_order",
    "period_start",
    "period_end",
    "discount_bp",
    "discount_cents",
    "discount_reason",
)
LINE_CARRIED = ("nature", "vat_exemption", "vat_category", "discount_bp", "discount_cents", "discount_reason")
OPEN_STATUSES = (InvoiceStatus.ISSUED, InvoiceStatus.SENT, InvoiceStatus.PARTIALLY_PAID)
CREDITABLE = (*OPEN_STATUSES, InvoiceStatus.PAID)


# ---------------------------------------------------------------- pure rules


def check_terms(days: int) -> int:
    """Payment terms in days, within the legal maximum of 60 days."""
    if days < 0 or days > LEGAL_MAX_TERMS_DAYS:
        raise InvalidInput("terms", value=days, maximum=LEGAL_MAX_TERMS_DAYS)
    return days


def terms_from_text(text: str, today: date) -> int:
    """Payment terms typed as days (`45`) or as a due date (`31/12`, `+3w`), within 60 days."""
    raw = (text or "").strip().lower().removesuffix("j").removesuffix("d").strip()
    days = int(raw) if raw.isdigit() else (parse_date(text, today) - today).days
    return check_terms(days)


def due_date_for(issue_date: date, terms_days: int) -> date:
    """Issue date + payment terms (capped by law at 60 days)."""
    return issue_date + timedelta(days=check_terms(terms_days))


def format_number(series: str, year: int, seq: int) -> str:
    """`F`, 2026, 42 → `F2026-00042`."""
    return f"{series}{year}-{seq:05d}"


def rf_reference(number: str) -> str:
    """The ISO 11649 creditor reference of an invoice number (`F2026-00042` → `RF..F202600042`)."""
    body = "".join(ch for ch in number.upper() if ch.isalnum())[:21]
    check = mod_97_10.calc_check_digits(body + "RF")
    return iso11649.validate(f"RF{check}{body}")


def parse_invoice_ref(text: str) -> tuple[str, str | int]:
    """`F2026-00042` / `A2026-00001` → ("number", ...); `I7` / `7` → ("id", 7)."""
    raw = (text or "").strip().upper()
    if len(raw) > 2 and raw[0].isalpha() and "-" in raw:
        return "number", raw
    body = raw.removeprefix("#").removeprefix("I")
    if body.isdigit() and len(body) <= 12:
        return "id", int(body)
    raise InvalidInput("invoice_ref", value=text)


# ---------------------------------------------------------------- reading


def visible_invoices(user: User) -> Q:
    if reads_everything(user):
        return Q()
    return Q(owner_id=user.id)


async def get_invoice(actor: User, invoice_id: int) -> Invoice:
    """An invoice the user may see (sales: their own); otherwise NotFound."""
    invoice = await Invoice.filter(visible_invoices(actor), id=invoice_id).first()
    if invoice is None:
        raise NotFound("invoice", ref=f"I{invoice_id}")
    return invoice


async def find_invoice(actor: User, text: str) -> Invoice:
    """By number (`F2026-00042`) or draft id (`I7`)."""
    kind, value = parse_invoice_ref(text)
    if kind == "id":
        return await get_invoice(actor, check_db_id(int(value), "invoice", ref=f"I{value}"))
    if not fits(str(value), 32):  # longer than any invoice number
        raise NotFound("invoice", ref=str(value)[:32])
    invoice = await Invoice.filter(visible_invoices(actor), number=str(value)).first()
    if invoice is None:
        raise NotFound("invoice", ref=str(value))
    return invoice


async def invoice_lines(invoice_id: int) -> list[InvoiceLine]:
    return list(await InvoiceLine.filter(invoice_id=invoice_id).order_by("position", "id"))


_SCOPES = {
    "": "all",
    "all": "all",
    "toutes": "all",
    "draft": "draft",
    "drafts": "draft",
    "brouillon": "draft",
    "brouillons": "draft",
    "open": "open",
    "ouvertes": "open",
    "ouverte": "open",
    "overdue": "overdue",
    "retard": "overdue",
    "echues": "overdue",
    "échues": "overdue",
    "paid": "paid",
    "payees": "paid",
    "payées": "paid",
}


@dataclass(frozen=True)
class InvoiceList:
    """A page of invoices and the total of the WHOLE scope per currency; `scope` says what
    the total counts (`draft`: drafts; `open`/`overdue`: what is still due on invoices;
    `paid`: paid invoices; `all`: issued invoices minus credit notes, so that an invoice
    cancelled by its credit note counts for nothing; drafts left out)."""

    scope: str
    rows: list[Invoice]
    totals: dict[str, int]


def _scope_query(actor: User, scope: str, today: date) -> Any:
    query = Invoice.filter(visible_invoices(actor))
    if scope == "draft":
        return query.filter(status=InvoiceStatus.DRAFT)
    if scope == "open":
        return query.filter(status__in=list(OPEN_STATUSES), kind=InvoiceKind.INVOICE)
    if scope == "overdue":
        return query.filter(status__in=list(OPEN_STATUSES), kind=InvoiceKind.INVOICE, due_date__lt=today)
    if scope == "paid":
        return query.filter(status=InvoiceStatus.PAID, kind=InvoiceKind.INVOICE)
    return query


async def _scope_totals(actor: User, scope: str, today: date) -> dict[str, int]:
    totals: dict[str, int] = {}
    query = _scope_query(actor, scope, today)
    if scope == "all":  # invoiced minus credited: a cancelled invoice nets to nothing
        query = query.exclude(status=InvoiceStatus.DRAFT)
    for row in await query.values("currency", "kind", "total_gross_cents", "paid_cents"):
        amount = int(row["total_gross_cents"])
        if scope in ("open", "overdue"):
            amount -= int(row["paid_cents"])
        if row["kind"] == InvoiceKind.CREDIT_NOTE:
            amount = -amount
        totals[row["currency"]] = totals.get(row["currency"], 0) + amount
    return totals


async def list_invoices(actor: User, scope: str, today: date, limit: int = 30) -> InvoiceList:
    """`draft`, `open`, `overdue`, `paid` or all (newest first), with the scope's total per
    currency. Credit notes are never open, overdue or paid: they appear in `all` only."""
    name = _SCOPES.get((scope or "").strip().lower())
    if name is None:
        raise InvalidInput("invoice_scope", value=scope)
    found = list(
        await _scope_query(actor, name, today).prefetch_related("contact").order_by("-id").limit(limit)
    )
    return InvoiceList(name, found, await _scope_totals(actor, name, today))


# ---------------------------------------------------------------- drafts


async def bill_to(contact: Contact) -> Contact:
    """Who is billed: a person's company when the person belongs to one, else the contact."""
    company_id: int | None = contact.company_id
    if contact.kind == ContactKind.PERSON and company_id is not None:
        company = await Contact.get_or_none(id=company_id)
        if company is not None:
            return company
    return contact


async def treated_lines(
    invoice: Invoice, seller_country: str = "FR"
) -> tuple[list[InvoiceLine], list[Treatment], BuyerTax]:
    """The lines of an invoice with their VAT treatment (fixed once issued; for a draft,
    from the client's live billing data)."""
    lines = await invoice_lines(invoice.id)
    buyer = buyer_tax(await Contact.get(id=invoice.contact_id), seller_country)
    return lines, [line_treatment(ln, seller_country, buyer) for ln in lines], buyer


def invoice_totals(invoice: Invoice, lines: Iterable[InvoiceLine], treatments: Iterable[Treatment]) -> Totals:
    """The totals of an invoice's lines under their treatments, with its document discount."""
    return compute_totals(
        (
            (ln.net_cents, t.rate_bp, t.category.value, t.reason)
            for ln, t in zip(lines, treatments, strict=True)
        ),
        discount_bp=invoice.discount_bp,
        discount_cents=invoice.discount_cents,
        discount_reason=invoice.discount_reason,
    )


async def _recompute(invoice: Invoice, seller_country: str = "FR") -> Totals:
    lines, treatments, _ = await treated_lines(invoice, seller_country)
    totals = invoice_totals(invoice, lines, treatments)
    invoice.total_net_cents = totals.net_cents
    invoice.total_vat_cents = totals.vat_cents
    invoice.total_gross_cents = totals.gross_cents
    invoice.total_allowance_cents = totals.allowance_cents
    await invoice.save(
        update_fields=[
            "total_net_cents",
            "total_vat_cents",
            "total_gross_cents",
            "total_allowance_cents",
            "updated_at",
        ]
    )
    return totals


async def draft_from_deal(actor: User, deal_id: int, seller: Seller) -> Invoice:
    """A draft invoice from a won deal's lines (the existing draft when there is one)."""
    deal = await get_deal(actor, deal_id)
    if not deal.stage.is_won:
        raise Conflict("deal_not_won", id=deal.id)
    existing = (
        await Invoice.filter(deal_id=deal.id, kind=InvoiceKind.INVOICE)
        .exclude(status=InvoiceStatus.CANCELLED)
        .order_by("id")
        .first()
    )
    if existing is not None:
        if existing.status == InvoiceStatus.DRAFT:
            return existing
        raise Conflict("deal_invoiced", id=deal.id, number=existing.number)
    lines = await DealLine.filter(deal_id=deal.id).prefetch_related("product").order_by("id")
    if not lines:
        raise Conflict("deal_no_lines", id=deal.id)
    for line in lines:
        _check_rate(line.vat_rate_bp, seller)
    customer = await bill_to(deal.contact)
    async with in_transaction():
        invoice = await Invoice.create(
            contact=customer,
            deal=deal,
            owner=deal.owner,
            currency=deal.currency,
            language=customer.invoice_language or "fr",
            payment_terms_days=check_terms(seller.payment_terms_days),
            sale_date=deal.won_at.astimezone(seller.tz).date() if deal.won_at else None,
        )
        for position, line in enumerate(lines, start=1):
            await InvoiceLine.create(
                invoice=invoice,
                position=position,
                product=line.product,
                description=f"{line.product.sku} {line.product.name}"[:300],
                quantity=line.quantity,
                unit=line.product.unit,
                unit_price_cents=line.unit_price_cents,
                vat_rate_bp=line.vat_rate_bp,
                net_cents=line_net(line.quantity, line.unit_price_cents),
                nature=line.nature,
                vat_exemption=line.product.vat_exemption,
            )
        await _recompute(invoice, seller.country)
        await audit.record(actor, "invoice", invoice.id, "draft", None, {"deal": deal.id})
    return invoice


async def draft_for_contact(actor: User, contact_id: int, seller: Seller) -> Invoice:
    """An empty draft invoice for a contact (its company when it has one)."""
    contact = await get_contact(actor, contact_id, add=True)
    customer = await bill_to(contact)
    async with in_transaction():
        invoice = await Invoice.create(
            contact=customer,
            owner=actor,
            currency=seller.currency,
            language=customer.invoice_language or "fr",
            payment_terms_days=check_terms(seller.payment_terms_days),
        )
        await audit.record(actor, "invoice", invoice.id, "draft", None, {"contact": customer.id})
    return invoice


def _check_rate(rate_bp: int, seller: Seller) -> None:
    if rate_bp not in seller.vat_rates_bp:
        choices = ", ".join(f"{Decimal(b) / 100:g} %" for b in seller.vat_rates_bp)
        raise InvalidInput("vat_rate", value=f"{Decimal(rate_bp) / 100:g}", choices=choices)


def _check_write(actor: User, invoice: Invoice) -> None:
    """Collections staff read every invoice but change none: only the owner or a manager."""
    if not can_write_owned(actor, invoice.owner_id):
        raise Forbidden("invoice_write", ref=invoice.number or f"I{invoice.id}")


async def _draft(actor: User, invoice_id: int) -> Invoice:
    invoice = await get_invoice(actor, invoice_id)
    _check_write(actor, invoice)
    if invoice.status != InvoiceStatus.DRAFT:
        raise Conflict("invoice_not_draft", ref=invoice.number or f"I{invoice.id}")
    return invoice


async def add_invoice_line(
    actor: User,
    invoice_id: int,
    sku: str,
    quantity: Decimal,
    seller: Seller,
    unit_price_cents: int | None = None,
) -> InvoiceLine:
    """Add a catalogue line to a draft invoice."""
    check_line_input(quantity, unit_price_cents)
    invoice = await _draft(actor, invoice_id)
    product = await get_product(sku)
    _check_rate(product.vat_rate_bp, seller)
    if product.currency != invoice.currency:
        raise InvalidInput("line_currency", sku=product.sku, currency=invoice.currency)
    price = product.unit_price_cents if unit_price_cents is None else unit_price_cents
    async with in_transaction():
        position = await InvoiceLine.filter(invoice_id=invoice.id).count() + 1
        line = await InvoiceLine.create(
            invoice=invoice,
            position=position,
            product=product,
            description=f"{product.sku} {product.name}"[:300],
            quantity=quantity,
            unit=product.unit,
            unit_price_cents=price,
            vat_rate_bp=product.vat_rate_bp,
            net_cents=line_net(quantity, price),
            nature=product.nature,
            vat_exemption=product.vat_exemption,
        )
        await _recompute(invoice, seller.country)
        await audit.record(
            actor, "invoice", invoice.id, "add_line", None, {"sku": product.sku, "quantity": str(quantity)}
        )
    return line


async def remove_invoice_line(actor: User, line_id: int) -> Invoice:
    """Remove a line of a draft invoice."""
    line = await InvoiceLine.get_or_none(id=line_id)
    if line is None:
        raise NotFound("invoice_line", id=line_id)
    invoice = await _draft(actor, line.invoice_id)
    async with in_transaction():
        await line.delete()
        await _recompute(invoice)
        await audit.record(actor, "invoice", invoice.id, "remove_line", {"line": line_id}, None)
    return invoice


async def set_terms(actor: User, invoice_id: int, days: int) -> Invoice:
    """Change a draft's payment terms (the due date is issue date + terms, at most 60 days)."""
    check_terms(days)
    invoice = await _draft(actor, invoice_id)
    async with in_transaction():
        before = audit.snapshot(invoice, ["payment_terms_days"])
        invoice.payment_terms_days = days
        await invoice.save(update_fields=["payment_terms_days", "updated_at"])
        await audit.record(actor, "invoice", invoice.id, "terms", before, {"payment_terms_days": days})
    return invoice


async def cancel_draft(actor: User, invoice_id: int) -> None:
    """Delete a draft (an issued invoice is only ever cancelled by a credit note)."""
    invoice = await _draft(actor, invoice_id)
    async with in_transaction():
        await InvoiceLine.filter(invoice_id=invoice.id).delete()
        await invoice.delete()
        await audit.record(actor, "invoice", invoice_id, "delete_draft", None, None)


# ---------------------------------------------------------------- issue, send, credit


@dataclass(frozen=True)
class IssueResult:
    invoice: Invoice
    queued: bool
    email: str | None = None
    pa: bool = False  # queued for the e-invoicing platform


async def _ensure_counter(series: str, year: int) -> None:
    if await NumberCounter.filter(series=series, year=year).exists():
        return
    with contextlib.suppress(IntegrityError):  # created concurrently: fine
        await NumberCounter.create(series=series, year=year, last_value=0)


async def _take_number(series: str, year: int) -> int:
    """Next value of the counter (call inside the issuing transaction)."""
    await NumberCounter.filter(series=series, year=year).update(last_value=F("last_value") + 1)
    counter = await NumberCounter.get(series=series, year=year)
    return counter.last_value


def _missing_for_issue(customer: Contact) -> str | None:
    return None if (customer.billing_address or "").strip() else "billing_address"


async def issue_invoice(
    actor: User, invoice_id: int, seller: Seller, today: date, *, render: Render
) -> IssueResult:
    """Number a draft (gapless), fix its dates and RF reference, freeze its PDF (`render`),
    queue its email if possible — one transaction."""
    invoice = await _draft(actor, invoice_id)
    lines = await invoice_lines(invoice.id)
    if not lines:
        raise Conflict("invoice_empty", ref=f"I{invoice.id}")
    for line in lines:
        _check_rate(line.vat_rate_bp, seller)
    customer = await Contact.get(id=invoice.contact_id)
    if (missing := _missing_for_issue(customer)) is not None:
        raise InvalidInput(
            f"invoice_no_{missing}", field=missing, contact=f"C{customer.id}", name=customer.name
        )
    lines, treatments, buyer = await treated_lines(invoice, seller.country)
    check_issuable(treatments, buyer, seller.vat, f"C{customer.id}")
    due = due_date_for(today, invoice.payment_terms_days)
    series = CREDIT_SERIES if invoice.kind == InvoiceKind.CREDIT_NOTE else INVOICE_SERIES
    await _ensure_counter(series, today.year)
    async with in_transaction():
        await _fix_treatments(lines, treatments)
        invoice = await _issue_locked(actor, invoice, series, today, due, customer)
        await freeze(invoice.id, render)
        queued = False
        route = await route_issued(invoice, customer, pa_enabled=seller.pa_enabled)
        if customer.billing_email and route != Route.PA:
            queued = await _queue_invoice_email(invoice, customer, seller) is not None
    return IssueResult(invoice, queued, customer.billing_email if queued else None, pa=route != Route.EMAIL)


async def _fix_treatments(lines: list[InvoiceLine], treatments: list[Treatment]) -> None:
    """At issue, each line keeps the VAT category, rate and reason it was issued with."""
    for line, treatment in zip(lines, treatments, strict=True):
        line.vat_category = treatment.category
        line.vat_rate_bp = treatment.rate_bp
        line.vat_exemption = treatment.reason
        await line.save(update_fields=["vat_category", "vat_rate_bp", "vat_exemption"])


async def _issue_locked(
    actor: User | None,
    invoice: Invoice,
    series: str,
    today: date,
    due: date | None,
    customer: Contact,
) -> Invoice:
    claimed = await Invoice.filter(id=invoice.id, status=InvoiceStatus.DRAFT).update(
        status=InvoiceStatus.ISSUED
    )
    if not claimed:
        raise Conflict("invoice_not_draft", ref=f"I{invoice.id}")
    seq = await _take_number(series, today.year)
    number = format_number(series, today.year, seq)
    totals = await _recompute(invoice)
    invoice.status = InvoiceStatus.ISSUED
    invoice.series, invoice.year, invoice.seq, invoice.number = series, today.year, seq, number
    invoice.issue_date, invoice.due_date = today, due
    invoice.sale_date = invoice.sale_date or today
    # A credit note is paid by nobody: no payment reference (nor due date).
    credit = invoice.kind == InvoiceKind.CREDIT_NOTE
    invoice.rf_reference = None if credit else rf_reference(number)
    invoice.language = customer.invoice_language or invoice.language
    await invoice.save(
        update_fields=[
            "status",
            "series",
            "year",
            "seq",
            "number",
            "issue_date",
            "due_date",
            "sale_date",
            "rf_reference",
            "language",
            "updated_at",
        ]
    )
    await audit.record(
        actor,
        "invoice",
        invoice.id,
        "issue",
        None,
        {"number": number, "gross_cents": totals.gross_cents, "due_date": due.isoformat() if due else None},
    )
    return invoice


def _missing_for_send(customer: Contact) -> str | None:
    if not (customer.billing_email or "").strip():
        return "billing_email"
    if not (customer.billing_address or "").strip():
        return "billing_address"
    return None


async def _queue_invoice_email(invoice: Invoice, customer: Contact, seller: Seller) -> OutboxEmail | None:
    owner = await User.get(id=invoice.owner_id)
    sends = await OutboxEmail.filter(invoice_id=invoice.id, purpose="invoice").count()
    original = await Invoice.get_or_none(id=invoice.credit_of_id) if invoice.credit_of_id else None
    message = compose(
        invoice,
        customer,
        seller,
        owner_name=owner.name,
        original_number=original.number if original else None,
    )
    assert invoice.number is not None
    return await queue_email(
        dedupe_key=f"invoice:{invoice.id}:{sends + 1}",
        message_id=f"<invoice-{invoice.id}-{sends + 1}.{invoice.number}@{seller.mail_domain}>",
        to=[customer.billing_email or ""],
        subject=message.subject,
        body_text=message.text,
        body_html=message.html,
        reply_to=owner.email or None,
        attachments=[
            Attachment(filename=f"{invoice.number}.pdf", mimetype="application/pdf", invoice_id=invoice.id)
        ],
        owner=owner,
        invoice=invoice,
        purpose="invoice",
    )


async def send_invoice(actor: User, ref: str, seller: Seller) -> OutboxEmail:
    """Queue an issued invoice's email to the client's billing address (sent by the outbox job)."""
    invoice = await find_invoice(actor, ref)
    if invoice.status in (InvoiceStatus.DRAFT,):
        raise Conflict("invoice_draft", ref=f"I{invoice.id}")
    if invoice.status == InvoiceStatus.CANCELLED:
        raise Conflict("invoice_cancelled", ref=invoice.number)
    customer = await Contact.get(id=invoice.contact_id)
    if (missing := _missing_for_send(customer)) is not None:
        raise InvalidInput(
            f"invoice_no_{missing}", field=missing, contact=f"C{customer.id}", name=customer.name
        )
    pending = await OutboxEmail.filter(
        invoice_id=invoice.id, purpose="invoice", status__in=[OutboxStatus.PENDING, OutboxStatus.SENDING]
    ).exists()
    if pending:
        raise Conflict("invoice_queued", ref=invoice.number)
    async with in_transaction():
        email = await _queue_invoice_email(invoice, customer, seller)
        await audit.record(actor, "invoice", invoice.id, "send", None, {"to": customer.billing_email})
    if email is None:  # pragma: no cover - the dedupe key is fresh by construction
        raise Conflict("invoice_queued", ref=invoice.number)
    return email


async def mark_invoice_sent(invoice_id: int) -> bool:
    """The outbox delivered the invoice email: issued → sent (later states are kept)."""
    updated = await Invoice.filter(id=invoice_id, status=InvoiceStatus.ISSUED).update(
        status=InvoiceStatus.SENT
    )
    return bool(updated)


async def credit_invoice(
    actor: User,
    ref: str,
    reason: str,
    seller: Seller,
    today: date,
    *,
    render: Render,
    now: datetime | None = None,
) -> Invoice:
    """Cancel an issued invoice by a credit note numbered in its own series, frozen like an
    invoice. When the invoice was already (partly) paid, what the client paid becomes a
    refund owed to them (`storage.refunds`); an open collection task on it closes."""
    now = now or datetime.now(UTC)
    reason = " ".join((reason or "").split())
    if not reason:
        raise InvalidInput("credit_reason")
    original = await find_invoice(actor, ref)
    _check_write(actor, original)
    if original.kind != InvoiceKind.INVOICE:
        raise Conflict("not_creditable", ref=original.number or f"I{original.id}")
    if original.status == InvoiceStatus.DRAFT:
        raise Conflict("invoice_draft", ref=f"I{original.id}")
    if original.status not in CREDITABLE:
        raise Conflict("not_creditable", ref=original.number)
    lines = await invoice_lines(original.id)
    customer = await Contact.get(id=original.contact_id)
    await _ensure_counter(CREDIT_SERIES, today.year)
    async with in_transaction():
        cancelled = await Invoice.filter(id=original.id, status__in=list(CREDITABLE)).update(
            status=InvoiceStatus.CANCELLED
        )
        if not cancelled:
            raise Conflict("not_creditable", ref=original.number)
        credit = await Invoice.create(
            kind=InvoiceKind.CREDIT_NOTE,
            series=CREDIT_SERIES,
            contact_id=original.contact_id,
            deal_id=original.deal_id,
            owner_id=original.owner_id,
            credit_of=original,
            currency=original.currency,
            language=original.language,
            reason=reason,
            payment_terms_days=0,
            sale_date=original.sale_date,
            **{f: getattr(original, f) for f in CARRIED_TO_CREDIT},
        )
        for line in lines:
            await InvoiceLine.create(
                invoice=credit,
                position=line.position,
                product_id=line.product_id,
                description=line.description,
                quantity=line.quantity,
                unit=line.unit,
                unit_price_cents=line.unit_price_cents,
                vat_rate_bp=line.vat_rate_bp,
                net_cents=line.net_cents,
                **{f: getattr(line, f) for f in LINE_CARRIED},
            )
        credit = await _issue_locked(actor, credit, CREDIT_SERIES, today, None, customer)
        await freeze(credit.id, render)
        # Paid so far, read again after the cancelling UPDATE: no payment can land after it.
        fresh = await Invoice.get(id=original.id)
        await open_refund(credit, fresh.paid_cents, now)
        await close_for_invoice(original.id, now, reason="credited")
        await audit.record(
            actor, "invoice", original.id, "credit", None, {"credit_note": credit.number, "reason": reason}
        )
        route = await route_issued(credit, customer, pa_enabled=seller.pa_enabled)
        if customer.billing_email and customer.billing_address and route != Route.PA:
            await _queue_invoice_email(credit, customer, seller)
    return credit
