"""A bank entry's identity: what makes the same entry, read twice, recorded once.

Its key (`entry_key`) is the bank's own id of the entry with the account, else a
fingerprint of the account, statement, booking date, amount, direction and the entry's
own details: never a customer reference alone, never the carrying email.
"""

from __future__ import annotations

import hashlib

from storage.payments.accounts import compact_account
from storage.payments.notices import PaymentNotice

__all__ = ["entry_key", "legacy_key"]

_PLACEHOLDERS = frozenset({"", "N", "X", "NONREF", "NOTPROVIDED", "EREF", "NONE", "NA", "N/A"})
_MAX_KEY = 120


def _bounded_key(key: str) -> str:
    return key if len(key) <= _MAX_KEY else "h:" + hashlib.sha256(key.encode()).hexdigest()


def entry_key(notice: PaymentNotice) -> str:
    """The identity of a bank entry, the same whichever email or statement carries it.

    The bank's own id of the entry (`entry_ref`, which parsers fill only with what the bank
    guarantees) scoped by the account; otherwise a fingerprint of the account, statement
    number, booking date, amount, currency, direction, the entry's own details and its rank
    among identical entries of its document. Never the Message-ID of the carrying email."""
    account = compact_account(notice.account_iban or "")
    ref = " ".join((notice.entry_ref or "").split())
    if ref.upper() not in _PLACEHOLDERS:
        return _bounded_key(f"bank:{account}:{ref}" if account else f"bank:{ref}")
    booked = notice.booking_date
    parts = [
        account,
        str(notice.statement_ref or ""),
        booked.isoformat() if booked is not None else "",
        str(notice.amount_cents),
        notice.currency.upper(),
        str(notice.direction),
        str(notice.details or ""),
        notice.payer_iban or "",
        notice.payer_name or "",
        notice.reference or "",
        notice.remittance or "",
        str(notice.occurrence or 1),
    ]
    return "fp:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def legacy_key(notice: PaymentNotice) -> str | None:
    """The key the same entry had before identities named the account (`bank:<ref>`)."""
    ref = (notice.entry_ref or "").strip()
    if not ref or not notice.account_iban:
        return None
    return _bounded_key(f"bank:{ref}")
