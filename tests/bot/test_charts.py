"""Dashboard charts read in the reader's language: the text handed to matplotlib (titles,
tick labels, notes) is checked on the real Figures after they are drawn to PNG."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from matplotlib.figure import Figure

from bot.charts import (
    aging_chart,
    cash_chart,
    dashboard_charts,
    forecast_chart,
    funnel_chart,
    png,
    purchases_chart,
)
from storage.reports import AGING_BUCKETS, FunnelRow

NBSP, NNBSP = "\xa0", "\u202f"


def _drawn(fig: Figure) -> Figure:
    """Render to PNG (tick labels are made when the figure is drawn)."""
    assert png(fig).startswith(b"\x89PNG")
    return fig


def _texts(fig: Figure) -> list[str]:
    """Every text of the figure: its own, its axes' titles, labels, ticks and annotations."""
    out = [t.get_text() for t in fig.texts]
    if fig._suptitle is not None:
        out.append(fig._suptitle.get_text())
    for ax in fig.axes:
        out += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        out += [t.get_text() for t in ax.texts]
        out += [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()]
    return [t.replace(NBSP, " ").replace(NNBSP, " ") for t in out if t]


def _yticks(fig: Figure) -> list[str]:
    return [t.get_text().replace(NBSP, " ").replace(NNBSP, " ") for t in fig.axes[0].get_yticklabels()]


FUNNEL = [
    FunnelRow("Prospect", 5, 5_000_00, 20, Decimal("45.0")),
    FunnelRow("Devis", 3, 12_000_00, 9, Decimal("55.6")),
    FunnelRow("Gagnée", 2, 3_000_00, 5, None),
    FunnelRow("Perdue", 4, 1_000_00, 4, None, is_lost=True),
]


def test_money_axes_are_in_euros_in_the_readers_locale() -> None:
    months = [("2026-03", 12_345_00), ("2026-04", 500_00)]
    fr = _drawn(forecast_chart(months, "EUR", "fr"))
    assert fr.axes[0].get_title() == "Prévision pondérée par mois"
    assert [t.get_text() for t in fr.axes[0].get_xticklabels()] == ["mars 2026", "avr. 2026"]
    ticks = _yticks(fr)
    assert "0 €" in ticks and "10 000 €" in ticks and all(t.endswith(" €") for t in ticks)
    en = _drawn(forecast_chart(months, "EUR", "en"))
    assert en.axes[0].get_title() == "Weighted forecast by month"
    assert [t.get_text() for t in en.axes[0].get_xticklabels()] == ["Mar 2026", "Apr 2026"]
    assert "€10,000" in _yticks(en)


def test_small_amounts_keep_their_cents_on_the_axis() -> None:
    fig = _drawn(cash_chart([(date(2026, 3, 2), 4_50), (date(2026, 3, 9), 0)], "EUR", "fr"))
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["2 mars", "9 mars"]
    assert "1,00 €" in _yticks(fig) and all(t.endswith(",00 €") for t in _yticks(fig))


def test_aging_buckets_are_named_in_french() -> None:
    buckets = dict.fromkeys(AGING_BUCKETS, 0) | {"31-60": 1_200_00}
    fig = _drawn(aging_chart(buckets, "EUR", "fr"))
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == [
        "non échu",
        "1 à 30 jours de retard",
        "31 à 60 jours de retard",
        "61 à 90 jours de retard",
        "plus de 90 jours de retard",
    ]
    assert "1 200 €" in _yticks(fig)


def test_the_funnel_is_a_funnel_with_conversion_rates_between_stages() -> None:
    fig = _drawn(funnel_chart(FUNNEL, "EUR", "fr"))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Prospect", "Devis", "Gagnée"]
    bars = [p for p in ax.patches if p.__class__.__name__ == "Rectangle"]
    widths = [b.get_width() for b in bars]
    assert widths == sorted(widths, reverse=True) and widths[0] == 1.0  # wide to narrow
    centres = {round(b.get_x() + b.get_width() / 2, 9) for b in bars}
    assert centres == {0.0}  # centred bars
    assert len([p for p in ax.patches if p.__class__.__name__ == "Polygon"]) == 2  # trapezoids
    texts = _texts(fig)
    assert "↓ 45 %" in texts and "↓ 55,6 %" in texts
    assert "affaires en cours : 3 · 12 000,00 €" in texts
    assert "Perdue : 4 · 1 000,00 €" in texts  # a lost stage is a note, not a funnel step
    assert fig.axes[0].get_title() == "Entonnoir des ventes"
    en = _texts(_drawn(funnel_chart(FUNNEL, "EUR", "en")))
    assert "↓ 55.6%" in en and "deals now: 3 · €12,000.00" in en and "Sales funnel" in en


def test_an_empty_chart_says_so_instead_of_drawing_axes() -> None:
    for fig, sentence in (
        (funnel_chart([FunnelRow("Prospect", 0, 0, 0, None)], "EUR", "fr"), "Aucune affaire en cours."),
        (forecast_chart([], "EUR", "en"), "No open deals."),
        (aging_chart(dict.fromkeys(AGING_BUCKETS, 0), "EUR", "fr"), "Aucune facture n'attend de paiement."),
        (purchases_chart([], "fr"), "Aucune commande d'achat en cours."),
    ):
        _drawn(fig)
        assert fig.axes == []
        assert sentence in _texts(fig)


def test_names_with_dollars_and_ampersands_are_drawn_as_written() -> None:
    rows = [FunnelRow("R&D $ big $ <b>", 1, 100_00, 2, Decimal("50.0")), FunnelRow("Won", 1, 0, 1, None)]
    fig = _drawn(funnel_chart(rows, "USD", "en"))
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["R&D $ big $ <b>", "Won"]
    pending = [("PO7", "Dupont & Fils", "sent", Decimal("2.5"))]
    fig = _drawn(purchases_chart(pending, "fr"))
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["PO7 · Dupont & Fils"]
    assert fig.axes[0].get_ylabel() == "Quantité encore attendue"
    assert "2,5" in _yticks(fig)


def test_the_dashboard_album_has_real_file_names() -> None:
    charts = dashboard_charts("fr", "EUR", FUNNEL, [], dict.fromkeys(AGING_BUCKETS, 0), [], [])
    assert [name for name, _ in charts] == [
        "funnel.png",
        "forecast.png",
        "aging.png",
        "cash.png",
        "purchases.png",
    ]
    assert all(data.startswith(b"\x89PNG") for _, data in charts)
