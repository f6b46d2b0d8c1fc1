"""Money, quantities and dates for people, in their language: the one Babel-based formatter.

Chat messages (`bot.i18n`), alerts, reminder and invoice emails, PDFs all format through here, so
an amount reads `1 200,00 €` in French and `€1,200.00` in English everywhere, never a
hand-made `1 200,00 EUR`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal

__all__ = [
    "babel_locale",
    "counted",
    "fmt_date",
    "fmt_datetime",
    "fmt_decimal",
    "fmt_money",
    "fmt_qty",
    "fmt_rate",
]

_LOCALES = {"en": "en_GB", "fr": "fr_FR"}


def babel_locale(lang: str) -> str:
    """The Babel locale of a language (`fr` → `fr_FR`); English for any other."""
    return _LOCALES.get(lang, "en_GB")


def fmt_money(cents: int, currency: str, lang: str) -> str:
    """`1 200,00 €` in French, `€1,200.00` in English (exact: cents through Decimal)."""
    return format_currency(Decimal(cents) / 100, currency, locale=babel_locale(lang))


def fmt_qty(value: Decimal | int, lang: str) -> str:
    """A quantity without trailing zeros, in the locale's form."""
    return format_decimal(Decimal(value).normalize(), locale=babel_locale(lang), format="#,##0.###")


def fmt_rate(bp: int, lang: str) -> str:
    """A VAT or discount rate in basis points: `20 %`, `5,5 %` (French) or `5.5%`."""
    value = fmt_qty(Decimal(bp) / 100, lang)
    return f"{value}\u00a0%" if lang == "fr" else f"{value}%"


def fmt_decimal(value: Decimal | int, lang: str) -> str:
    """A number such as a rate (`10,15` in French), up to two decimals."""
    return format_decimal(Decimal(value), locale=babel_locale(lang), format="#,##0.##")


def fmt_date(value: date | None, lang: str, form: str = "medium") -> str:
    """A date (`27 nov. 2026` medium, `27 novembre 2026` long); empty for None."""
    return format_date(value, format=form, locale=babel_locale(lang)) if value else ""


def fmt_datetime(value: datetime | None, lang: str, zone: ZoneInfo) -> str:
    """A short local date and time in the company time zone; empty for None."""
    if value is None:
        return ""
    return format_datetime(value.astimezone(zone), format="short", locale=babel_locale(lang))


def counted(count: int, one: str, other: str) -> str:
    """`1 email`, `3 emails`: the English count of the operators' one-line summaries (job
    results in logs, `str()` of a scan), which are not translated (/status says a job's
    summary from the catalogues: `storage.i18n.Phrase`)."""
    return f"{count} {one if count == 1 else other}"
