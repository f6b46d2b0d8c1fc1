"""The life-cycle statuses of an invoice at the PA (XP Z12-012 CDAR codes) and the pure rule
that picks the current one from the statuses received, whatever their order.

Codes (ProcessConditionCode, MDT-105 of a CDAR message)::

    200 Déposée             submitted (deposited at the sender's PA)
    201 Émise               issued by the platform
    202 Reçue               received by the buyer's PA
    203 Mise à disposition  made available to the buyer
    204 Prise en charge     taken into processing by the buyer
    205 Approuvée           approved
    206 Approuvée partiel.  partially approved
    207 En litige           disputed
    208 Suspendue           suspended (information missing)
    209 Complétée           completed (after a suspension)
    210 Refusée             refused by the buyer (final)
    211 Paiement transmis   payment transmitted by the buyer
    212 Encaissée           cashed by the seller (final; amount and date)
    213 Rejetée             rejected by the platform (final: never received; fix and resubmit)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

from storage.i18n import text

__all__ = [
    "FINAL",
    "NEEDS_REASON",
    "Lifecycle",
    "StatusFact",
    "current_status",
    "label",
]


class Lifecycle(IntEnum):
    SUBMITTED = 200
    ISSUED = 201
    RECEIVED = 202
    MADE_AVAILABLE = 203
    IN_PROCESS = 204
    APPROVED = 205
    PARTIALLY_APPROVED = 206
    DISPUTED = 207
    SUSPENDED = 208
    COMPLETED = 209
    REFUSED = 210
    PAYMENT_SENT = 211
    CASHED = 212
    REJECTED = 213

    @classmethod
    def of(cls, code: int | str) -> Lifecycle | None:
        try:
            return cls(int(code))
        except (TypeError, ValueError):
            return None


# Once reached, nothing later moves the invoice out of these.
FINAL = frozenset({Lifecycle.REFUSED, Lifecycle.CASHED, Lifecycle.REJECTED})
# A buyer must say why (XP Z12-012: reason code mandatory).
NEEDS_REASON = frozenset(
    {
        Lifecycle.REFUSED,
        Lifecycle.DISPUTED,
        Lifecycle.SUSPENDED,
        Lifecycle.REJECTED,
        Lifecycle.PARTIALLY_APPROVED,
    }
)

# Progress along the road, to order statuses that carry the same date.
_RANK = {
    Lifecycle.SUBMITTED: 0,
    Lifecycle.ISSUED: 1,
    Lifecycle.RECEIVED: 2,
    Lifecycle.MADE_AVAILABLE: 3,
    Lifecycle.IN_PROCESS: 4,
    Lifecycle.SUSPENDED: 5,
    Lifecycle.COMPLETED: 6,
    Lifecycle.DISPUTED: 7,
    Lifecycle.PARTIALLY_APPROVED: 8,
    Lifecycle.APPROVED: 9,
    Lifecycle.PAYMENT_SENT: 10,
    Lifecycle.CASHED: 11,
    Lifecycle.REFUSED: 12,
    Lifecycle.REJECTED: 12,
}


def label(code: int, lang: str) -> str:
    """The status's name in French (the CDAR label, and for any language but English) or
    English: the catalogue's `pa.status.<code>`; an unknown code as itself."""
    lang = "en" if lang == "en" else "fr"
    try:
        return text(lang, f"pa.status.{int(code)}")
    except KeyError:
        return str(code)


@dataclass(frozen=True)
class StatusFact:
    code: Lifecycle
    at: datetime


def current_status(facts: Iterable[StatusFact]) -> StatusFact | None:
    """The invoice's status now, from every status known, in any order of arrival.

    A final status (refused, rejected, cashed) is never left; a status from the buyer's
    side always follows the platform's own (submitted, issued, received: their dates come
    from different clocks); otherwise the latest by the status's own date wins, and on the
    same date the one further along the road. Duplicates change nothing.
    """
    best: StatusFact | None = None
    for fact in facts:
        if best is None or _key(fact) > _key(best):
            best = fact
    return best


_PLATFORM = frozenset({Lifecycle.SUBMITTED, Lifecycle.ISSUED, Lifecycle.RECEIVED})


def _key(fact: StatusFact) -> tuple[bool, bool, datetime, int]:
    return (fact.code in FINAL, fact.code not in _PLATFORM, fact.at, _RANK[fact.code])
