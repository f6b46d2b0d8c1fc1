"""The plain data a document is rendered from (no database, no settings)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from storage.invoicing import Seller, Totals

__all__ = ["Buyer", "DocLine", "InvoiceData"]


@dataclass(frozen=True)
class Buyer:
    name: str
    address: str = ""
    siren: str = ""
    vat: str = ""
    email: str = ""
    business: bool = True


@dataclass(frozen=True)
class DocLine:
    position: int
    description: str
    quantity: Decimal
    unit: str
    unit_price_cents: int
    vat_rate_bp: int
    net_cents: int
    sku: str = ""


@dataclass(frozen=True)
class InvoiceData:
    """Everything printed on an invoice (or credit note) and written in its Factur-X XML."""

    number: str
    issue_date: date
    due_date: date
    sale_date: date
    seller: Seller
    buyer: Buyer
    lines: tuple[DocLine, ...]
    totals: Totals
    rf_reference: str
    currency: str = "EUR"
    language: str = "fr"
    credit_note: bool = False
    original_number: str | None = None
    original_issue_date: date | None = None
    reason: str | None = None
