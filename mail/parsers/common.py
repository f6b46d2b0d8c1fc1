"""Helpers shared by the statement parsers."""

from __future__ import annotations

from dataclasses import replace

from mail.notices import PaymentNotice

__all__ = ["unique_entry_refs"]


def unique_entry_refs(notices: list[PaymentNotice]) -> list[PaymentNotice]:
    """Make the bank entry references of one document unique: a repeated reference gets
    `#2`, `#3`... in document order, so reading the same document again gives the same
    references (idempotent settling) while two transactions never share one."""
    seen: set[str] = set()
    out = []
    for notice in notices:
        ref = notice.entry_ref
        if ref is None:
            out.append(notice)
            continue
        candidate, n = ref, 1
        while candidate in seen:
            n += 1
            candidate = f"{ref}#{n}"
        seen.add(candidate)
        out.append(notice if candidate == ref else replace(notice, entry_ref=candidate))
    return out
