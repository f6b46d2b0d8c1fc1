"""Translation layer: one gettext catalogue per language, Babel formatting, safe interpolation.

The texts live in `bot/locales/<lang>/LC_MESSAGES/entonnoir.po` (managed with Babel:
`make messages` extracts the keys used in the code and updates both catalogues; the `.mo`
files are compiled by `make install`/`make run`, or here on demand when missing or older
than their `.po`). A message id is a stable key (`deals.created`); the English catalogue
holds the English text, the French one the French text. A plural message has the name of
its count parameter as `msgid_plural` (`msgid "coll.row"`, `msgid_plural "days"`) and one
form per plural category of the language, chosen by `ngettext`'s rule for that count.
`t()` HTML-escapes every parameter unless it is wrapped in `Safe` (already-built markup).
"""

from __future__ import annotations

import gettext
import html
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from storage.formatting import babel_locale, fmt_date, fmt_datetime, fmt_money, fmt_qty

__all__ = [
    "DOMAIN",
    "LANGS",
    "LOCALE_DIR",
    "Safe",
    "babel_locale",
    "catalogue",
    "fmt_date",
    "fmt_datetime",
    "fmt_money",
    "fmt_qty",
    "messages",
    "stage_name",
    "t",
    "user_lang",
]

LANGS = ("en", "fr")
DOMAIN = "entonnoir"
LOCALE_DIR = Path(__file__).resolve().parent / "locales"


class Safe(str):
    """A string that is already HTML and must not be escaped again."""


@dataclass(frozen=True)
class Messages:
    """One language's compiled catalogue: plain texts, plural forms and the plural rule."""

    texts: dict[str, str]
    plurals: dict[str, tuple[str, tuple[str, ...]]]  # key → (count parameter, forms)
    plural_index: Callable[[int], int]

    def __contains__(self, key: object) -> bool:
        return key in self.texts or key in self.plurals


def _compiled(lang: str) -> BytesIO:
    """The `.mo` bytes of `lang`: the installed file when it is up to date, else compiled
    now from the `.po` (so a fresh checkout or an edited `.po` works without a build)."""
    po = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    mo = po.with_suffix(".mo")
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        return BytesIO(mo.read_bytes())
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=lang, domain=DOMAIN)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return buffer


@cache
def messages(lang: str) -> Messages:
    """The catalogue of `lang` (en or fr), read once."""
    catalog = read_mo(_compiled(lang))
    texts: dict[str, str] = {}
    plurals: dict[str, tuple[str, tuple[str, ...]]] = {}
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        forms = tuple(str(form or "") for form in strings)
        if isinstance(message.id, tuple | list):
            if all(forms):
                plurals[str(message.id[0])] = (str(message.id[1]), forms)
        elif forms[0]:
            texts[str(message.id)] = forms[0]
    return Messages(texts, plurals, gettext.c2py(catalog.plural_expr))


def catalogue() -> Messages:
    """The keys that have a message (the English catalogue is the reference)."""
    return messages("en")


def _escape(value: Any) -> Any:
    if isinstance(value, Safe):
        return value
    if isinstance(value, str):
        return html.escape(value, quote=False)
    return value


def t(lang: str, key: str, **params: Any) -> Safe:
    """The message `key` in `lang` (fr/en), with escaped parameters. A plural message takes
    its form from its count parameter (`ngettext`)."""
    catalog = messages("fr" if lang == "fr" else "en")
    if key not in catalog:
        catalog = messages("en")  # a text not translated yet shows in English
    template = catalog.texts.get(key)
    if template is None:
        if key not in catalog.plurals:
            raise KeyError(f"no message {key!r}")
        count_param, forms = catalog.plurals[key]
        count = params.get(count_param)
        index = catalog.plural_index(int(count)) if isinstance(count, int | Decimal) else len(forms) - 1
        template = forms[min(index, len(forms) - 1)]
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
        text = text[: limit - 1].rstrip() + "… " + str(t(lang, "inbox.more"))
    return Safe(text)


def stage_name(name: str, lang: str, labels: dict[str, str] | None = None) -> str:
    """A stage's name in `lang`: its own label for that language, else the catalogue's
    translation of a default stage (`stage.lead`), else the name as stored (plain text)."""
    if labels and labels.get(lang):
        return str(labels[lang])
    key = f"stage.{name.casefold()}"
    catalog = messages("fr" if lang == "fr" else "en")
    return catalog.texts.get(key) or messages("en").texts.get(key) or name


def user_lang(code: str | None) -> str:
    """fr for French-speaking Telegram clients, else en."""
    return "fr" if (code or "").lower().startswith("fr") else "en"
