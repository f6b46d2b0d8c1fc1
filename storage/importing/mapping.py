"""Columns to fields, and a row's cells to clean values.

`guess_mapping` reads the headers (French, English, Google, Outlook names); a person may
change it with `apply_mapping_text` (`B=phone, C=-`). A row's cells are then gathered by
field (`row_values`) and normalised: text on one line, amounts in cents, VAT rates in
basis points, dates.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from storage.errors import InvalidInput
from storage.importing.cells import Cell
from storage.importing.fields import FIELDS, IGNORED, KINDS, MULTI, PATTERNS, SYNONYMS, Kind, norm
from storage.parsing import parse_amount, parse_date

__all__ = [
    "Values",
    "amount_cents",
    "apply_mapping_text",
    "as_text",
    "cell_date",
    "first",
    "guess_kind",
    "guess_mapping",
    "many",
    "row_values",
    "vat_bp",
]

Values = dict[str, list[Cell]]  # a row's non-empty cells by the field they fill


def guess_mapping(kind: str, headers: list[str]) -> list[str | None]:
    """For each column, the field it fills (or None); a single field is taken once."""
    synonyms, patterns = SYNONYMS[kind], PATTERNS[kind]
    mapping: list[str | None] = []
    taken: set[str] = set()
    for header in headers:
        key = norm(header)
        found: str | None = None
        if key and key not in IGNORED:
            found = next((f for f, names in synonyms.items() if key in names), None)
            if found is None:
                found = next((f for p, f in patterns if p.match(key)), None)
        if found is not None and found not in MULTI and found in taken:
            found = None
        if found is not None:
            taken.add(found)
        mapping.append(found)
    return mapping


def guess_kind(headers: list[str]) -> Kind:
    """The kind whose fields the headers fill best (contacts on a tie)."""

    def score(kind: Kind) -> tuple[int, int]:
        fields = set(filter(None, guess_mapping(kind, headers)))
        key = {"contacts": {"phone", "email"}, "deals": {"amount", "stage"}, "products": {"sku", "price"}}[
            kind
        ]
        return len(fields & key), -KINDS.index(kind)

    return max(KINDS, key=score)


def _column(ref: str, count: int) -> int:
    """A column typed by letter (`B`, `AA`) or number (`2`) as its index."""
    ref = ref.strip().upper()
    index = -1
    if ref.isdigit():
        index = int(ref) - 1
    elif ref.isalpha() and len(ref) <= 2:
        index = 0
        for ch in ref:
            index = index * 26 + (ord(ch) - 64)
        index -= 1
    if not 0 <= index < count:
        raise InvalidInput("import_column", value=ref)
    return index


def apply_mapping_text(kind: str, mapping: list[str | None], text: str) -> list[str | None]:
    """`B=phone, C=-, 4=Société` changes the mapping of columns B, C and 4."""
    result = list(mapping)
    pairs = [p for p in re.split(r"[,;\n]+", text or "") if p.strip()]
    if not pairs:
        raise InvalidInput("import_mapping", fields=", ".join(FIELDS[kind]))
    for pair in pairs:
        ref, sep, name = pair.partition("=")
        if not sep:
            raise InvalidInput("import_mapping", fields=", ".join(FIELDS[kind]))
        index = _column(ref, len(result))
        name = name.strip()
        if name in ("-", ""):
            result[index] = None
            continue
        target = name if name in FIELDS[kind] else None
        if target is None:
            target = next((f for f, names in SYNONYMS[kind].items() if norm(name) in names), None)
        if target is None:
            raise InvalidInput("import_field", value=name, fields=", ".join(FIELDS[kind]))
        if target not in MULTI:
            result = [None if f == target else f for f in result]
        result[index] = target
    return result


def as_text(value: Cell) -> str:
    """A cell as text on one line (a date in ISO form); empty for an empty cell."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return " ".join(str(value).split())


def row_values(row: list[Cell], mapping: list[str | None]) -> Values:
    """A row's non-empty cells gathered by the field their column fills."""
    out: Values = {}
    for index, name in enumerate(mapping):
        if name is not None and index < len(row) and row[index] not in (None, ""):
            out.setdefault(name, []).append(row[index])
    return out


def first(values: Values, name: str) -> str:
    """The first value of a field, as text ("" when none)."""
    return as_text(values.get(name, [None])[0])


def many(values: Values, name: str) -> list[str]:
    """Every value of a multi column (`a ::: b`, `a; b`, `a, b` split too)."""
    out: list[str] = []
    for cell in values.get(name, []):
        for part in re.split(r":::|[;,\n]", as_text(cell)):
            if part.strip() and part.strip() not in out:
                out.append(part.strip())
    return out


def amount_cents(value: Cell) -> int:
    """An amount in cents (`1 200,50 €`, a spreadsheet number); 0 when empty."""
    if isinstance(value, Decimal):
        if value < 0 or value != value.quantize(Decimal("0.01")):
            raise InvalidInput("amount", value=str(value))
        return int(value * 100)
    text = as_text(value)
    if not text:
        return 0
    text = re.sub(r"\s*(EUR|USD|GBP|CHF|€|\$|£)$", "", text, flags=re.IGNORECASE)
    if re.fullmatch(r"0+([.,]0+)?", text):
        return 0
    return int(parse_amount(text) * 100)


def vat_bp(value: Cell) -> int:
    """A VAT rate in basis points (`20 %`, `0.2`, `5,5`); 20 % when empty."""
    text = as_text(value).replace("%", "").replace(",", ".").strip()
    if not text:
        return 2000
    try:
        rate = Decimal(text)
    except InvalidOperation as exc:
        raise InvalidInput("import_vat", value=as_text(value)) from exc
    if 0 < rate < 1:
        rate *= 100
    if not 0 <= rate <= 100 or rate != rate.quantize(Decimal("0.01")):
        raise InvalidInput("import_vat", value=as_text(value))
    return int(rate * 100)


def cell_date(value: Cell, today: date) -> date | None:
    """A date cell, or a date written as text (read relative to `today`)."""
    if isinstance(value, date):
        return value
    text = as_text(value)
    return parse_date(text, today) if text else None
