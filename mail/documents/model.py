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
    country: str = ""  # ISO alpha-2; empty: the seller's
    delivery_address: str = ""  # printed (BG-15) when it differs from the billing address


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
    category: str = ""  # EN 16931 VAT category; empty: S above 0 %, E at 0 %
    reason: str | None = None  # key of storage.vat.REASONS when no VAT is charged
    nature: str = "goods"
    discount_bp: int = 0  # a percentage discount, shown as typed
    discount_cents: int = 0  # the line discount (BT-136): net = qty × price − this
    discount_reason: str | None = None

    @property
    def vat_category(self) -> str:
        return self.category or ("S" if self.vat_rate_bp > 0 else "E")


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
    buyer_reference: str | None = None  # BT-10
    purchase_order: str | None = None  # BT-13
    period_start: date | None = None  # BG-14
    period_end: date | None = None

    @property
    def nature(self) -> str:
        """`goods`, `services` or `both`: the nature of the operation printed on the invoice."""
        natures = {line.nature for line in self.lines}
        return natures.pop() if len(natures) == 1 else "both"

    @property
    def outside_scope(self) -> bool:
        """An invoice outside the scope of VAT (category O) names no VAT identifier (BR-O-02)."""
        return any(row.category == "O" for row in self.totals.breakdown)
