"""Whose account a bank message is about: the rule that lets a credit settle by itself.

A credit settles on its own only when the bank says it was booked on OUR account. A
genuine bank message about another account (a client forwarding the bank's notice of a
transfer between its own accounts, with our RF reference) is quarantined by the inbox; a
notice naming no account stays unmatched for a human with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = [
    "NO_ACCOUNT",
    "account_is_ours",
    "account_problem",
    "clean_iban",
    "compact_account",
    "masked_account_matches",
]

_IBAN_RE = re.compile(r"[A-Z]{2}\d{2}[0-9A-Z]{8,30}")
NO_ACCOUNT = "the message names no account: left for a human"


def compact_account(value: str) -> str:
    """An account as written by a bank, without spaces, upper-cased."""
    return "".join(value.split()).upper()


def clean_iban(value: str | None) -> str | None:
    """A payer's IBAN as stored: compact, upper-cased, at most 34 characters; None if empty."""
    text = "".join((value or "").split()).upper()
    return text[:34] or None


def account_is_ours(account: str, ours: Sequence[str]) -> bool:
    """Is the account a bank message names one of ours?

    An IBAN must equal one of ours (compact, upper-case). A national form such as MT940's
    `:25:10020030/1234567890` (bank code / account) cannot be compared exactly: it counts as
    ours when it has at least two parts and every part, leading zeros aside, appears in that
    order in the BBAN of one of our IBANs (at least 10 characters matched in all)."""
    acc = compact_account(account)
    if not acc:
        return False
    if "*" in acc or "X" * 4 in acc[4:] or "." * 3 in acc:
        return any(masked_account_matches(acc, iban) for iban in ours)
    for iban in ours:
        mine = compact_account(iban)
        if acc == mine:
            return True
        if _IBAN_RE.fullmatch(acc):
            continue
        if _national_form_matches(acc, mine):
            return True
    return False


def _national_form_matches(account: str, iban: str) -> bool:
    """A bank-code/account form against one IBAN: every part, in order, within its BBAN."""
    parts = [p.lstrip("0") for p in re.split(r"[^0-9A-Z]+", account) if p.strip("0")]
    if len(parts) < 2 or sum(map(len, parts)) < 10:
        return False
    bban, at = iban[4:], 0
    for part in parts:
        found = bban.find(part, at)
        if found < 0:
            return False
        at = found + len(part)
    return True


def masked_account_matches(masked: str, iban: str) -> bool:
    """A masked account (`FR76 **** 0189`, `FR76XXXXXXXX0189`) against one IBAN: every
    visible run must appear, in order, the first at the start and the last at the end, with
    at least 6 visible characters (so `****` alone never matches)."""
    mine = compact_account(iban)
    runs = [r for r in re.split(r"[*.]+|X{4,}", compact_account(masked)) if r]
    if sum(map(len, runs)) < 6 or not mine.startswith(runs[0]) or not mine.endswith(runs[-1]):
        return False
    at = 0
    for run in runs:
        found = mine.find(run, at)
        if found < 0:
            return False
        at = found + len(run)
    return True


def account_problem(account: str | None, ours: Sequence[str]) -> str | None:
    """Why a notice about `account` must not settle by itself, or None when it is ours."""
    if not account:
        return NO_ACCOUNT
    if not account_is_ours(account, ours):
        return f"statement for another account {compact_account(account)}"
    return None
