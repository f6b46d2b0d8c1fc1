"""What a bank tells us about one booked entry: the parsers' output and storage's input.

The bank-file parsers (`mail.parsers`) build these; the use-cases of this package record
them. They live here, below both, so storage takes the real type and never imports mail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from storage.models import PaymentDirection
from storage.payments.notes import Note

__all__ = ["Direction", "PaymentNotice"]

# A notice's direction is the one stored on its payment row: credit, debit or reversal.
Direction = PaymentDirection


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
    # The bank's own id of the entry, only when the bank guarantees it (camt AcctSvcrRef /
    # NtryRef, an MT940 bank reference that is not a placeholder): never a customer ref.
    entry_ref: str | None = None
    # The account the bank booked this on (ours, normally): an IBAN, or for MT940 `:25:`
    # whatever the bank wrote ("BANKCODE/ACCOUNT"); None when the message names none.
    account_iban: str | None = None
    # Identity when the bank gives no id: the statement (number/sequence) and the entry's
    # own raw details, plus the entry's rank among identical entries of one document.
    statement_ref: str | None = None
    details: str | None = None
    occurrence: int = 1
    # A return or reversal of a credit: the reason code the bank gives (AC04, MD06...).
    return_code: str | None = None
    # What the parser could not be sure about (a batch without amounts...): for the human,
    # as a catalogue message with raw parameters (`storage.payments.notes`).
    warning: Note | None = field(default=None, hash=False)
