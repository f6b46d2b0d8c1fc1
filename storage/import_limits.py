"""Bounds on the files people send to import, checked before and while they are parsed.

An XLSX file is a ZIP of XML: a few kilobytes can declare gigabytes (a "zip bomb"), a
sheet can declare a million rows by sixteen thousand columns (which openpyxl's read-only
mode would pad every row to), a shared-strings table can hold millions of entries. So,
before openpyxl opens anything:

- the archive's members, their declared uncompressed sizes (which zipfile enforces
  when reading) and compression ratios are checked;
- each worksheet's declared `<dimension>` and the shared strings' declared counts are
  read from the first bytes of their XML and checked;

and while parsing (CSV, XLSX, vCard alike) rows and columns are counted and a time budget
is checked (`Budget`). Every refusal is one `InvalidInput` sentence; nothing is written.
"""

from __future__ import annotations

import io
import re
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field

from storage.errors import InvalidInput

__all__ = ["MAX_COLUMNS", "MAX_ROWS", "PARSE_SECONDS", "Budget", "check_xlsx"]

MAX_ROWS = 100_000
MAX_COLUMNS = 500
MAX_UNCOMPRESSED = 200 * 1024 * 1024  # all members together, as declared
MAX_MEMBERS = 2_000
MAX_RATIO = 250  # a member declaring more than this times its compressed size is a bomb
MAX_SHARED_STRINGS = 2_000_000
PARSE_SECONDS = 60.0
_HEAD = 64 * 1024  # bytes of a member's XML read to find its declarations

_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"([A-Z]{1,3})?(\d+)?(?::([A-Z]{1,3})(\d+))?\"")
_COUNTS = re.compile(rb"\b(?:uniqueCount|count)=\"(\d+)\"")


def _column_number(letters: bytes) -> int:
    number = 0
    for ch in letters:
        number = number * 26 + (ch - 64)
    return number


def check_xlsx(data: bytes) -> None:
    """Refuse, before parsing, an XLSX whose archive or declarations exceed the bounds."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise InvalidInput("import_type", expected="XLSX") from exc
    with archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise InvalidInput("import_bomb")
        total = sum(m.file_size for m in members)
        if total > MAX_UNCOMPRESSED:
            raise InvalidInput("import_bomb")
        for member in members:
            if member.file_size > 1024 * 1024 and member.file_size > MAX_RATIO * max(member.compress_size, 1):
                raise InvalidInput("import_bomb")
        for member in members:
            name = member.filename.lower()
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                _check_dimension(_head(archive, member))
            elif name == "xl/sharedstrings.xml":
                counts = [int(c) for c in _COUNTS.findall(_head(archive, member)[:4096])]
                if counts and max(counts) > MAX_SHARED_STRINGS:
                    raise InvalidInput("import_bomb")


def _head(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bytes:
    try:
        with archive.open(member) as stream:
            return stream.read(_HEAD)
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError) as exc:
        raise InvalidInput("import_type", expected="XLSX") from exc


def _check_dimension(head: bytes) -> None:
    m = _DIMENSION.search(head)
    if m is None:
        return
    last_col = m.group(3) or m.group(1)
    last_row = m.group(4) or m.group(2)
    if last_row is not None and int(last_row) > MAX_ROWS + 10:
        raise InvalidInput("import_too_many_rows", max=MAX_ROWS)
    if last_col is not None and _column_number(last_col) > MAX_COLUMNS:
        raise InvalidInput("import_too_many_columns", max=MAX_COLUMNS)


@dataclass
class Budget:
    """Rows, columns and seconds a parse may spend; `row(cells)` is called for each row."""

    seconds: float = PARSE_SECONDS
    clock: Callable[[], float] = time.monotonic
    rows: int = 0
    started: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def row(self, columns: int) -> None:
        self.rows += 1
        if columns > MAX_COLUMNS:
            raise InvalidInput("import_too_many_columns", max=MAX_COLUMNS)
        if self.rows > MAX_ROWS + 10:  # a few header lines above the data are allowed
            raise InvalidInput("import_too_many_rows", max=MAX_ROWS)
        if self.rows % 500 == 0 and self.clock() - self.started > self.seconds:
            raise InvalidInput("import_too_slow", seconds=int(self.seconds))
