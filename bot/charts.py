"""PNG charts for /dashboard (matplotlib's object API, Agg) and XLSX workbooks for /report.

Charts speak the reader's language: titles and notes from the catalogue, money ticks in the
currency by Babel (`12 000 €`, `€12,000`), months and weeks as Babel dates. A chart with
nothing to show says so in one sentence instead of drawing empty axes. The funnel is drawn
as a funnel: centred bars as wide as the deals that reached each stage, joined by trapezoids
that carry the conversion rate to the next stage.

No pyplot: each chart is its own `Figure`, so charts can be drawn off the event loop
(`asyncio.to_thread`) without sharing matplotlib's global state.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

import matplotlib
from babel import Locale
from babel.dates import format_skeleton
from babel.numbers import format_currency, format_decimal
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Polygon
from matplotlib.ticker import FuncFormatter
from openpyxl import Workbook

from bot.i18n import Safe, babel_locale, fmt_money, stage_name, t
from storage.exporting import safe_cell
from storage.reports import AGING_BUCKETS, FunnelRow

__all__ = [
    "Chart",
    "aging_chart",
    "cash_chart",
    "dashboard_charts",
    "forecast_chart",
    "funnel_chart",
    "png",
    "purchases_chart",
    "xlsx",
]

# People's names and amounts are text, never TeX: "$ deals $" must not become mathtext.
matplotlib.rcParams["text.parse_math"] = False

BLUE, GREY = "#3b6ea8", "#d9dee5"
Chart = tuple[str, Figure]  # the file name it is sent under, the figure


def _t(lang: str, key: str, **params: object) -> str:
    """A catalogue message as plain text (a chart is no HTML: nothing to escape)."""
    return str(t(lang, key, **{k: Safe(str(v)) for k, v in params.items()}))


def png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    FigureCanvasAgg(fig)
    # An empty chart keeps its whole canvas: "tight" would crop it to its one sentence.
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight" if fig.axes else None)
    return buf.getvalue()


def money_ticks(currency: str, lang: str, whole: bool = True) -> FuncFormatter:
    """Tick labels as amounts of `currency` in the reader's locale, without cents when
    `whole` (`12 000 €`, `€12,000`)."""
    locale = babel_locale(lang)
    pattern = Locale.parse(locale).currency_formats["standard"].pattern
    if whole:
        pattern = pattern.replace(".00", "")

    def label(value: float, _position: object) -> str:
        return format_currency(
            Decimal(str(round(value, 2))), currency, format=pattern, locale=locale, currency_digits=not whole
        )

    return FuncFormatter(label)


def _percent(value: Decimal, lang: str) -> str:
    pattern = Locale.parse(babel_locale(lang)).percent_formats[None].pattern.replace("#,##0", "#,##0.#")
    return format_decimal(value / 100, format=pattern, locale=babel_locale(lang))


def _empty(fig: Figure, title: str, sentence: str) -> Figure:
    """A chart with nothing to draw: its title and one sentence, no axes."""
    fig.set_size_inches(7, 2.4)
    fig.suptitle(title)
    fig.text(0.5, 0.5, sentence, ha="center", va="center", fontsize=13, color="#555555")
    return fig


def _money_bars(
    title: str, labels: Sequence[str], cents: Sequence[int], currency: str, lang: str, empty: str
) -> Figure:
    fig = Figure(figsize=(7, 3.6))
    if not any(cents):
        return _empty(fig, title, empty)
    ax = fig.add_subplot()
    ax.bar(range(len(labels)), [c / 100 for c in cents], color=BLUE)
    ax.set_xticks(range(len(labels)), list(labels), rotation=30, ha="right")
    ax.set_title(title)
    ax.yaxis.set_major_formatter(money_ticks(currency, lang, whole=max(cents) >= 10_00))
    return fig


def forecast_chart(months: Sequence[tuple[str, int]], currency: str, lang: str) -> Figure:
    """Weighted value of open deals by expected month (`2026-03` shown `mars 2026`)."""
    labels = [
        format_skeleton("yMMM", date.fromisoformat(f"{m}-01"), locale=babel_locale(lang)) for m, _ in months
    ]
    return _money_bars(
        _t(lang, "report.forecast"),
        labels,
        [v for _, v in months],
        currency,
        lang,
        _t(lang, "report.no_open_deals"),
    )


def aging_chart(buckets: dict[str, int], currency: str, lang: str) -> Figure:
    """Amounts still due per aging bucket, bucket names in the reader's language."""
    labels = [_t(lang, f"report.bucket.{AGING_BUCKETS.index(b)}") for b in buckets]
    return _money_bars(
        _t(lang, "report.aging"),
        labels,
        list(buckets.values()),
        currency,
        lang,
        _t(lang, "report.no_receivables"),
    )


def cash_chart(weeks: Sequence[tuple[date, int]], currency: str, lang: str) -> Figure:
    """Money expected per week, each week by its Monday (`2 mars`)."""
    labels = [format_skeleton("MMMd", monday, locale=babel_locale(lang)) for monday, _ in weeks]
    return _money_bars(
        _t(lang, "report.cash"),
        labels,
        [v for _, v in weeks],
        currency,
        lang,
        _t(lang, "report.no_cash_expected"),
    )


def purchases_chart(pending: Sequence[tuple[str, str, str, Decimal]], lang: str) -> Figure:
    """Quantities still expected per open purchase order."""
    fig = Figure(figsize=(7, 3.6))
    title = _t(lang, "report.purchases")
    if not pending:
        return _empty(fig, title, _t(lang, "report.no_purchases"))
    ax = fig.add_subplot()
    labels = [f"{po} · {supplier[:20]}" for po, supplier, _status, _left in pending]
    ax.bar(range(len(labels)), [float(left) for *_, left in pending], color=BLUE)
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_title(title)
    ax.set_ylabel(_t(lang, "report.quantity_expected"))
    ax.yaxis.set_major_formatter(
        FuncFormatter(
            lambda v, _p: format_decimal(
                Decimal(str(round(v, 3))), format="#,##0.###", locale=babel_locale(lang)
            )
        )
    )
    return fig


def funnel_chart(rows: Sequence[FunnelRow], currency: str, lang: str) -> Figure:
    """The funnel: one centred bar per open or won stage, as wide as the deals that reached
    it; between two bars a trapezoid with the conversion rate; beside each bar the deals in
    the stage now and their value; lost stages in a note below."""
    fig = Figure(figsize=(8, 0.9 + 0.75 * max(len(rows), 1)))
    title = _t(lang, "report.funnel")
    stages = [r for r in rows if not r.is_lost]
    widths = [max(r.reached, r.count) for r in stages]
    if not stages or not any(widths):
        return _empty(fig, title, _t(lang, "report.no_open_deals"))
    ax: Axes = fig.add_subplot()
    loc = babel_locale(lang)
    top = max(widths)
    scaled = [max(w / top, 0.02) for w in widths]  # a stage nobody reached is still a sliver
    height, step = 0.62, 1.0
    ys = [-i * step for i in range(len(stages))]
    ax.barh(ys, scaled, left=[-w / 2 for w in scaled], height=height, color=BLUE)
    for y, w, row, reached in zip(ys, scaled, stages, widths, strict=True):
        ax.text(
            0,
            y,
            format_decimal(reached, locale=loc),
            ha="center",
            va="center",
            color="white" if w > 0.08 else "black",
            fontsize=10,
            fontweight="bold",
        )
        ax.text(
            0.56,
            y,
            _t(
                lang,
                "report.funnel.now",
                count=format_decimal(row.count, locale=loc),
                value=fmt_money(row.value_cents, currency, lang),
            ),
            ha="left",
            va="center",
            fontsize=9,
        )
    for i in range(len(stages) - 1):
        upper, lower = scaled[i] / 2, scaled[i + 1] / 2
        y0, y1 = ys[i] - height / 2, ys[i + 1] + height / 2
        ax.add_patch(
            Polygon(
                [(-upper, y0), (upper, y0), (lower, y1), (-lower, y1)],
                closed=True,
                facecolor=GREY,
                edgecolor="none",
            )
        )
        conversion = stages[i].conversion_pct
        if conversion is not None:
            ax.text(
                0,
                (y0 + y1) / 2,
                "↓ " + _percent(conversion, lang),
                ha="center",
                va="center",
                fontsize=8,
                color="#333333",
            )
    ax.set_yticks(ys, [stage_name(r.stage, lang, r.labels) for r in stages])
    ax.set_xlim(-0.55, 1.25)
    ax.set_ylim(ys[-1] - step / 2, step / 2)
    ax.set_xticks([])
    ax.tick_params(axis="y", length=0)
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    ax.set_title(title)
    ax.set_xlabel(_t(lang, "report.funnel.width"), fontsize=8, color="#555555")
    lost = [
        _t(
            lang,
            "report.funnel.lost",
            stage=stage_name(r.stage, lang, r.labels),
            count=format_decimal(r.count, locale=loc),
            value=fmt_money(r.value_cents, currency, lang),
        )
        for r in rows
        if r.is_lost and r.count
    ]
    if lost:
        fig.text(0.5, -0.02, " · ".join(lost), ha="center", va="top", fontsize=9, color="#a33")
    return fig


def dashboard_charts(
    lang: str,
    currency: str,
    funnel: Sequence[FunnelRow],
    forecast: Sequence[tuple[str, int]],
    aging: dict[str, int],
    cash: Sequence[tuple[date, int]],
    pending: Sequence[tuple[str, str, str, Decimal]],
) -> list[tuple[str, bytes]]:
    """The /dashboard album as (file name, PNG): CPU-bound, run it off the event loop."""
    charts: list[Chart] = [
        ("funnel.png", funnel_chart(funnel, currency, lang)),
        ("forecast.png", forecast_chart(forecast, currency, lang)),
        ("aging.png", aging_chart(aging, currency, lang)),
        ("cash.png", cash_chart(cash, currency, lang)),
        ("purchases.png", purchases_chart(pending, lang)),
    ]
    return [(name, png(fig)) for name, fig in charts]


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
        sheet.append(
            [
                safe_cell(v)
                if isinstance(v, str)
                else v
                if isinstance(v, int | Decimal | date) or v is None
                else safe_cell(str(v))
                for v in row
            ]
        )
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()
