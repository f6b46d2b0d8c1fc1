"""What a bank tells us about one booked entry: the parsers' common output."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

__all__ = ["Direction", "PaymentNotice"]


class Direction(StrEnum):
    CREDIT = "credit"
    DEBIT = "debit"
    REVERSAL = "reversal"


@dataclass(frozen=True)
class PaymentNotice:
    """One payment (or debit, or reversal) read from a bank message. Amounts in cents."""

    amount_cents: int
    currency: str
    booking_date: date | None
    direction: Direction = Direction.CREDIT
    payer_name: str | None = None
    payer_iban: str | None = None
    reference: str | None = None  # structured creditor reference (RF...)
    remittance: str | None = None  # unstructured text
    entry_ref: str | None = None  # the bank's entry reference, when it gives one
    # The account the bank booked this on (ours, normally): an IBAN, or for MT940 `:25:`
    # whatever the bank wrote ("BANKCODE/ACCOUNT"); None when the message names none.
    account_iban: str | None = None
