"""Pure parsers for what people type: amounts, quantities, dates, phones, emails.

Each returns a clean value or raises `InvalidInput` with a code the chat layer translates
into one sentence listing the accepted forms.
"""

from __future__ import annotations

import re
from calendar import monthrange
from datetime import MAXYEAR, MINYEAR, date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from storage.errors import InvalidInput

__all__ = [
    "CURRENCIES",
    "normalise_amount",
    "parse_amount",
    "parse_amount_cents",
    "parse_currency",
    "parse_date",
    "parse_email",
    "parse_phone",
    "parse_quantity",
    "to_cents",
]

CURRENCIES = frozenset({"EUR", "USD", "GBP", "CHF", "CAD", "JPY", "SEK", "NOK", "DKK", "PLN"})
_SPACES = re.compile(r"[\s\u00a0\u202f'’]")
_SUFFIX = {"k": Decimal(1000), "m": Decimal(1_000_000)}
_MAX_AMOUNT = Decimal("1e12")


def parse_amount(text: str) -> Decimal:
    """Parse `12 000,50`, `12,000.50`, `12000.5`, `12k`, `1.5M` into a Decimal.

    A single separator followed by exactly three digits is a thousands separator when the
    other kind does not appear (`12,000` = 12000); otherwise it is the decimal mark.
    """
    raw = _SPACES.sub("", text or "").replace("€", "").lower()
    multiplier = Decimal(1)
    if raw and raw[-1] in _SUFFIX:
        multiplier = _SUFFIX[raw[-1]]
        raw = raw[:-1]
    if not raw or not re.fullmatch(r"[0-9][0-9.,]*", raw) or raw[-1] in ".,":
        raise InvalidInput("amount", value=text)
    try:
        value = Decimal(normalise_amount(raw)) * multiplier
    except (ValueError, InvalidOperation) as exc:
        raise InvalidInput("amount", value=text) from exc
    if value <= 0 or value >= _MAX_AMOUNT:
        raise InvalidInput("amount", value=text)
    if value != value.quantize(Decimal("0.01")) and multiplier == 1:
        raise InvalidInput("amount", value=text)
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def normalise_amount(digits: str, *, decimal_mark: str | None = None, bank: bool = False) -> str:
    """Digits with `.`/`,` separators as a plain decimal string (`1.200,50` → `1200.50`).

    The one reading of separators, for chat amounts and bank files. Both marks: the last
    one is the decimal mark, the other groups thousands. One mark repeated: thousands. One
    mark once followed by three digits: thousands unless `decimal_mark` says it is the
    decimal mark (chat: except after a lone `0`, as in `0,500`). `bank`: a fraction has one
    or two digits and a three-digit group needs a valid grouping. Raises ValueError.
    """
    has_dot, has_comma = "." in digits, "," in digits
    if has_dot and has_comma:
        mark = "." if digits.rfind(".") > digits.rfind(",") else ","
        thousands = "," if mark == "." else "."
        integer, _, fraction = digits.rpartition(mark)
        if (
            mark in integer
            or not _valid_grouping(integer, thousands)
            or not fraction.isdigit()
            or (bank and len(fraction) > 2)
        ):
            raise ValueError(digits)
        return integer.replace(thousands, "") + "." + fraction
    sep = "." if has_dot else "," if has_comma else ""
    if not sep:
        if not digits.isdigit():
            raise ValueError(digits)
        return digits
    parts = digits.split(sep)
    if len(parts) > 2:
        if not _valid_grouping(digits, sep):
            raise ValueError(digits)
        return digits.replace(sep, "")
    integer, fraction = parts
    if not (integer.isdigit() and fraction.isdigit()):
        raise ValueError(digits)
    if (
        len(fraction) == 3
        and decimal_mark != sep
        and (_valid_grouping(digits, sep) if bank else integer != "0")
    ):
        return integer + fraction
    if bank and not 1 <= len(fraction) <= 2:
        raise ValueError(digits)
    return integer + "." + fraction


def _valid_grouping(integer: str, sep: str) -> bool:
    groups = integer.split(sep)
    if len(groups) == 1:
        return groups[0].isdigit()
    return (
        1 <= len(groups[0]) <= 3
        and groups[0].isdigit()
        and all(len(g) == 3 and g.isdigit() for g in groups[1:])
    )


def to_cents(value: Decimal) -> int:
    """Exact minor units of a Decimal amount, rounded half-up."""
    return int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def parse_amount_cents(text: str) -> int:
    """`parse_amount` in integer cents."""
    return to_cents(parse_amount(text))


def parse_currency(text: str | None, default: str) -> str:
    """An ISO 4217 code among the supported ones (`€` means EUR)."""
    if not text:
        return default
    code = text.strip().upper().replace("€", "EUR").replace("$", "USD").replace("£", "GBP")
    if code not in CURRENCIES:
        raise InvalidInput("currency", value=text)
    return code


def parse_quantity(text: str) -> Decimal:
    """A positive quantity with at most three decimals (`2`, `1,5`, `0.250`)."""
    raw = _SPACES.sub("", text or "").replace(",", ".")
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise InvalidInput("quantity", value=text) from exc
    if not value.is_finite() or value <= 0 or value >= Decimal("1e9"):
        raise InvalidInput("quantity", value=text)
    if value != value.quantize(Decimal("0.001")):
        raise InvalidInput("quantity", value=text)
    return value.quantize(Decimal("0.001"))


_RELATIVE = re.compile(r"^\+(\d{1,3})\s*([djwm])$")
_WORDS = {
    "today": 0,
    "aujourd'hui": 0,
    "aujourdhui": 0,
    "tomorrow": 1,
    "demain": 1,
    "après-demain": 2,
    "apres-demain": 2,
}


def add_months(day: date, months: int) -> date:
    """`day` moved by whole calendar months, clamped to the month's end (31 Jan + 1 = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    if not MINYEAR <= year <= MAXYEAR:
        raise InvalidInput("date", value=f"{day.isoformat()} + {months}m")
    return date(year, month + 1, min(day.day, monthrange(year, month + 1)[1]))


def parse_date(text: str, today: date) -> date:
    """Parse `25/12`, `25/12/2026`, `2026-12-25`, `tomorrow`/`demain`, `+3d`/`+2w`/`+1m` relative to today.

    `25/12` without a year is the next such date on or after today.
    """
    raw = (text or "").strip().lower()
    if raw in _WORDS:
        return today + timedelta(days=_WORDS[raw])
    if m := _RELATIVE.match(raw):
        n, unit = int(m.group(1)), m.group(2)
        if unit == "m":
            return add_months(today, n)
        return today + timedelta(days=7 * n if unit == "w" else n)
    try:
        if m := re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", raw):
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if m := re.fullmatch(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4}|\d{2})", raw):
            year = int(m.group(3))
            year = year + 2000 if year < 100 else year
            return date(year, int(m.group(2)), int(m.group(1)))
        if m := re.fullmatch(r"(\d{1,2})[/.](\d{1,2})", raw):
            candidate = date(today.year, int(m.group(2)), int(m.group(1)))
            if candidate < today:
                candidate = date(today.year + 1, candidate.month, candidate.day)
            return candidate
    except ValueError as exc:
        raise InvalidInput("date", value=text) from exc
    raise InvalidInput("date", value=text)


def parse_phone(text: str, region: str) -> str:
    """A valid phone number in E.164 (`06 12 34 56 78` → `+33612345678` for region FR)."""
    try:
        number = phonenumbers.parse(text.strip(), region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput("phone", value=text) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput("phone", value=text)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_email(text: str) -> str:
    """A syntactically valid email address, normalised (domain lower-cased); no DNS."""
    try:
        result = validate_email(text.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput("email", value=text) from exc
    return result.normalized.lower()
