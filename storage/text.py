"""Text typed by people, made safe before the database sees it.

- NUL and other control characters are stripped (line breaks and tabs kept in free texts),
  and so are lone surrogates, which no database encoding can hold;
- a name made only of invisible characters (spaces, zero-width joiners, fillers, marks)
  is refused: nobody could find or tell it apart;
- every length limit is one clear sentence (`too_long`), never a database error: the
  limits are the columns' own (`max_length`) or the product's (notes, tasks, reasons).

Pure functions: they take the value and return it cleaned, or raise `InvalidInput`.
"""

from __future__ import annotations

import unicodedata

from storage.errors import InvalidInput, NotFound

__all__ = ["MAX_DB_INT", "check_db_id", "clean_line", "clean_name", "clean_text", "fits"]

MAX_DB_INT = 2**31 - 1  # integer primary keys are 32-bit on PostgreSQL

_KEEP_IN_TEXT = {"\n", "\t"}
# Characters that print nothing although Unicode does not class them as format or space.
_BLANKS = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800", "\u180e", "\u034f"}


def _strip_controls(value: str, keep: set[str]) -> str:
    return "".join(
        ch for ch in value if ch in keep or unicodedata.category(ch) not in ("Cc", "Cs", "Co", "Cn")
    )


def _visible(ch: str) -> bool:
    return ch not in _BLANKS and unicodedata.category(ch) not in (
        "Cc",
        "Cf",
        "Cs",
        "Co",
        "Cn",
        "Zs",
        "Zl",
        "Zp",
        "Mn",
        "Me",
    )


def clean_line(value: str | None, max_len: int, *, empty_ok: bool = True) -> str:
    """One line of text: controls stripped, spaces collapsed, at most `max_len` characters."""
    text = " ".join(_strip_controls(value or "", set()).split())
    if len(text) > max_len:
        raise InvalidInput("too_long", max=max_len, length=len(text))
    if not text and not empty_ok:
        raise InvalidInput("empty")
    return text


def clean_name(value: str | None, max_len: int) -> str:
    """A name: one line with at least one visible character, at most `max_len` long."""
    text = clean_line(value, max_len)
    if not any(_visible(ch) for ch in text):
        raise InvalidInput("invisible_name")
    return text


def clean_text(value: str | None, max_len: int) -> str:
    """A free text (note, task, reason): controls stripped but line breaks kept, not empty."""
    text = _strip_controls(value or "", _KEEP_IN_TEXT).strip()
    if len(text) > max_len:
        raise InvalidInput("too_long", max=max_len, length=len(text))
    if not any(_visible(ch) for ch in text):
        raise InvalidInput("empty")
    return text


def fits(value: str | None, max_len: int) -> bool:
    """Whether a reference typed to look something up can exist at all (else: not found)."""
    return value is not None and len(value) <= max_len and "\x00" not in value


def check_db_id(value: int, code: str, **params: object) -> int:
    """An id the database can hold; beyond its integer range nothing has it: NotFound."""
    if not 0 < value <= MAX_DB_INT:
        raise NotFound(code, **params)
    return value
