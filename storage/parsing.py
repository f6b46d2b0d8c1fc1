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
    normalised = _normalise_separators(raw)
    try:
        value = Decimal(normalised) * multiplier
    except InvalidOperation as exc:
        raise InvalidInput("amount", value=text) from exc
    if value <= 0 or value >= _MAX_AMOUNT:
        raise InvalidInput("amount", value=text)
    if value != value.quantize(Decimal("0.01")) and multiplier == 1:
        raise InvalidInput("amount", value=text)
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _normalise_separators(raw: str) -> str:
    has_dot, has_comma = "." in raw, "," in raw
    if has_dot and has_comma:
        decimal_mark = "." if raw.rfind(".") > raw.rfind(",") else ","
        thousands = "," if decimal_mark == "." else "."
        integer, _, fraction = raw.rpartition(decimal_mark)
        if not _valid_grouping(integer, thousands) or not fraction.isdigit():
            raise InvalidInput("amount", value=raw)
        return integer.replace(thousands, "") + "." + fraction
    sep = "." if has_dot else "," if has_comma else ""
    if not sep:
        return raw
    parts = raw.split(sep)
    if len(parts) > 2:
        if not _valid_grouping(raw, sep):
            raise InvalidInput("amount", value=raw)
        return raw.replace(sep, "")
    integer, fraction = parts
    if len(fraction) == 3 and integer != "0":
        return integer + fraction
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
