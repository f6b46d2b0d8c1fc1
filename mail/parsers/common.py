"""Helpers shared by the statement parsers: which bank ids can be trusted as identities."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace

from storage.payments.notices import PaymentNotice

__all__ = ["PLACEHOLDER_REFS", "assign_identities", "is_placeholder"]

#: References banks write when there is none (MT940 `:61:` and `:86:` habits).
PLACEHOLDER_REFS = frozenset(
    {
        "",
        "N",
        "X",
        "NONREF",
        "NOTPROVIDED",
        "NOT PROVIDED",
        "EREF",
        "KREF",
        "MREF",
        "NONE",
        "NA",
        "N/A",
        "0",
        "-",
        "UNKNOWN",
        "NOREF",
        "NO REF",
    }
)
_ONE_CHAR = re.compile(r"^(.)\1*$")


def is_placeholder(ref: str | None, min_length: int = 1) -> bool:
    """A reference that does not identify anything: NONREF, EREF, N, XXXXXXXX, 000000...,
    or anything shorter than `min_length`."""
    text = " ".join((ref or "").split()).upper()
    return (
        text in PLACEHOLDER_REFS or len(text) < min_length or (len(text) > 2 and bool(_ONE_CHAR.match(text)))
    )


def assign_identities(notices: list[PaymentNotice], *, min_length: int = 1) -> list[PaymentNotice]:
    """Keep a bank id only where it identifies one entry of the document (a reference the
    bank repeats on several entries, or a placeholder, is no id: those entries fall back to
    their fingerprint), and number identical entries 1, 2, 3... in document order so that
    two genuinely identical entries of one statement stay two, and re-reading the document
    gives the same numbers."""
    counts = Counter(n.entry_ref for n in notices if n.entry_ref)
    out: list[PaymentNotice] = []
    seen: Counter[tuple[object, ...]] = Counter()
    for notice in notices:
        ref = notice.entry_ref
        if ref is not None and (counts[ref] > 1 or is_placeholder(ref, min_length)):
            notice = replace(notice, entry_ref=None)
        if notice.entry_ref is None:
            key = (
                notice.account_iban,
                notice.statement_ref,
                notice.booking_date,
                notice.amount_cents,
                notice.currency,
                notice.direction,
                notice.details,
                notice.payer_iban,
                notice.payer_name,
                notice.reference,
                notice.remittance,
            )
            seen[key] += 1
            if seen[key] > 1:
                notice = replace(notice, occurrence=seen[key])
        out.append(notice)
    return out
