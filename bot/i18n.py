"""The chat's translation layer: the catalogues of `storage.i18n` (one gettext catalogue per
language, below every package that speaks), Babel formatting, safe interpolation, and the
language of a Telegram client.

The machinery (catalogue loading, `t`, plurals, `Safe`, stage names) lives in
`storage.i18n` so that storage (reminder and invoice emails) and mail (PDF labels) use the
same catalogues; its names are re-exported here, so handlers import from one place.
"""

from __future__ import annotations

from storage.formatting import babel_locale, fmt_date, fmt_datetime, fmt_money, fmt_qty
from storage.i18n import (
    DOMAIN,
    LANGS,
    LOCALE_DIR,
    Messages,
    Safe,
    catalogue,
    messages,
    reasons_text,
    stage_name,
    t,
    text,
)

__all__ = [
    "DOMAIN",
    "LANGS",
    "LOCALE_DIR",
    "Messages",
    "Safe",
    "babel_locale",
    "catalogue",
    "fmt_date",
    "fmt_datetime",
    "fmt_money",
    "fmt_qty",
    "messages",
    "reasons_text",
    "stage_name",
    "t",
    "text",
    "user_lang",
]


def user_lang(code: str | None) -> str:
    """fr for French-speaking Telegram clients, else en."""
    return "fr" if (code or "").lower().startswith("fr") else "en"
