"""PNG charts for /dashboard (matplotlib, Agg backend) and XLSX workbooks for /report."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

import matplotlib

matplotlib.use("Agg")

from matplotlib import pyplot as plt
from openpyxl import Workbook

from storage.exporting import safe_cell

__all__ = ["bar_chart", "funnel_chart", "xlsx"]


def _png(fig: object) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[arg-type]
    return buf.getvalue()


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float | Decimal],
              ylabel: str = "") -> bytes:
    """A simple bar chart as PNG bytes (values are display units, e.g. euros)."""
    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.bar(list(labels) or ["—"], [float(v) for v in values] or [0.0], color="#3b6ea8")
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.tick_params(axis="x", labelrotation=30)
    return _png(fig)


def funnel_chart(title: str, stages: Sequence[str], counts: Sequence[int],
                 values: Sequence[Decimal], conversions: Sequence[Decimal | None],
                 count_label: str, value_label: str) -> bytes:
    """Count and value per stage, the conversion to the next stage written on the bars."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.8))
    bars = left.barh(list(stages)[::-1], list(counts)[::-1], color="#3b6ea8")
    for bar, conv in zip(bars, list(conversions)[::-1], strict=True):
        if conv is not None:
            left.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" → {conv} %",
                      va="center", fontsize=8)
    left.set_title(f"{title} — {count_label}")
    right.barh(list(stages)[::-1], [float(v) for v in values][::-1], color="#6aa84f")
    right.set_title(value_label)
    return _png(fig)


def xlsx(title: str, header: list[str], rows: list[list[object]]) -> bytes:
    """One sheet: a bold header then the rows (dates and Decimals kept as typed cells)."""
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    sheet.append([safe_cell(h) for h in header])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:  # texts go in as typed: never a formula, never a character XLSX refuses
        sheet.append([safe_cell(v) if isinstance(v, str)
                      else v if isinstance(v, int | Decimal | date) or v is None
                      else safe_cell(str(v)) for v in row])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()
