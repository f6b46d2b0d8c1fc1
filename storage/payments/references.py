"""The invoice references a bank entry carries: RF creditor references and invoice numbers.

Pure functions of the entry's text; `named_in` gathers both from a notice's reference and
remittance fields, in the order matching reads them.
"""

from __future__ import annotations

import re

from storage.payments.notices import PaymentNotice

__all__ = ["compact_rf", "invoice_numbers_in", "numbers_named", "rf_references_in", "rfs_named"]

_RF_RE = re.compile(r"\bRF\s?\d{2}(?:\s?[0-9A-Z]){1,21}\b", re.IGNORECASE)
_NUMBER_RE = re.compile(
    r"(?<![A-Z0-9])([A-Z]{1,3})\s*[-/._ ]?\s*(20\d\d)\s*[-/._ ]?\s*(\d{1,6})(?!\d)", re.IGNORECASE
)


def compact_rf(value: str | None) -> str | None:
    """An RF reference without spaces, upper-cased; None when it is not an RF reference."""
    if not value:
        return None
    text = "".join(value.split()).upper()
    return text if re.fullmatch(r"RF\d{2}[0-9A-Z]{1,21}", text) else None


def rf_references_in(text: str | None) -> list[str]:
    """The RF creditor references written in free text (compact form, in order)."""
    found: list[str] = []
    for m in _RF_RE.finditer(text or ""):
        ref = compact_rf(m.group(0))
        if ref and ref not in found:
            found.append(ref)
    return found


def invoice_numbers_in(text: str | None) -> list[str]:
    """Invoice numbers (`F2026-00042`) in remittance text, whatever the spaces, dashes, case."""
    found: list[str] = []
    for m in _NUMBER_RE.finditer(text or ""):
        series, year, seq = m.group(1).upper(), m.group(2), int(m.group(3))
        if series == "RF":
            continue
        number = f"{series}{year}-{seq:05d}"
        if number not in found:
            found.append(number)
    return found


def rfs_named(notice: PaymentNotice) -> list[str]:
    """The RF references of an entry: its structured reference first, then its text's."""
    return [r for r in [compact_rf(notice.reference), *rf_references_in(notice.remittance)] if r]


def numbers_named(notice: PaymentNotice) -> list[str]:
    """The invoice numbers of an entry: its remittance text's first, then its reference's."""
    return invoice_numbers_in(notice.remittance) + invoice_numbers_in(notice.reference)
