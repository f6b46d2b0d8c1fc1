"""The texts people read, in their language: one gettext catalogue per language.

The catalogues live in `storage/locales/<lang>/LC_MESSAGES/entonnoir.po` (managed with
Babel: `make messages` extracts the keys used in the code and updates both catalogues; the
`.mo` files are compiled by `make install`/`make run`, or here on demand when missing or
older than their `.po`). They sit below every package that speaks: `storage` (reminder and
invoice emails, PA statuses), `mail` (PDF labels) and `bot` (chat, CLI; `bot.i18n`
re-exports this module's names).

A message id is a stable key (`deals.created`); the English catalogue holds the English
text, the French one the French text. A plural message has the name of its count parameter
as `msgid_plural` (`msgid "coll.row"`, `msgid_plural "days"`) and one form per plural
category of the language, chosen by `ngettext`'s rule for that count.

`t()` HTML-escapes every parameter unless it is wrapped in `Safe` (already-built markup);
`text()` is the same for plain text (emails, PDF, CLI): nothing escaped. A parameter that
is `Localized` (a stage's name, say, carried by an error raised in storage) is said in the
reader's language at rendering time.
"""

from __future__ import annotations

import gettext
import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from storage.formatting import fmt_decimal, fmt_money

__all__ = [
    "DOMAIN",
    "LANGS",
    "LOCALE_DIR",
    "Localized",
    "Messages",
    "Part",
    "Phrase",
    "Safe",
    "StageLabel",
    "StageList",
    "catalogue",
    "escape",
    "message",
    "messages",
    "reasons_text",
    "said",
    "stage_name",
    "t",
    "text",
]

LANGS = ("en", "fr")
DOMAIN = "entonnoir"
LOCALE_DIR = Path(__file__).resolve().parent / "locales"


class Safe(str):
    """A string that is already HTML and must not be escaped again."""


class Localized:
    """A value that says itself in a language when a message is rendered (a plain base
    class, not a Protocol: `t()` checks every parameter, and a Protocol check is slow)."""

    def in_lang(self, lang: str) -> str:
        raise NotImplementedError


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


def escape(value: Any) -> Any:
    """A parameter made safe for HTML (a `Safe` value is kept as it is)."""
    if isinstance(value, Safe):
        return value
    if isinstance(value, str):
        return html.escape(value, quote=False)
    return value


def _template(lang: str, key: str, params: Mapping[str, Any]) -> str:
    """The text of `key` in `lang` (English when not translated yet); for a plural message
    the form its count parameter asks for (`ngettext`)."""
    catalog = messages("fr" if lang == "fr" else "en")
    if key not in catalog:
        catalog = messages("en")  # a text not translated yet shows in English
    template = catalog.texts.get(key)
    if template is not None:
        return template
    if key not in catalog.plurals:
        raise KeyError(f"no message {key!r}")
    count_param, forms = catalog.plurals[key]
    count = params.get(count_param)
    index = catalog.plural_index(int(count)) if isinstance(count, int | Decimal) else len(forms) - 1
    return forms[min(index, len(forms) - 1)]


def t(lang: str, key: str, **params: Any) -> Safe:
    """The message `key` in `lang` (fr/en) for chat (HTML), with escaped parameters."""
    template = _template(lang, key, params)
    return Safe(
        template.format(
            **{k: escape(v.in_lang(lang) if isinstance(v, Localized) else v) for k, v in params.items()}
        )
    )


def text(lang: str, key: str, **params: Any) -> str:
    """The message `key` in `lang` as plain text (emails, PDF, command line): nothing escaped."""
    template = _template(lang, key, params)
    return template.format(
        **{k: v.in_lang(lang) if isinstance(v, Localized) else v for k, v in params.items()}
    )


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
            parts.append(escape(str(params.get("code") or key)))
    joined = " ".join(p.rstrip() for p in parts).rstrip(".")  # templates add their own stop
    if limit is not None and len(joined) > limit:
        joined = joined[: limit - 1].rstrip() + "… " + str(t(lang, "inbox.more"))
    return Safe(joined)


def message(key: str, **params: Any) -> dict[str, Any]:
    """A message stored as data to be said later in each reader's language (JSON:
    `{"key": ..., "params": {...}}`). Its parameters stay raw: an amount as `x_cents` with
    the message's `currency`, a number as a number, a reference as it was read, a part said
    in words as a message itself (or a list of messages)."""
    return {"key": key, "params": params}


def said(lang: str, stored: Any, *, markup: bool = True) -> str:
    """A stored `message()` in `lang`: `x_cents` (with the `currency` param) is `{x}` as money
    through Babel (a number when no currency is known), a message param is said itself, a
    list of messages is said joined by commas; the rest as given. HTML (parameters escaped,
    a `Safe` string) unless `markup` is False (plain text: logs, exports). A key without a
    message (stored by another version) is said as the key itself."""
    if isinstance(stored, str):
        stored = {"key": stored}
    if not isinstance(stored, Mapping) or not isinstance(stored.get("key"), str):
        return ""
    key = str(stored["key"])
    raw = stored.get("params")
    params: dict[str, Any] = dict(raw) if isinstance(raw, Mapping) else {}
    currency = str(params.get("currency") or "")
    for name, value in list(params.items()):
        if name.endswith("_cents") and isinstance(value, int) and not isinstance(value, bool):
            amount = Decimal(value).scaleb(-2)
            params[name.removesuffix("_cents")] = (
                fmt_money(value, currency, lang) if currency else fmt_decimal(amount, lang)
            )
        elif isinstance(value, Mapping) and "key" in value:
            params[name] = said(lang, value, markup=markup)
        elif isinstance(value, list) and all(isinstance(v, Mapping) and "key" in v for v in value):
            joined = ", ".join(said(lang, v, markup=markup) for v in value)
            params[name] = Safe(joined) if markup else joined
    try:
        return t(lang, key, **params) if markup else text(lang, key, **params)
    except (KeyError, IndexError, ValueError):
        return html.escape(key, quote=False) if markup else key


def stage_name(name: str, lang: str, labels: Mapping[str, str] | None = None) -> str:
    """A stage's name in `lang`: its own label for that language, else the catalogue's
    translation of a default stage (`stage.lead`), else the name as stored (plain text)."""
    if labels and labels.get(lang):
        return str(labels[lang])
    key = f"stage.{name.casefold()}"
    catalog = messages("fr" if lang == "fr" else "en")
    return catalog.texts.get(key) or messages("en").texts.get(key) or name


@dataclass(frozen=True)
class StageLabel(Localized):
    """A stage's name as a message parameter: said in the reader's language (its own label,
    or the default stage's translation); `str()` is the stored name (logs, `str(error)`)."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)

    def in_lang(self, lang: str) -> str:
        return stage_name(self.name, lang, self.labels)

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class StageList(Localized):
    """Several stages as one parameter (`lead, qualified, won`), each in the reader's language."""

    stages: tuple[StageLabel, ...]

    def in_lang(self, lang: str) -> str:
        return ", ".join(stage.in_lang(lang) for stage in self.stages)

    def __str__(self) -> str:
        return ", ".join(stage.name for stage in self.stages)


Part = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class Phrase(Localized):
    """A summary made of catalogue messages (`(key, params)` parts), said in a language and
    joined by commas: what a background job did, stored as JSON (`as_json`) so that /status
    says it in each reader's language; `str()` is the English one (logs)."""

    parts: tuple[Part, ...]

    @classmethod
    def of(cls, *parts: Part | None) -> Phrase:
        """The parts given (None: left out)."""
        return cls(tuple(part for part in parts if part is not None))

    def in_lang(self, lang: str) -> str:
        said = []
        for key, params in self.parts:
            try:
                said.append(text(lang, key, **params))
            except (KeyError, IndexError, ValueError):  # stored by another version
                said.append(key)
        return ", ".join(said)

    def __str__(self) -> str:
        return self.in_lang("en")

    def as_json(self) -> list[list[Any]]:
        return [[key, dict(params)] for key, params in self.parts]

    @classmethod
    def from_json(cls, data: Any) -> Phrase | None:
        """The phrase `as_json` stored; None for anything else."""
        if not isinstance(data, list):
            return None
        parts: list[Part] = []
        for item in data:
            if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)):
                return None
            parts.append((item[0], dict(item[1]) if isinstance(item[1], dict) else {}))
        return cls(tuple(parts))
