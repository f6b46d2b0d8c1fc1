"""A sheet as read from a file: its header, its rows of cells, and formula neutralising.

An exported text cell a spreadsheet would run as a formula gets a leading quote
(`neutralised`); reading a file takes it off again (`unquote`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

__all__ = ["Cell", "Row", "Table", "neutralised", "unquote"]

Cell = str | Decimal | date | None
Row = tuple[int, list[Cell]]  # the row's number in the file, its cells


@dataclass(frozen=True)
class Table:
    """A sheet read from a file: its header and its rows with their file row numbers."""

    headers: list[str]
    rows: list[Row]
    file_type: str = "csv"


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(value: str) -> str:
    """A text cell a spreadsheet would run as a formula gets a leading quote."""
    return "'" + value if value[:1] in _FORMULA_STARTS else value


def unquote(value: str) -> str:
    """Undo the export's formula neutralisation (`'=x` → `=x`)."""
    if len(value) > 1 and value[0] == "'" and value[1] in "=+-@\t\r":
        return value[1:]
    return value
