"""SWIFT MT940 statements (the mt-940 library), German `:86:` structured details included.

The `?31` sub-field of a German `:86:` is the payer's account: the parser's
`applicant_iban` option files it as an IBAN instead of gluing it to the payer's name.

The statement's own account (`:25:`) is copied to every notice as `account_iban`, compacted
and upper-cased: an IBAN when the bank writes one, else its "BANKCODE/ACCOUNT" form as is
(storage.payments.account_is_ours compares that form against the digits of our IBAN).
"""

from __future__ import annotations

import io
import logging
import re
from datetime import date
from typing import Any

import mt940 as mt940lib

from mail.notices import Direction, PaymentNotice
from mail.parsers.amounts import decimal_to_cents
from mail.parsers.common import unique_entry_refs
from mail.parsers.errors import ParseError
from mail.parsers.references import find_rf_references

__all__ = ["is_mt940", "parse_mt940"]

log = logging.getLogger(__name__)

_OPTIONS = mt940lib.Options(
    applicant_iban=True,
    merge_keeps_values=True,
    reversal_sign=True,
    case_insensitive_marks=True,
    unbounded_details=True,
    strip_bom=True,
)
_TAG20 = re.compile(rb"(?m)^\s*:20:")
_BODY = re.compile(rb"(?m)^\s*:(?:60F|60M|61|62F):")
_NO_REF = {"NONREF", "NOTPROVIDED", ""}


def is_mt940(data: bytes) -> bool:
    """Cheap sniff: a `:20:` line and a balance or transaction line."""
    head = data[:65536]
    return bool(_TAG20.search(head) and _BODY.search(head))


def parse_mt940(data: bytes) -> list[PaymentNotice]:
    """Every `:61:` transaction of an MT940 file. Raises ParseError when unreadable."""
    text = _decode(data)
    try:
        statements = mt940lib.parse_statements(io.StringIO(text), options=_OPTIONS)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, RuntimeError) as exc:
        raise ParseError(f"unreadable MT940: {exc}", code="bad_mt940") from exc
    notices = []
    for statement in statements:
        account = _clean(statement.data.get("account_identification"))
        account = "".join(account.split()).upper() if account else None
        for transaction in statement:
            notices.append(_notice(transaction.data, statement.currency, account))
    return unique_entry_refs(notices)


def _notice(data: dict[str, Any], statement_currency: str | None,
            account: str | None = None) -> PaymentNotice:
    amount = data.get("amount")
    if amount is None:
        raise ParseError("MT940 transaction without an amount", code="bad_mt940")
    status = str(data.get("status") or "").upper()
    if status.startswith("R"):
        direction = Direction.REVERSAL
    elif status == "D":
        direction = Direction.DEBIT
    elif status == "C":
        direction = Direction.CREDIT
    else:
        raise ParseError(f"unknown MT940 debit/credit mark {status!r}", code="bad_mt940")
    remittance = _clean(data.get("purpose")) or _clean(data.get("transaction_details"))
    e2e = _clean(data.get("end_to_end_reference"))
    if e2e and e2e not in _NO_REF and e2e not in (remittance or ""):
        remittance = f"{remittance} {e2e}" if remittance else e2e
    found = find_rf_references(remittance or "")
    ref = _clean(data.get("bank_reference")) or _clean(data.get("customer_reference"))
    iban = _clean(data.get("applicant_iban"))
    raw_date = data.get("entry_date") or data.get("date")
    booked = date(raw_date.year, raw_date.month, raw_date.day) if raw_date else None
    return PaymentNotice(
        amount_cents=abs(decimal_to_cents(amount.amount)),
        currency=str(amount.currency or statement_currency or "").upper(),
        booking_date=booked,
        direction=direction,
        payer_name=_clean(data.get("applicant_name")),
        payer_iban=iban.replace(" ", "").upper() if iban else None,
        reference=found[0] if found else None,
        remittance=remittance,
        entry_ref=None if ref is None or ref.upper() in _NO_REF else ref,
        account_iban=account,
    )


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _clean(value: object) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None
