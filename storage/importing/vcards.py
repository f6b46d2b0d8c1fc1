"""vCard files read as a table: one row per card (name, company, phones, emails).

vCard 2.1 (quoted-printable, any CHARSET), 3.0 and 4.0, read by vobject one card at a
time. Bounded: the file's size (`storage.importing.readers.MAX_BYTES`), the number of
cards (`Budget`, a card is a row) and each card's size (`MAX_CARD_BYTES`, checked before
it is parsed).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import vobject

from storage.errors import InvalidInput
from storage.import_limits import Budget
from storage.importing.cells import Cell, Row, Table

__all__ = ["MAX_CARD_BYTES", "read_vcard"]

MAX_CARD_BYTES = 1024 * 1024  # one card, its photo included
_VCARD_HEADERS = ["Name", "First Name", "Last Name", "Company", "Phone", "Email"]


def read_vcard(text: str, budget: Budget) -> Table:
    """The cards of a vCard file → rows (Name, First, Last, Company, Phones, Emails). A
    card vobject cannot read becomes an empty row, which the import rejects with its line
    number; a card over `MAX_CARD_BYTES` refuses the file."""
    rows: list[Row] = []
    for number, card in _vcard_chunks(text):
        budget.row(len(_VCARD_HEADERS))
        if len(card) > MAX_CARD_BYTES:
            raise InvalidInput("import_card_too_large", row=number, max_kb=MAX_CARD_BYTES // 1024)
        rows.append((number, _vcard_row(card)))
    if not rows:
        raise InvalidInput("import_empty")
    return Table(list(_VCARD_HEADERS), rows, "vcf")


def _vcard_chunks(text: str) -> Iterable[tuple[int, str]]:
    """Each BEGIN:VCARD … END:VCARD block with the line it starts on (text between cards
    is ignored; a card left open at the end of the file is still read)."""
    lines: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), start=1):
        tag = line.strip().upper()
        if tag == "BEGIN:VCARD":
            if lines:
                yield start, "\r\n".join([*lines, "END:VCARD", ""])
            lines, start = [line], number
        elif lines:
            lines.append(line)
            if tag == "END:VCARD":
                yield start, "\r\n".join([*lines, ""])
                lines = []
    if lines:
        yield start, "\r\n".join([*lines, "END:VCARD", ""])


def _vcard_row(card: str) -> list[Cell]:
    """One card's cells, or empty cells when vobject cannot read it."""
    try:
        parsed = vobject.readOne(card, allowQP=True)
    except (vobject.base.VObjectError, ValueError, LookupError, UnicodeError, IndexError):
        return [""] * len(_VCARD_HEADERS)  # an unreadable card: rejected for its missing name
    contents: dict[str, list[Any]] = parsed.contents

    def first(key: str) -> Any:
        items = contents.get(key) or [None]
        return items[0].value if items[0] is not None else None

    name = first("n")
    given = _vtext(getattr(name, "given", "")) if name is not None else ""
    family = _vtext(getattr(name, "family", "")) if name is not None else ""
    org = first("org")
    company = _vtext(org[0] if isinstance(org, list) and org else org or "")
    phones = [_vtext(t.value).removeprefix("tel:").split(";")[0] for t in contents.get("tel", [])]
    emails = [_vtext(e.value).removeprefix("mailto:") for e in contents.get("email", [])]
    return [
        _vtext(first("fn") or ""),
        given,
        family,
        company,
        " ::: ".join(p for p in phones if p),
        " ::: ".join(e for e in emails if e),
    ]


def _vtext(value: object) -> str:
    """A property's text on one line (vobject has already unescaped it)."""
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    return " ".join(str(value or "").split())
