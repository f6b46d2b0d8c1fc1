"""Files to tables: CSV (any separator, UTF-8 or Windows encodings), XLSX and vCard.

`read_file` checks the type against the name and the bytes, decodes, finds the header
row, and bounds everything (`storage.import_limits`: size, rows, columns, time; an XLSX's
archive and declarations are checked before it is parsed). A bad file raises one
`InvalidInput` with a clear code.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from storage.errors import InvalidInput
from storage.import_limits import Budget, check_xlsx
from storage.importing.cells import Cell, Row, Table, unquote
from storage.importing.fields import KINDS
from storage.importing.mapping import guess_mapping
from storage.importing.vcards import read_vcard

__all__ = ["MAX_BYTES", "cell", "read_file"]

MAX_BYTES = 20 * 1024 * 1024


def read_file(data: bytes, filename: str, zone: str = "UTC", budget: Budget | None = None) -> Table:
    """A CSV, XLSX or vCard file's table; a bad file raises one `InvalidInput`.
    A zone-aware date-time cell becomes its date in `zone` (the company's IANA zone).
    Bounded (`storage.import_limits`): size, rows, columns, time; an XLSX's archive and
    declarations are checked before it is parsed."""
    budget = budget or Budget()
    if len(data) > MAX_BYTES:
        raise InvalidInput("import_too_large", max_mb=MAX_BYTES // (1024 * 1024))
    if not data.strip(b" \t\r\n\x00\xef\xbb\xbf"):
        raise InvalidInput("import_empty")
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    is_zip = data[:4] == b"PK\x03\x04"
    if ext in ("xlsx", "xlsm"):
        if not is_zip:
            raise InvalidInput("import_type", expected="XLSX")
        check_xlsx(data)
        return _read_xlsx(data, ZoneInfo(zone), budget)
    if ext in ("vcf", "vcard"):
        text = _decode(data)
        if "BEGIN:VCARD" not in text.upper():
            raise InvalidInput("import_type", expected="vCard")
        return read_vcard(text, budget)
    if ext in ("csv", "txt", "tsv"):
        if is_zip or b"\x00" in data[:4096] or data[:5] == b"%PDF-":
            raise InvalidInput("import_type", expected="CSV")
        return _read_csv(_decode(data), budget)
    raise InvalidInput("import_format", name=filename)


def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else cp1252 (French Excel), else Latin-1."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _separator(text: str) -> str:
    """`;`, `,` or tab: the most frequent one outside quotes in the first lines."""
    sample = re.sub(r'"[^"]*"', "", "\n".join(text.splitlines()[:20]))
    counts = {sep: sample.count(sep) for sep in (";", ",", "\t")}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] else ","


def _read_csv(text: str, budget: Budget) -> Table:
    """A CSV text's rows (blank ones skipped), each counted against the budget."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_separator(text), strict=True)
    records: list[Row] = []
    while True:
        start = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise InvalidInput("import_quoting", row=start) from exc
        budget.row(len(record))
        if any(cell.strip() for cell in record):
            records.append((start, [unquote(c) for c in record]))
    return _with_header(records, "csv")


def _read_xlsx(data: bytes, zone: ZoneInfo, budget: Budget) -> Table:
    """The first sheet's rows (blank ones skipped), read-only, values not formulas."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise InvalidInput("import_type", expected="XLSX") from exc
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            raise InvalidInput("import_empty")
        records: list[Row] = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            budget.row(len(values))
            cells = [cell(v, zone) for v in values]
            if any(c not in (None, "") for c in cells):
                records.append((number, cells))
    finally:
        book.close()
    return _with_header(records, "xlsx")


def cell(value: object, zone: ZoneInfo) -> Cell:
    """A spreadsheet value as a cell: dates as dates (a zone-aware date-time as its date in
    `zone`), whole numbers as text, other numbers as exact decimals, booleans as yes/no."""
    if value is None:
        return None
    if isinstance(value, datetime):  # naive: already a local wall time
        return (value.astimezone(zone) if value.tzinfo else value).date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else Decimal(repr(value))
    if isinstance(value, Decimal):
        return value
    return unquote(str(value))


def _with_header(records: list[Row], file_type: str) -> Table:
    """The header is the first of the first ten rows recognised best for any kind."""
    if not records:
        raise InvalidInput("import_empty")
    best, best_score = -1, 0
    for index, (_, cells) in enumerate(records[:10]):
        headers = [str(c or "") for c in cells]
        score = max(_score(kind, headers) for kind in KINDS)
        if score > best_score:
            best, best_score = index, score
    if best < 0:
        raise InvalidInput("import_no_header")
    headers = [str(c or "").strip() for c in records[best][1]]
    return Table(headers, records[best + 1 :], file_type)


def _score(kind: str, headers: list[str]) -> int:
    """How many of the headers name a field of this kind."""
    return sum(1 for f in guess_mapping(kind, headers) if f is not None)
