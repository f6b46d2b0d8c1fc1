"""Amounts as banks write them: `1 200,00 €`, `EUR 1,200.00`, `1.200,00 EUR`, `CHF 1'200.50`.

Pure functions over `storage.parsing.normalise_amount` (the one amount reader, shared
with chat); money is exact (Decimal → integer cents), never float.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Literal

from mail.parsers.errors import ParseError
from storage.parsing import normalise_amount
from storage.parsing import to_cents as decimal_to_cents

__all__ = ["decimal_to_cents", "parse_bank_amount"]

_SYMBOLS = {"€": "EUR", "$": "USD", "£": "GBP"}
_CURRENCY = re.compile(r"\b([A-Z]{3})\b|([€$£])")
_GROUPING = re.compile(r"[\s\u00a0\u202f'’]")
_NUMBER = re.compile(r"[+-]?[0-9][0-9.,]*")
_MAX = Decimal("1e13")


def parse_bank_amount(text: str, decimal_mark: Literal[",", "."] | None = None) -> tuple[int, str | None]:
    """Parse a bank-written amount into (cents, currency or None). Sign is ignored.

    Both marks present: the last one is the decimal mark. One mark only: it is the
    decimal mark when followed by one or two digits, a thousands separator when it
    repeats; a single mark followed by three digits is decided by `decimal_mark` (the
    template's language), else read as a thousands separator. Raises ParseError.
    """
    raw = (text or "").strip()
    currency: str | None = None
    m = _CURRENCY.search(raw.upper())
    if m:
        currency = m.group(1) or _SYMBOLS[m.group(2)]
    compact = _GROUPING.sub("", raw)
    number = _NUMBER.search(compact)
    if not number:
        raise ParseError(f"no amount in {raw[:40]!r}", code="amount")
    digits = number.group().lstrip("+-").rstrip(".,")
    try:
        value = Decimal(normalise_amount(digits, decimal_mark=decimal_mark, bank=True))
    except (ValueError, InvalidOperation) as exc:
        raise ParseError(f"unreadable amount: {raw[:40]!r}", code="amount") from exc
    if value <= 0 or value >= _MAX:
        raise ParseError(f"amount out of range: {raw[:40]!r}", code="amount")
    return decimal_to_cents(value), currency
