"""The state of one batch of bank entries between reading and writing: what it changes.

Matching and settling work in memory on a `Batch` (invoices touched, alerts, audit rows,
payments held for a person); `storage.payments.writes` then writes it all at once, in the
transaction that records the payments. Rows to insert are plain values (`PaymentRow`,
dicts), not model instances: building 30,000 instances would cost more than their INSERTs.
`RecordOutcome` is what the caller is told.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from storage.einvoicing.lifecycle import CashedPayment
from storage.models import AlertStatus, Payment, PaymentDirection, PaymentStatus
from storage.payments.invoices import InvoiceLike

__all__ = ["Batch", "PaymentLike", "PaymentRow", "RecordOutcome"]


@dataclass
class PaymentRow:
    """A payment about to be inserted in bulk (the same attribute names as `Payment`)."""

    entry_ref: str
    direction: PaymentDirection
    status: PaymentStatus
    amount_cents: int
    currency: str
    booking_date: date | None
    payer_name: str | None
    payer_iban: str | None
    reference: str | None
    remittance: str | None
    inbox_message_id: int
    account: str | None = None
    return_code: str | None = None
    note: str | None = None  # the notes in English (logs, exports)
    notes: list[dict[str, Any]] = field(default_factory=list)  # catalogue messages (payments.notes)
    invoice_id: int | None = None
    surplus_cents: int = 0
    matched_by: str | None = None

    def row(self, now: datetime) -> dict[str, Any]:
        """Its column values by field name, created now."""
        return {**self.__dict__, "created_at": now}


# A payment being settled: one of a statement's new rows, or a stored one a person matches.
PaymentLike = Payment | PaymentRow


@dataclass
class RecordOutcome:
    """What one batch of notices did."""

    recorded: int = 0
    duplicates: int = 0
    settled: int = 0
    unmatched: int = 0
    ignored: int = 0
    returned: int = 0
    credited: int = 0  # paid to an invoice a credit note cancelled: added to its refund
    invoices: list[str] = field(default_factory=list)

    def add(self, other: RecordOutcome) -> None:
        self.recorded += other.recorded
        self.duplicates += other.duplicates
        self.settled += other.settled
        self.unmatched += other.unmatched
        self.ignored += other.ignored
        self.returned += other.returned
        self.credited += other.credited
        self.invoices += other.invoices


@dataclass
class Batch:
    """The state of one recording (or one person's match): invoices touched, rows to write."""

    now: datetime
    invoices: dict[int, InvoiceLike] = field(default_factory=dict)
    payer_names: dict[int, str] = field(default_factory=dict)
    alerts: list[dict[str, Any]] = field(default_factory=list)  # Alert rows by field name
    audits: list[dict[str, Any]] = field(default_factory=list)  # AuditLog rows by field name
    numbers: set[str] = field(default_factory=set)
    paid_now: set[int] = field(default_factory=set)
    ibans: dict[str, int] = field(default_factory=dict)
    held: dict[str, str] = field(default_factory=dict)  # payment entry_ref -> why not settled
    held_keys: dict[str, list[Any]] = field(default_factory=dict)  # the same, translatable
    reopened: set[int] = field(default_factory=set)  # invoices a return reopened
    returns: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    cashed: list[CashedPayment] = field(default_factory=list)  # "Encaissée" (212) for the PA
    outcome: RecordOutcome = field(default_factory=RecordOutcome)

    def hold(self, entry: str, reason: str, key: list[Any]) -> None:
        """A payment left for a person, with why (in English, and as a locale key)."""
        self.held[entry] = reason
        self.held_keys[entry] = key
        self.outcome.unmatched += 1

    def alert(
        self,
        user_id: int,
        kind: str,
        key: str,
        params: dict[str, Any],
        buttons: list[dict[str, str]] | None = None,
    ) -> None:
        """One alert to a person, deduplicated by `key` per person."""
        self.alerts.append(
            {
                "user_id": user_id,
                "kind": kind,
                "dedupe_key": f"{key}:u{user_id}"[:200],
                "params": params,
                "buttons": buttons or [],
                "status": AlertStatus.PENDING,
                "attempts": 0,
                "created_at": self.now,
            }
        )

    def audit(
        self, entity: str, entity_id: int, action: str, before: dict[str, Any], after: dict[str, Any]
    ) -> None:
        """One audit row, by the system (a person's match sets `user_id` afterwards)."""
        self.audits.append(
            {
                "user_id": None,
                "at": self.now,
                "entity": entity,
                "entity_id": str(entity_id),
                "action": action,
                "before": before,
                "after": after,
            }
        )

    def touched(self, number: str | None) -> None:
        """Name an invoice in the outcome, once."""
        if number and number not in self.numbers:
            self.numbers.add(number)
            self.outcome.invoices.append(number)
