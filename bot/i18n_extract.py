"""Babel extractors for `make messages`: which message keys the code uses.

Message ids are keys (`deals.created`), so Babel's own Python extractor cannot see most of
them: a key is passed to `t`/`tr`, but also stored as data (an alert's key, an error code,
a stage name) and built at run time (`f"error.{code}"`). Two extractors, wired in
`babel.cfg`:

- `python`: every key passed literally to a translation call (`t`, `tr`, `_t`, `cli_text`,
  `_label`) and every string literal elsewhere that is a key of the English catalogue
  (keys kept as data). A plural key comes out with its count parameter as `msgid_plural`.
- `catalogue`: reads the English catalogue and keeps the keys under the prefixes given in
  the `runtime_prefixes` option (keys built at run time from a code, which no literal
  names). Any other key no literal names becomes obsolete (`#~`) at `pybabel update`.
"""

from __future__ import annotations

import ast
import re
import tokenize
from collections.abc import Iterator
from io import BytesIO
from typing import IO, Any

from babel.messages.pofile import read_po

__all__ = ["extract_catalogue", "extract_python"]

CALLS = frozenset({"t", "tr", "_t", "cli_text", "_label"})
KEY = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
Found = tuple[int, str, Any, list[str]]


def _english() -> tuple[set[str], dict[str, str]]:
    from storage.i18n import DOMAIN, LOCALE_DIR

    with (LOCALE_DIR / "en" / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as handle:
        catalog = read_po(handle, locale="en")
    keys: set[str] = set()
    plurals: dict[str, str] = {}
    for message in catalog:
        if isinstance(message.id, tuple | list):
            keys.add(message.id[0])
            plurals[message.id[0]] = message.id[1]
        elif message.id:
            keys.add(message.id)
    return keys, plurals


def _found(lineno: int, key: str, plurals: dict[str, str], comments: list[str]) -> Found:
    """One key as Babel wants it (its default `gettext`/`ngettext` keywords say how many
    ids a message has)."""
    if key in plurals:
        return lineno, "ngettext", (key, plurals[key]), comments
    return lineno, "gettext", key, comments


def extract_python(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: dict[str, Any]
) -> Iterator[Found]:
    """Keys in a Python module: literal arguments of translation calls, and literals that
    are catalogue keys."""
    known, plurals = _english()
    tokens = list(tokenize.tokenize(BytesIO(fileobj.read()).readline))
    for index, token in enumerate(tokens):
        if token.type != tokenize.STRING or token.string[:1] not in "\"'":
            continue
        try:
            value = ast.literal_eval(token.string)
        except (ValueError, SyntaxError):
            continue
        if not isinstance(value, str) or not KEY.match(value):
            continue
        call = _enclosing_call(tokens, index)
        if call in CALLS or value in known:
            yield _found(token.start[0], value, plurals, [])


def _enclosing_call(tokens: list[tokenize.TokenInfo], index: int) -> str | None:
    """The name of the call whose argument list holds `tokens[index]` at its top level."""
    depth = 0
    for position in range(index - 1, max(index - 40, 0), -1):
        text = tokens[position].string
        if text in ")]}":
            depth += 1
        elif text in "([{":
            if depth == 0:
                before = tokens[position - 1] if position else None
                if text == "(" and before is not None and before.type == tokenize.NAME:
                    return before.string
                return None
            depth -= 1
    return None


def extract_catalogue(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: dict[str, Any]
) -> Iterator[Found]:
    """The English catalogue's keys built at run time (under `runtime_prefixes`)."""
    prefixes = tuple(p.strip() for p in str(options.get("runtime_prefixes", "")).split() if p.strip())
    catalog = read_po(fileobj, locale="en")
    plurals = {m.id[0]: m.id[1] for m in catalog if isinstance(m.id, tuple | list)}
    for message in catalog:
        key = message.id[0] if isinstance(message.id, tuple | list) else message.id
        if key and prefixes and key.startswith(prefixes):
            yield _found(0, key, plurals, ["built at run time"])
