"""The product catalogue and deal lines (a deal with lines takes its amount from them)."""

from __future__ import annotations

import re
from decimal import Decimal

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from storage import audit
from storage.access import sees_everything
from storage.errors import Forbidden, InvalidInput, NotFound
from storage.models import Deal, DealLine, Product, SupplyNature, User
from storage.pipeline import get_deal
from storage.text import clean_line, clean_name, fits
from storage.totals import round_cents
from storage.vat import check_exemption

__all__ = [
    "add_deal_line",
    "check_line_input",
    "create_product",
    "deal_lines",
    "get_product",
    "line_net_cents",
    "parse_nature",
    "parse_vat_rate",
    "remove_deal_line",
    "search_products",
]

_SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
PRODUCT_FIELDS = [
    "sku",
    "name",
    "unit",
    "unit_price_cents",
    "vat_rate_bp",
    "active",
    "nature",
    "vat_exemption",
]
_NATURES = {
    "goods": SupplyNature.GOODS,
    "biens": SupplyNature.GOODS,
    "bien": SupplyNature.GOODS,
    "g": SupplyNature.GOODS,
    "services": SupplyNature.SERVICES,
    "service": SupplyNature.SERVICES,
    "prestation": SupplyNature.SERVICES,
    "s": SupplyNature.SERVICES,
}


def parse_nature(text: str | None) -> SupplyNature:
    """`goods`/`biens` or `services`/`prestation` (goods when empty)."""
    raw = (text or "").strip().lower()
    if not raw:
        return SupplyNature.GOODS
    if raw not in _NATURES:
        raise InvalidInput("nature", value=text)
    return _NATURES[raw]


def check_line_input(quantity: Decimal, unit_price_cents: int | None) -> None:
    """A line's quantity is positive and its price override (if any) not negative."""
    if quantity <= 0:
        raise InvalidInput("quantity", value=str(quantity))
    if unit_price_cents is not None and unit_price_cents < 0:
        raise InvalidInput("amount", value=unit_price_cents)


def line_net_cents(quantity: Decimal, unit_price_cents: int) -> int:
    """EN 16931 line net amount: quantity × unit price, rounded half-up to the cent."""
    return round_cents(Decimal(quantity) * unit_price_cents)


def parse_vat_rate(text: str, allowed_bp: list[int] | tuple[int, ...]) -> int:
    """`20`, `20 %`, `5,5` → basis points, which must be among the configured rates."""
    raw = (text or "").replace("%", "").replace(",", ".").strip()
    try:
        bp = int(Decimal(raw) * 100)
        exact = Decimal(raw) * 100 == bp
    except ArithmeticError:
        exact = False
    if not raw or not exact or bp not in allowed_bp:
        choices = ", ".join(f"{Decimal(b) / 100:g} %" for b in allowed_bp)
        raise InvalidInput("vat_rate", value=text, choices=choices)
    return bp


async def create_product(
    actor: User,
    *,
    sku: str,
    name: str,
    unit_price_cents: int,
    vat_rate_bp: int,
    allowed_vat_bp: list[int] | tuple[int, ...],
    unit: str = "unit",
    currency: str = "EUR",
    supplier_id: int | None = None,
    nature: SupplyNature = SupplyNature.GOODS,
    vat_exemption: str | None = None,
) -> Product:
    """A catalogue entry (managers only); SKU unique, VAT rate among the configured ones;
    its nature (goods or services) and VAT exemption decide the VAT category of its lines."""
    if not sees_everything(actor):
        raise Forbidden("manager_only")
    sku = (sku or "").strip().upper()
    if not _SKU.match(sku):
        raise InvalidInput("sku", value=sku)
    if not (name or "").strip():
        raise InvalidInput("name", value="")
    name = clean_name(name, 200)
    if unit_price_cents < 0:
        raise InvalidInput("amount", value=unit_price_cents)
    if vat_rate_bp not in allowed_vat_bp:
        choices = ", ".join(f"{Decimal(b) / 100:g} %" for b in allowed_vat_bp)
        raise InvalidInput("vat_rate", value=f"{Decimal(vat_rate_bp) / 100:g}", choices=choices)
    unit = clean_line(unit, 16) or "unit"
    vat_exemption = check_exemption(vat_exemption or "")
    if await Product.filter(sku=sku).exists():
        raise InvalidInput("sku_taken", sku=sku)
    async with in_transaction():
        product = await Product.create(
            sku=sku,
            name=name,
            unit=unit,
            unit_price_cents=unit_price_cents,
            currency=currency,
            vat_rate_bp=vat_rate_bp,
            supplier_id=supplier_id,
            nature=SupplyNature(nature),
            vat_exemption=vat_exemption,
        )
        await audit.record(
            actor, "product", product.id, "create", None, audit.snapshot(product, PRODUCT_FIELDS)
        )
    return product


async def search_products(text: str = "", limit: int = 20, *, active_only: bool = True) -> list[Product]:
    """Products whose SKU or name contains the text."""
    query = Product.filter(active=True) if active_only else Product.all()
    needle = (text or "").strip()
    if needle:
        query = query.filter(Q(sku__icontains=needle) | Q(name__icontains=needle))
    return list(await query.order_by("sku").limit(limit))


async def get_product(sku: str) -> Product:
    """An active product by SKU (any case); otherwise one sentence naming the SKU."""
    if not fits((sku or "").strip(), 64):  # longer than any SKU: not asked of the database
        raise NotFound("product", sku=(sku or "").strip()[:64])
    product = await Product.get_or_none(sku=(sku or "").strip().upper(), active=True)
    if product is None:
        raise NotFound("product", sku=(sku or "").strip())
    return product


async def deal_lines(actor: User, deal_id: int) -> tuple[Deal, list[DealLine]]:
    """The deal (if the user may see it) and its lines with their products."""
    deal = await get_deal(actor, deal_id)
    lines = await DealLine.filter(deal_id=deal.id).prefetch_related("product").order_by("id")
    return deal, list(lines)


async def _refresh_amount(deal: Deal) -> None:
    lines = await DealLine.filter(deal_id=deal.id)
    if lines:
        deal.amount_cents = sum(line_net_cents(line.quantity, line.unit_price_cents) for line in lines)
        await deal.save(update_fields=["amount_cents", "updated_at"])


async def add_deal_line(
    actor: User,
    deal_id: int,
    sku: str,
    quantity: Decimal,
    unit_price_cents: int | None = None,
) -> DealLine:
    """Add a product line to a deal the user may change; the deal's amount follows its lines."""
    check_line_input(quantity, unit_price_cents)
    deal = await get_deal(actor, deal_id)
    product = await get_product(sku)
    if product.currency != deal.currency:
        raise InvalidInput("line_currency", sku=product.sku, currency=deal.currency)
    async with in_transaction():
        line = await DealLine.create(
            deal=deal,
            product=product,
            quantity=quantity,
            unit_price_cents=product.unit_price_cents if unit_price_cents is None else unit_price_cents,
            vat_rate_bp=product.vat_rate_bp,
            nature=product.nature,
        )
        await _refresh_amount(deal)
        await audit.record(
            actor, "deal", deal.id, "add_line", None, {"sku": product.sku, "quantity": str(quantity)}
        )
    return line


async def remove_deal_line(actor: User, line_id: int) -> Deal:
    """Remove one line of a deal the user may change; the amount follows the remaining lines
    (0 once the last one is gone)."""
    line = await DealLine.get_or_none(id=line_id)
    if line is None:
        raise NotFound("deal_line", id=line_id)
    deal = await get_deal(actor, line.deal_id)
    async with in_transaction():
        await line.delete()
        remaining = await DealLine.filter(deal_id=deal.id).count()
        if remaining:
            await _refresh_amount(deal)
        else:
            # The amount followed the lines: with none left it is 0 (retype it with /amount).
            deal.amount_cents = 0
            await deal.save(update_fields=["amount_cents", "updated_at"])
        await audit.record(actor, "deal", deal.id, "remove_line", {"line": line_id}, None)
    return deal
