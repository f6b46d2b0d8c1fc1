"""What a draft invoice carries beyond its lines: the buyer's references (BT-10, BT-13), the
invoicing period (BG-14), the document discount (BG-20) and line discounts (BG-27).

Each use-case changes a draft only (an issued invoice never changes), in one transaction,
and recomputes the totals. Discounts are typed as a percentage (`10%`, `2,5 %`) or an
amount (`50`, `12,50`); a discount other than zero needs its reason (EN 16931 BR-33/BR-42).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from tortoise.transactions import in_transaction

from storage import audit
from storage.contacts import get_contact, set_billing
from storage.errors import Conflict, InvalidInput, NotFound
from storage.invoicing import (
    Seller,
    _draft,
    _recompute,
    get_invoice,
    line_discount,
    line_net,
    send_invoice,
)
from storage.models import Contact, Invoice, InvoiceLine, OutboxEmail, User
from storage.parsing import parse_amount_cents

__all__ = [
    "MAX_PERIOD_DAYS",
    "Discount",
    "adopt_billing_email",
    "billing_email_offer",
    "check_reference",
    "parse_discount",
    "set_invoice_discount",
    "set_line_discount",
    "set_period",
    "set_references",
]

MAX_REF = 100
MAX_REASON = 100
MAX_PERIOD_DAYS = 366 * 5


@dataclass(frozen=True)
class Discount:
    percent_bp: int = 0
    amount_cents: int = 0

    @property
    def none(self) -> bool:
        return not self.percent_bp and not self.amount_cents


def parse_discount(text: str) -> Discount:
    """`10%` / `2,5 %` → a percentage (basis points, 0 < p ≤ 100 %); `50` / `12,50` → an
    amount in cents; `0` → no discount."""
    raw = (text or "").strip()
    if raw in ("0", "-", "0%", "0 %"):
        return Discount()
    if raw.endswith("%"):
        try:
            value = Decimal(raw[:-1].strip().replace(",", "."))
        except InvalidOperation:
            raise InvalidInput("discount", value=text) from None
        bp = value * 100
        if bp != bp.to_integral_value() or not 0 <= bp <= 10000:
            raise InvalidInput("discount", value=text)
        return Discount(percent_bp=int(bp))
    try:
        cents = parse_amount_cents(raw)
    except InvalidInput:
        raise InvalidInput("discount", value=text) from None
    if cents < 0:
        raise InvalidInput("discount", value=text)
    return Discount(amount_cents=cents)


def check_reference(text: str | None, field: str = "reference") -> str | None:
    """A printable reference of at most 100 characters (empty clears it)."""
    value = " ".join((text or "").split())
    if not value:
        return None
    if len(value) > MAX_REF or any(unicodedata.category(ch).startswith("C") for ch in value):
        raise InvalidInput(field, value=value[:MAX_REF])
    return value


def _reason(reason: str | None, discount: Discount) -> str | None:
    value = " ".join((reason or "").split())[:MAX_REASON] or None
    if not discount.none and value is None:
        raise InvalidInput("discount_reason")
    return None if discount.none else value


async def set_references(
    actor: User,
    invoice_id: int,
    *,
    purchase_order: str | None = None,
    buyer_reference: str | None = None,
) -> Invoice:
    """Set the client's purchase order number (BT-13) and/or its buyer reference (BT-10)."""
    values: dict[str, str | None] = {}
    if purchase_order is not None:
        values["purchase_order"] = check_reference(purchase_order, "purchase_order")
    if buyer_reference is not None:
        values["buyer_reference"] = check_reference(buyer_reference, "buyer_reference")
    invoice = await _draft(actor, invoice_id)
    async with in_transaction():
        before = audit.snapshot(invoice, list(values))
        for key, value in values.items():
            setattr(invoice, key, value)
        await invoice.save(update_fields=[*values, "updated_at"])
        await audit.record(actor, "invoice", invoice.id, "references", before, values)
    return invoice


async def set_period(actor: User, invoice_id: int, start: date | None, end: date | None) -> Invoice:
    """The invoicing period of a subscription or a service (BG-14); both empty clears it."""
    if (start is None) != (end is None):
        raise InvalidInput("invoice_period")
    if start is not None and end is not None and not 0 <= (end - start).days <= MAX_PERIOD_DAYS:
        raise InvalidInput("invoice_period")
    invoice = await _draft(actor, invoice_id)
    async with in_transaction():
        before = audit.snapshot(invoice, ["period_start", "period_end"])
        invoice.period_start, invoice.period_end = start, end
        await invoice.save(update_fields=["period_start", "period_end", "updated_at"])
        await audit.record(
            actor,
            "invoice",
            invoice.id,
            "period",
            before,
            {"start": start.isoformat() if start else None, "end": end.isoformat() if end else None},
        )
    return invoice


async def set_invoice_discount(
    actor: User, invoice_id: int, discount: Discount, reason: str | None, seller_country: str
) -> Invoice:
    """The document-level discount (BG-20): shared out over the VAT rows pro rata."""
    reason = _reason(reason, discount)
    invoice = await _draft(actor, invoice_id)
    lines_total = sum(ln.net_cents for ln in await InvoiceLine.filter(invoice_id=invoice.id))
    if discount.amount_cents > lines_total:
        raise InvalidInput("discount_too_large", value=discount.amount_cents)
    async with in_transaction():
        before = audit.snapshot(invoice, ["discount_bp", "discount_cents", "discount_reason"])
        invoice.discount_bp, invoice.discount_cents = discount.percent_bp, discount.amount_cents
        invoice.discount_reason = reason
        await invoice.save(update_fields=["discount_bp", "discount_cents", "discount_reason", "updated_at"])
        await _recompute(invoice, seller_country)
        await audit.record(
            actor,
            "invoice",
            invoice.id,
            "discount",
            before,
            {"bp": discount.percent_bp, "cents": discount.amount_cents, "reason": reason},
        )
    return invoice


async def set_line_discount(
    actor: User,
    invoice_id: int,
    position: int,
    discount: Discount,
    reason: str | None,
    seller_country: str,
) -> InvoiceLine:
    """A line discount (BG-27): the line's net amount is quantity × price less it."""
    reason = _reason(reason, discount)
    invoice = await _draft(actor, invoice_id)
    lines = await InvoiceLine.filter(invoice_id=invoice.id).order_by("position", "id")
    if not 1 <= position <= len(lines):
        raise NotFound("invoice_line", id=position)
    line = lines[position - 1]
    gross = line_net(Decimal(line.quantity), line.unit_price_cents)
    if discount.amount_cents > gross:
        raise InvalidInput("discount_too_large", value=discount.amount_cents)
    async with in_transaction():
        line.discount_bp = discount.percent_bp
        line.discount_cents = line_discount(
            Decimal(line.quantity), line.unit_price_cents, discount.percent_bp, discount.amount_cents
        )
        line.discount_reason = reason
        line.net_cents = gross - line.discount_cents
        await line.save(update_fields=["discount_bp", "discount_cents", "discount_reason", "net_cents"])
        await _recompute(invoice, seller_country)
        await audit.record(
            actor,
            "invoice",
            invoice.id,
            "line_discount",
            None,
            {"line": position, "cents": line.discount_cents, "reason": reason},
        )
    return line


async def billing_email_offer(actor: User, contact_id: int) -> str | None:
    """The address a client without a billing email could be billed at: its own email, or
    the first of its people's (None when it has a billing email or no address at all)."""
    contact = await get_contact(actor, contact_id)
    if contact.billing_email:
        return None
    if contact.email:
        return contact.email
    member = (
        await Contact.filter(company_id=contact.id, email__not_isnull=True)
        .exclude(email="")
        .order_by("id")
        .first()
    )
    return member.email if member else None


async def adopt_billing_email(
    actor: User, contact_id: int, seller: Seller, invoice_id: int | None = None
) -> tuple[Contact, OutboxEmail | None]:
    """The user confirmed the offered address: it becomes the billing email and, when the
    offer came with an issued invoice, that invoice's email is queued — both or neither."""
    offer = await billing_email_offer(actor, contact_id)
    if offer is None:
        raise Conflict("no_billing_email_offer", contact=f"C{contact_id}")
    async with in_transaction():
        contact = await set_billing(actor, contact_id, billing_email=offer)
        email = None
        if invoice_id is not None:
            invoice = await get_invoice(actor, invoice_id)
            email = await send_invoice(actor, invoice.number or f"I{invoice.id}", seller)
    return contact, email
