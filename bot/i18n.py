"""Translation layer: English and French catalogues, Babel formatting, safe interpolation.

Catalogues live in `bot/locales/*.py`, each a `MESSAGES = {key: (english, french)}`.
`t()` HTML-escapes every parameter unless it is wrapped in `Safe` (already-built markup).
"""

from __future__ import annotations

import html
import importlib
import pkgutil
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal

import bot.locales

__all__ = ["LANGS", "Safe", "fmt_date", "fmt_datetime", "fmt_money", "fmt_qty", "t", "user_lang"]

LANGS = ("en", "fr")
_LOCALES = {"en": "en_GB", "fr": "fr_FR"}


class Safe(str):
    """A string that is already HTML and must not be escaped again."""


@cache
def catalogue() -> dict[str, tuple[str, str]]:
    """Every message of every locale module, merged (a duplicate key is a bug)."""
    merged: dict[str, tuple[str, str]] = {}
    for info in pkgutil.iter_modules(bot.locales.__path__):
        module = importlib.import_module(f"bot.locales.{info.name}")
        for key, value in getattr(module, "MESSAGES", {}).items():
            if key in merged:
                raise RuntimeError(f"duplicate message key {key!r} in bot.locales.{info.name}")
            merged[key] = value
    return merged


def _escape(value: Any) -> Any:
    if isinstance(value, Safe):
        return value
    if isinstance(value, str):
        return html.escape(value, quote=False)
    return value


def t(lang: str, key: str, **params: Any) -> Safe:
    """The message `key` in `lang` (fr/en), with escaped parameters."""
    entry = catalogue().get(key)
    if entry is None:
        raise KeyError(f"no message {key!r}")
    template = entry[1] if lang == "fr" else entry[0]
    return Safe(template.format(**{k: _escape(v) for k, v in params.items()}))


def reasons_text(lang: str, reasons: Any, limit: int | None = None) -> Safe:
    """Reasons stored as `[[key, {params}], ...]` (or one key) in `lang`, joined; a key
    without a message shows its `code` param or the key itself. Bounded to `limit`
    characters, with a pointer to `/payments quarantine` for the full text."""
    items: list[Any] = [[reasons, {}]] if isinstance(reasons, str) else list(reasons or [])
    parts: list[str] = []
    for item in items:
        key = item[0]
        params: dict[str, Any] = dict(item[1] or {}) if len(item) > 1 else {}
        if key not in catalogue() and str(key).startswith("return_reason."):
            params.setdefault("code", str(key).rpartition(".")[2])
            key = "return_reason.other"
        try:
            parts.append(str(t(lang, str(key), **params)))
        except (KeyError, IndexError, ValueError):
            parts.append(_escape(str(params.get("code") or key)))
    text = " ".join(p.rstrip() for p in parts).rstrip(".")  # templates add their own stop
    if limit is not None and len(text) > limit:
        text = text[:limit - 1].rstrip() + "… " + str(t(lang, "inbox.more"))
    return Safe(text)


def user_lang(code: str | None) -> str:
    """fr for French-speaking Telegram clients, else en."""
    return "fr" if (code or "").lower().startswith("fr") else "en"


def babel_locale(lang: str) -> str:
    """The Babel locale of a language (`fr` → `fr_FR`), for formatting outside this module."""
    return _LOCALES.get(lang, "en_GB")


def fmt_money(cents: int, currency: str, lang: str) -> str:
    """`1 200,00 €` in French, `€1,200.00` in English."""
    return format_currency(Decimal(cents) / 100, currency, locale=_LOCALES.get(lang, "en_GB"))


def fmt_qty(value: Decimal | int, lang: str) -> str:
    """A quantity without trailing zeros, in the locale's form."""
    number = Decimal(value).normalize()
    return format_decimal(number, locale=_LOCALES.get(lang, "en_GB"), format="#,##0.###")


def fmt_date(value: date | None, lang: str) -> str:
    """A medium date (`27 nov. 2026`, `27 Nov 2026`); empty for None."""
    return format_date(value, format="medium", locale=_LOCALES.get(lang, "en_GB")) if value else ""


def fmt_datetime(value: datetime | None, lang: str, zone: ZoneInfo) -> str:
    """A short local date and time in the company time zone; empty for None."""
    if value is None:
        return ""
    return format_datetime(value.astimezone(zone), format="short", locale=_LOCALES.get(lang, "en_GB"))
