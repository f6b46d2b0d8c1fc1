"""EN 16931 amounts as pure rules: cents rounding, line nets and discounts, the VAT breakdown.

Money is integer cents computed through `Decimal`, rounded half-up to the cent per line and
per VAT group as EN 16931 does. Invoicing, products and the documents all compute through
here; this module imports nothing of the project.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

__all__ = [
    "Totals",
    "TotalsLine",
    "VatRow",
    "compute_totals",
    "document_discount",
    "line_discount",
    "line_net",
    "round_cents",
]


def round_cents(value: Decimal) -> int:
    """A Decimal amount in cents, rounded half-up to the whole cent."""
    return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class VatRow:
    """One line of the VAT breakdown (BG-23): a category at a rate, after its share of the
    document discount."""

    rate_bp: int
    base_cents: int
    vat_cents: int
    category: str = "S"
    reason: str | None = None  # key of `storage.vat.REASONS` when no VAT is charged
    allowance_cents: int = 0  # this row's share of the document discount (BG-20)


@dataclass(frozen=True)
class Totals:
    net_cents: int  # taxable total (BT-109): lines less the document discount
    vat_cents: int
    gross_cents: int
    breakdown: tuple[VatRow, ...] = field(default_factory=tuple)
    allowance_cents: int = 0  # document discount (BT-107)
    discount_reason: str | None = None
    discount_bp: int = 0

    @property
    def line_total_cents(self) -> int:
        """Sum of the line net amounts (BT-106)."""
        return self.net_cents + self.allowance_cents


TotalsLine = tuple[int, int] | tuple[int, int, str, str | None]


def _split(amount: int, bases: list[int]) -> list[int]:
    """`amount` shared out pro rata `bases`, in whole cents that add up exactly (largest
    remainder first, then the first row)."""
    total = sum(bases)
    if not total:
        return [0] * len(bases)
    shares = [amount * b // total for b in bases]
    rests = sorted(range(len(bases)), key=lambda i: (-(amount * bases[i] % total), i))
    for i in rests[: amount - sum(shares)]:
        shares[i] += 1
    return shares


def document_discount(line_total_cents: int, discount_bp: int, discount_cents: int) -> int:
    """The document discount in cents: a percentage of the lines (half-up) or an amount,
    never more than the lines."""
    amount = (
        round_cents(Decimal(line_total_cents) * discount_bp / Decimal(10000))
        if discount_bp
        else discount_cents
    )
    return max(0, min(amount, line_total_cents))


def compute_totals(
    lines: Iterable[TotalsLine],
    *,
    discount_bp: int = 0,
    discount_cents: int = 0,
    discount_reason: str | None = None,
) -> Totals:
    """EN 16931 totals from (line net cents, VAT rate bp[, category, reason]).

    Lines are grouped per VAT category and rate. A document discount (a percentage or an
    amount) is shared out over the groups pro rata their bases, in whole cents. Each
    group's VAT is its base × rate, rounded half-up to the cent; the invoice VAT is the
    sum of the groups; gross = net + VAT. A bare (net, rate) line is standard rated, or
    exempt at 0 %.
    """
    groups: dict[tuple[str, int], tuple[int, str | None]] = {}
    for line in lines:
        net, rate = line[0], line[1]
        category, reason = (
            (line[2], line[3]) if len(line) == 4 else (("S", None) if rate > 0 else ("E", "ZERO"))
        )
        base, known = groups.get((category, rate), (0, None))
        groups[(category, rate)] = (base + net, known or reason)
    keys = sorted(groups, key=lambda k: (k[0] != "S", -k[1], k[0]))
    bases = [groups[k][0] for k in keys]
    allowance = document_discount(sum(bases), discount_bp, discount_cents)
    shares = _split(allowance, bases)
    rows = tuple(
        VatRow(
            rate,
            base - share,
            round_cents(Decimal(base - share) * rate / Decimal(10000)),
            category,
            groups[(category, rate)][1],
            share,
        )
        for (category, rate), base, share in zip(keys, bases, shares, strict=True)
    )
    net = sum(r.base_cents for r in rows)
    vat = sum(r.vat_cents for r in rows)
    return Totals(
        net,
        vat,
        net + vat,
        rows,
        allowance,
        discount_reason if allowance else None,
        discount_bp if allowance else 0,
    )


def line_net(quantity: Decimal, unit_price_cents: int, discount_bp: int = 0, discount_cents: int = 0) -> int:
    """Quantity × unit price, rounded half-up to the cent, less the line discount (BT-131)."""
    return round_cents(Decimal(quantity) * unit_price_cents) - line_discount(
        quantity, unit_price_cents, discount_bp, discount_cents
    )


def line_discount(
    quantity: Decimal, unit_price_cents: int, discount_bp: int = 0, discount_cents: int = 0
) -> int:
    """A line's discount in cents (BT-136): a percentage of quantity × price, rounded
    half-up, or an amount; never more than the line."""
    gross = round_cents(Decimal(quantity) * unit_price_cents)
    amount = round_cents(Decimal(gross) * discount_bp / Decimal(10000)) if discount_bp else discount_cents
    return max(0, min(amount, gross))
