"""Files sent to import are bounded before and while they are parsed."""

from __future__ import annotations

import io
import itertools
import zipfile

import pytest
from openpyxl import Workbook

from storage.errors import InvalidInput
from storage.import_limits import MAX_COLUMNS, MAX_ROWS, Budget, check_xlsx
from storage.importing import read_file


def _xlsx(**replace: bytes) -> bytes:
    """A real one-sheet workbook from openpyxl, with some members replaced."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Name", "Phone"])
    sheet.append(["Ann", "+33612345678"])
    raw = io.BytesIO()
    book.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item.filename, replace.pop(item.filename, src.read(item.filename)))
        for name, data in replace.items():
            dst.writestr(name, data)
    return out.getvalue()


def test_a_plain_workbook_passes() -> None:
    data = _xlsx()
    check_xlsx(data)
    assert read_file(data, "ok.xlsx").rows[0][1][0] == "Ann"


def test_a_compressed_bomb_is_refused_before_parsing() -> None:
    sheet = (
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b"<sheetData>" + b"<row/>" * 4_000_000 + b"</sheetData></worksheet>"
    )
    data = _xlsx(**{"xl/worksheets/sheet1.xml": sheet})
    assert len(data) < 200_000  # 24 MB of XML in a few kilobytes
    with pytest.raises(InvalidInput, match="import_bomb"):
        read_file(data, "bomb.xlsx")


def test_declared_dimensions_beyond_the_bounds_are_refused_before_parsing() -> None:
    head = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    wide = head + b'<dimension ref="A1:XFD2"/><sheetData/></worksheet>'
    with pytest.raises(InvalidInput, match="import_too_many_columns"):
        read_file(_xlsx(**{"xl/worksheets/sheet1.xml": wide}), "wide.xlsx")
    tall = head + b'<dimension ref="A1:B1048576"/><sheetData/></worksheet>'
    with pytest.raises(InvalidInput, match="import_too_many_rows"):
        read_file(_xlsx(**{"xl/worksheets/sheet1.xml": tall}), "tall.xlsx")


def test_a_shared_strings_table_declaring_millions_is_refused() -> None:
    strings = (
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        b'count="90000000" uniqueCount="90000000"></sst>'
    )
    with pytest.raises(InvalidInput, match="import_bomb"):
        read_file(_xlsx(**{"xl/sharedStrings.xml": strings}), "strings.xlsx")


def test_csv_rows_and_columns_are_bounded() -> None:
    wide = ";".join(f"c{i}" for i in range(MAX_COLUMNS + 1)).encode()
    with pytest.raises(InvalidInput, match="import_too_many_columns"):
        read_file(b"Name;Phone;" + wide + b"\nAnn;1;x\n", "wide.csv")
    tall = b"Name;Phone\n" + b"Ann;+33612345678\n" * (MAX_ROWS + 20)
    with pytest.raises(InvalidInput, match="import_too_many_rows"):
        read_file(tall, "tall.csv")
    assert len(read_file(b"Name;Phone\n" + b"Ann;+33612345678\n" * MAX_ROWS, "ok.csv").rows) == MAX_ROWS


def test_parsing_stops_when_its_time_is_up() -> None:
    ticks = itertools.count(0, 1.0)  # each look at the clock is one second later
    budget = Budget(seconds=30, clock=lambda: next(ticks))
    with pytest.raises(InvalidInput, match="import_too_slow"):
        read_file(b"Name;Phone\n" + b"Ann;+33612345678\n" * 50_000, "slow.csv", budget=budget)
