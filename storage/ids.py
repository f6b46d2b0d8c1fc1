"""Short identifiers people type: `C12` (contact), `D34` (deal), `T5` (task), `PO7`..."""

from __future__ import annotations

import re

from storage.errors import InvalidInput, NotFound
from storage.text import MAX_DB_INT

__all__ = ["format_id", "parse_id"]

_ID = re.compile(r"^\s*#?([a-z]{0,3})\s*(\d{1,12})\s*$", re.IGNORECASE)


def parse_id(text: str, prefix: str) -> int:
    """`D34`, `d34`, `#34` or `34` → 34 for prefix `D`; another prefix is invalid."""
    m = _ID.match(text or "")
    if not m or (m.group(1) and m.group(1).upper() != prefix.upper()):
        raise InvalidInput("identifier", value=text, prefix=prefix)
    value = int(m.group(2))
    if not 0 < value <= MAX_DB_INT:  # no record has it: the database's integers end there
        code, key = _NOT_FOUND.get(prefix.upper(), ("record", "value"))
        raise NotFound(code, **{key: value if key == "id" else f"{prefix}{value}"})
    return value


# What "no such record" says for each prefix (the codes the areas already use).
_NOT_FOUND = {
    "C": ("contact", "id"),
    "D": ("deal", "id"),
    "T": ("task", "id"),
    "P": ("payment", "id"),
    "PO": ("po", "id"),
    "R": ("collection", "id"),
    "L": ("deal_line", "id"),
    "I": ("invoice", "ref"),
}


def format_id(prefix: str, pk: int) -> str:
    """34 → `D34`."""
    return f"{prefix}{pk}"
