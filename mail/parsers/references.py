"""Find payment references in free text: RF creditor references and invoice numbers.

Pure functions, used by the parsers (to fill `PaymentNotice.reference`) and by the
matching rules (to find an invoice number in a remittance text).
"""

from __future__ import annotations

import re
from functools import lru_cache

from stdnum import iso11649

__all__ = ["canonical_rf", "find_invoice_numbers", "find_rf_references"]

# "RF18 5390 0754 7034", "rf18539007547034", "RF18-5390-0754-7034"
_RF_START = re.compile(r"(?<![A-Za-z])[Rr][Ff]\s?[0-9]{2}")  # digits may precede it
_RF_GROUP = re.compile(r"[\s\-]?([0-9A-Za-z]{1,21})")

# F2026-00042, f 2026 00042, F-2026-42, F2026/00042, F202600042 (five digits when glued)
_INVOICE_TEMPLATE = (
    r"(?<![0-9A-Za-z])(?P<series>{series})[\s\-_/.]{{0,3}}(?P<year>20[0-9]{{2}})"
    r"(?:[\s\-_/.]{{1,3}}(?P<seq>[0-9]{{1,7}})|(?P<glued>[0-9]{{5,7}}))(?![0-9])"
)


def canonical_rf(text: str) -> str | None:
    """The compact upper-case RF reference if `text` is a valid one, else None."""
    compact = re.sub(r"[\s\-]", "", text or "").upper()
    return compact if iso11649.is_valid(compact) else None


def find_rf_references(text: str) -> list[str]:
    """Valid ISO 11649 references in `text`, compact and upper-case, in order, no repeats.

    A reference may be written in groups separated by spaces or dashes; the longest run
    of groups whose check digits verify is taken, so trailing words never stick to it.
    """
    found: list[str] = []
    for start in _RF_START.finditer(text or ""):
        head = re.sub(r"\s", "", start.group()).upper()
        groups: list[str] = []
        pos = start.end()
        while len("".join(groups)) < 21:
            m = _RF_GROUP.match(text, pos)
            if not m:
                break
            groups.append(m.group(1))
            pos = m.end()
        for n in range(len(groups), 0, -1):
            candidate = head + "".join(groups[:n]).upper()
            if len(candidate) <= 25 and iso11649.is_valid(candidate):
                if candidate not in found:
                    found.append(candidate)
                break
    return found


@lru_cache(maxsize=8)
def _invoice_pattern(series: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(s) for s in sorted(series, key=len, reverse=True))
    return re.compile(_INVOICE_TEMPLATE.format(series=alternatives), re.IGNORECASE)


def find_invoice_numbers(text: str, series: tuple[str, ...] = ("F",)) -> list[str]:
    """Invoice numbers in `text` in canonical form (`F2026-00042`), in order, no repeats.

    Tolerant of case, spaces, dashes, slashes and dots between the parts, and of a
    missing zero padding when a separator makes the sequence unambiguous.
    """
    if not text:
        return []
    pattern = _invoice_pattern(tuple(series))
    upper = {s.upper(): s for s in series}
    found: list[str] = []
    for m in pattern.finditer(text):
        seq = int(m.group("seq") or m.group("glued"))
        if seq == 0:
            continue
        number = f"{upper[m.group('series').upper()]}{m.group('year')}-{seq:05d}"
        if number not in found:
            found.append(number)
    return found
