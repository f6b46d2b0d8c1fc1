"""Amounts as banks write them: `1 200,00 €`, `EUR 1,200.00`, `1.200,00 EUR`, `CHF 1'200.50`.

Pure functions; money is exact (Decimal → integer cents), never float.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Literal

from mail.parsers.errors import ParseError

__all__ = ["decimal_to_cents", "parse_bank_amount"]

_SYMBOLS = {"€": "EUR", "$": "USD", "£": "GBP"}
_CURRENCY = re.compile(r"\b([A-Z]{3})\b|([€$£])")
_GROUPING = re.compile(r"[\s\u00a0\u202f'’]")
_NUMBER = re.compile(r"[+-]?[0-9][0-9.,]*")
_MAX = Decimal("1e13")


def decimal_to_cents(value: Decimal) -> int:
    """Exact minor units of a Decimal amount, rounded half-up."""
    return int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


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
    value = Decimal(_normalise(digits, decimal_mark, raw))
    if value <= 0 or value >= _MAX:
        raise ParseError(f"amount out of range: {raw[:40]!r}", code="amount")
    return decimal_to_cents(value), currency


def _normalise(digits: str, decimal_mark: str | None, raw: str) -> str:
    bad = ParseError(f"unreadable amount: {raw[:40]!r}", code="amount")
    has_dot, has_comma = "." in digits, "," in digits
    if has_dot and has_comma:
        mark = "." if digits.rfind(".") > digits.rfind(",") else ","
        integer, _, fraction = digits.rpartition(mark)
        sep = "," if mark == "." else "."
        if mark in integer or not _grouped(integer, sep) or not 1 <= len(fraction) <= 2:
            raise bad
        return _checked(integer.replace(sep, "") + "." + fraction, bad)
    if not (has_dot or has_comma):
        return _checked(digits, bad)
    mark = "." if has_dot else ","
    parts = digits.split(mark)
    if len(parts) > 2:
        if not _grouped(digits, mark):
            raise bad
        return _checked(digits.replace(mark, ""), bad)
    integer, fraction = parts
    if len(fraction) in (1, 2):
        return _checked(integer + "." + fraction, bad)
    if len(fraction) == 3 and decimal_mark != mark and _grouped(digits, mark):
        return _checked(integer + fraction, bad)
    raise bad


def _grouped(integer: str, sep: str) -> bool:
    groups = integer.split(sep)
    if len(groups) == 1:
        return groups[0].isdigit()
    return (
        1 <= len(groups[0]) <= 3
        and groups[0].isdigit()
        and all(len(g) == 3 and g.isdigit() for g in groups[1:])
    )


def _checked(text: str, bad: ParseError) -> str:
    try:
        Decimal(text)
    except InvalidOperation as exc:
        raise bad from exc
    return text
