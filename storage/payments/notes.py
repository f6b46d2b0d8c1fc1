"""What the person who matches a payment should know, as catalogue messages.

A bank file the parser could not read with certainty (transactions batched without their
amounts, transactions that do not add up to their entry), or an entry naming several
invoices whose open amounts do not add up to it: each is a note, stored on the payment row
(`Payment.notes`) as a message of the catalogues (`storage.i18n.message`) with its raw
parameters (amounts in cents with their currency, counts, the bank's references). People
read it in their own language, amounts through Babel: /payments says it for the reader, an
alert for its recipient when it is delivered. `Payment.note` keeps the English text (logs,
exports); a payment recorded before the notes existed has only that text, shown as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from storage.i18n import Safe, message, said

__all__ = [
    "MAX_CANDIDATES",
    "Note",
    "amounts_disagree",
    "batch_without_amounts",
    "english",
    "invoices_do_not_add_up",
    "not_booked",
    "notes_of",
    "said_notes",
]

# A note as stored: {"key": "paynote....", "params": {...}} (JSON).
Note = dict[str, Any]
MAX_CANDIDATES = 10  # invoices listed in a note (its count says how many were named)
_MAX_REF = 40  # characters of a bank reference quoted in a note


def _ref(entry: str | None) -> str:
    return (entry or "?")[:_MAX_REF]


def not_booked(entry: str | None, status: str) -> Note:
    """An entry the bank has not booked (pending...): left aside by the parser."""
    return message("paynote.not_booked", entry=_ref(entry), status=status[:12])


def batch_without_amounts(entry: str | None, count: int) -> Note:
    """An entry batching `count` transactions without their amounts: read as one payment."""
    return message("paynote.batch_without_amounts", entry=_ref(entry), count=count)


def amounts_disagree(entry: str | None, total_cents: int, entry_cents: int, currency: str) -> Note:
    """An entry whose transactions add up to `total_cents` when it says `entry_cents`."""
    return message(
        "paynote.amounts_disagree",
        entry=_ref(entry),
        total_cents=total_cents,
        amount_cents=entry_cents,
        currency=currency.upper(),
    )


def invoices_do_not_add_up(
    amount_cents: int, currency: str, candidates: Sequence[tuple[str, str, int, str]]
) -> Note:
    """An entry naming several invoices whose open amounts do not add up to it: the
    candidates as (number, status, open cents, currency), the first `MAX_CANDIDATES` listed."""
    listed = [
        message(
            "paynote.candidate",
            number=number,
            state=message(f"status.{status}"),
            open_cents=open_cents,
            currency=ccy,
        )
        for number, status, open_cents, ccy in candidates[:MAX_CANDIDATES]
    ]
    return message(
        "paynote.invoices_do_not_add_up",
        count=len(candidates),
        amount_cents=amount_cents,
        currency=currency.upper(),
        candidates=listed,
    )


def notes_of(stored: Any) -> list[Note]:
    """The notes stored on a payment row (none for a row written before they existed)."""
    if not isinstance(stored, list):
        return []
    return [n for n in stored if isinstance(n, dict) and isinstance(n.get("key"), str)]


def said_notes(lang: str, notes: Iterable[Note]) -> list[Safe]:
    """Each note in `lang`, as HTML."""
    return [Safe(said(lang, note)) for note in notes]


def english(notes: Iterable[Note]) -> str | None:
    """The notes in English plain text, joined (`Payment.note`: logs, exports); None for none."""
    return "; ".join(said("en", note, markup=False) for note in notes) or None
