"""Issued invoices and payment notices for the payment tests (no invoicing code needed)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from storage.invoicing import rf_reference
from storage.models import Contact, ContactKind, Invoice, InvoiceStatus, Role, User
from storage.payments.notices import Direction, PaymentNotice
from storage.users import create_user

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
TODAY = date(2026, 11, 27)
OUR_IBAN = "FR7630006000011234567890189"  # the tests' COMPANY_IBAN (tests.billing_data.SELLER)
OTHER_IBAN = "FR7630004000031234567890143"  # another client's account at a bank


def rf(seq: int) -> str:
    """The creditor reference invoicing gives invoice F2026-<seq>."""
    return rf_reference(f"F2026-{seq:05d}")


async def owner(name: str = "alice", role: Role = Role.SALES) -> User:
    return await create_user(name, role, telegram_id=abs(hash(name)) % 10**9, language="en")


async def client(name: str, who: User) -> Contact:
    return await Contact.create(name=name, kind=ContactKind.COMPANY, owner=who, search_key=name.lower())


async def issued(
    seq: int,
    contact: Contact,
    who: User,
    gross_cents: int,
    *,
    status: InvoiceStatus = InvoiceStatus.ISSUED,
    currency: str = "EUR",
) -> Invoice:
    """An issued invoice F2026-000NN with its RF reference derived from the sequence."""
    return await Invoice.create(
        series="F",
        year=2026,
        seq=seq,
        number=f"F2026-{seq:05d}",
        status=status,
        contact=contact,
        owner=who,
        currency=currency,
        issue_date=date(2026, 10, 1),
        due_date=date(2026, 10, 31),
        total_net_cents=gross_cents,
        total_gross_cents=gross_cents,
        rf_reference=rf(seq),
    )


def credit(
    amount_cents: int,
    *,
    ref: str | None = None,
    remittance: str | None = None,
    payer: str | None = "ACME SA",
    iban: str | None = None,
    entry: str | None = None,
    direction: Direction = Direction.CREDIT,
    account: str | None = OUR_IBAN,
) -> PaymentNotice:
    return PaymentNotice(
        amount_cents=amount_cents,
        currency="EUR",
        booking_date=TODAY,
        direction=direction,
        payer_name=payer,
        payer_iban=iban,
        reference=ref,
        remittance=remittance,
        entry_ref=entry,
        account_iban=account,
    )
