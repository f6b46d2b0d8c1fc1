"""Issued documents are frozen; credit notes are not receivables; refunds owed and closed.

On SQLite and PostgreSQL (`any_db`), with the real renderer (the PDFs are real Factur-X).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta

import pytest

from storage.collections import Company, scan_overdue
from storage.documents import frozen_pdf, frozen_sha256
from storage.errors import Conflict, Forbidden
from storage.invoicing import credit_invoice, draft_from_deal, issue_invoice, list_invoices
from storage.models import (
    Alert,
    CollectionTask,
    InboxMessage,
    InboxStatus,
    Invoice,
    InvoiceDocument,
    InvoiceKind,
    InvoiceStatus,
    NumberCounter,
    OutboxEmail,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
    Role,
)
from storage.payments import entry_key, record_notices
from storage.payments.notices import Direction
from storage.refunds import debit_matches, list_refunds, mark_refunded, refund_amount
from storage.users import create_user
from tests.billing_data import RENDER, SELLER, make_billing
from tests.payment_fixtures import credit as notice

TODAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
COMPANY = Company(name=SELLER.name, email=SELLER.email, iban=SELLER.iban)


async def _issued(b: object) -> Invoice:
    draft = await draft_from_deal(b.alice, b.deal.id, SELLER)  # type: ignore[attr-defined]
    return (await issue_invoice(b.alice, draft.id, SELLER, TODAY, render=RENDER)).invoice  # type: ignore[attr-defined]


async def _source(mid: str) -> InboxMessage:
    return await InboxMessage.create(message_id=mid, folder="INBOX", status=InboxStatus.PROCESSED)


async def test_issue_stores_the_pdf_and_its_sha256_and_later_reads_return_those_bytes(
    any_db: str,
) -> None:
    b = await make_billing()
    inv = await _issued(b)
    doc = await InvoiceDocument.get(invoice_id=inv.id)
    assert bytes(doc.pdf).startswith(b"%PDF") and doc.size == len(doc.pdf)
    assert doc.sha256 == hashlib.sha256(bytes(doc.pdf)).hexdigest() == await frozen_sha256(inv.id)

    async def must_not_render(_invoice_id: int) -> bytes:
        raise AssertionError("an issued document is never rendered again")

    assert await frozen_pdf(inv.id, must_not_render) == bytes(doc.pdf)


async def test_a_failed_render_issues_nothing_and_takes_no_number(any_db: str) -> None:
    b = await make_billing()
    draft = await draft_from_deal(b.alice, b.deal.id, SELLER)

    async def broken(_invoice_id: int) -> bytes:
        raise RuntimeError("renderer down")

    with pytest.raises(RuntimeError):
        await issue_invoice(b.alice, draft.id, SELLER, TODAY, render=broken)
    again = await Invoice.get(id=draft.id)
    assert (again.status, again.number) == (InvoiceStatus.DRAFT, None)
    assert not await InvoiceDocument.exists()
    assert not await OutboxEmail.exists()
    counter = await NumberCounter.get_or_none(series="F", year=2026)
    assert counter is None or counter.last_value == 0
    inv = await _issued(b)
    assert inv.number == "F2026-00001"  # gapless: the failed attempt used no number


async def test_an_invoice_issued_before_freezing_is_frozen_once_at_first_use(any_db: str) -> None:
    b = await make_billing()
    inv = await _issued(b)
    await InvoiceDocument.filter(invoice_id=inv.id).delete()  # as issued by an older version
    calls = []

    async def counting(invoice_id: int) -> bytes:
        calls.append(invoice_id)
        return await RENDER(invoice_id)

    first = await frozen_pdf(inv.id, counting)
    assert await frozen_pdf(inv.id, counting) == first and calls == [inv.id]


async def test_credit_note_is_never_a_receivable(any_db: str) -> None:
    b = await make_billing()
    inv = await _issued(b)
    credit = await credit_invoice(
        b.alice, inv.number or "", "Erreur de prix", SELLER, TODAY, render=RENDER, now=NOW
    )
    assert (credit.kind, credit.due_date, credit.rf_reference) == (InvoiceKind.CREDIT_NOTE, None, None)
    assert await InvoiceDocument.filter(invoice_id=credit.id).exists()
    assert not await Refund.exists()  # nothing was paid: nothing to give back
    # Months later, every rule of the loop leaves the credit note alone.
    for days in (1, 31, 61, 120):
        later = TODAY + timedelta(days=days)
        result = await scan_overdue(later, NOW + timedelta(days=days), COMPANY)
        assert result.opened == result.emails == 0
        assert (await list_invoices(b.boss, "open", later)).rows == []
        assert (await list_invoices(b.boss, "overdue", later)).rows == []
    assert not await CollectionTask.exists()
    assert not await OutboxEmail.filter(purpose="dunning").exists()
    # The full list shows both; the net total is zero (the invoice counts for nothing).
    listed = await list_invoices(b.boss, "", TODAY)
    assert {i.number for i in listed.rows} == {inv.number, credit.number}
    assert listed.totals == {"EUR": 0}


async def test_totals_say_what_they_count(any_db: str) -> None:
    b = await make_billing()
    first = await _issued(b)
    await credit_invoice(b.alice, first.number or "", "Annulée", SELLER, TODAY, render=RENDER)
    draft = await draft_from_deal(b.alice, b.deal.id, SELLER)
    second = (await issue_invoice(b.alice, draft.id, SELLER, TODAY, render=RENDER)).invoice
    await Invoice.filter(id=second.id).update(paid_cents=100_00, status=InvoiceStatus.PARTIALLY_PAID)
    gross = second.total_gross_cents
    assert (await list_invoices(b.boss, "open", TODAY)).totals == {"EUR": gross - 100_00}
    assert (await list_invoices(b.boss, "all", TODAY)).totals == {"EUR": gross}
    assert (await list_invoices(b.boss, "paid", TODAY)).totals == {}


async def test_crediting_a_paid_invoice_opens_a_refund_for_collections_and_managers(
    any_db: str,
) -> None:
    b = await make_billing()
    clara = await create_user("clara", Role.COLLECTIONS, telegram_id=77)
    inv = await _issued(b)
    await record_notices(
        [notice(200_00, remittance=f"Acompte {inv.number}", entry="IN1")],
        source=await _source("<in1@bank>"),
        now=NOW,
    )
    assert (await Invoice.get(id=inv.id)).status == InvoiceStatus.PARTIALLY_PAID
    credit = await credit_invoice(
        b.alice, inv.number or "", "Commande annulée", SELLER, TODAY, render=RENDER, now=NOW
    )
    refund = await Refund.get(credit_note_id=credit.id)
    assert (refund.amount_cents, refund.status, refund.invoice_id) == (200_00, RefundStatus.OWED, inv.id)
    told = {a.user_id for a in await Alert.filter(kind="refund_due")}
    assert told == {clara.id, b.boss.id}
    assert [r.credit_note for r in await list_refunds(clara)] == [credit.number]
    assert await list_refunds(b.alice) == []
    with pytest.raises(Forbidden):
        await mark_refunded(b.alice, credit.number or "", NOW)
    done = await mark_refunded(clara, (credit.number or "").lower(), NOW)
    assert (done.status, done.closed_by_id) == (RefundStatus.DONE, clara.id)
    with pytest.raises(Conflict):
        await mark_refunded(clara, credit.number or "", NOW)
    assert await list_refunds(clara) == []
    assert {a.user_id for a in await Alert.filter(kind="refund_done_manual")} == {clara.id, b.boss.id}


async def test_an_outgoing_transfer_naming_the_credit_note_closes_the_refund(any_db: str) -> None:
    b = await make_billing()
    inv = await _issued(b)
    await record_notices(
        [notice(inv.total_gross_cents, remittance=inv.number, entry="IN2")],
        source=await _source("<in2@bank>"),
        now=NOW,
    )
    assert (await Invoice.get(id=inv.id)).status == InvoiceStatus.PAID
    credit = await credit_invoice(b.alice, inv.number or "", "Retour", SELLER, TODAY, render=RENDER, now=NOW)
    # A debit of another amount, and one naming nothing, close nothing.
    wrong = notice(
        inv.total_gross_cents - 1,
        remittance=f"Remboursement {credit.number}",
        payer="ACME SA",
        entry="OUT0",
        direction=Direction.DEBIT,
    )
    vague = notice(
        inv.total_gross_cents,
        remittance="Virement",
        payer="Someone else",
        entry="OUT1",
        direction=Direction.DEBIT,
    )
    await record_notices([wrong, vague], source=await _source("<out0@bank>"), now=NOW)
    assert (await Refund.get(credit_note_id=credit.id)).status == RefundStatus.OWED
    paid_back = notice(
        inv.total_gross_cents,
        remittance=f"Remboursement avoir {credit.number}",
        payer="ACME SA",
        entry="OUT2",
        direction=Direction.DEBIT,
    )
    await record_notices([paid_back], source=await _source("<out2@bank>"), now=NOW)
    refund = await Refund.get(credit_note_id=credit.id)
    payment = await Payment.get(entry_ref=entry_key(paid_back))
    assert (refund.status, refund.payment_id) == (RefundStatus.DONE, payment.id)
    assert (payment.status, payment.matched_by, payment.invoice_id) == (
        PaymentStatus.MATCHED,
        "refund",
        credit.id,
    )
    assert await Alert.filter(kind="refund_done_bank", user_id=b.boss.id).count() == 1
    assert (await Invoice.get(id=inv.id)).status == InvoiceStatus.CANCELLED  # debits settle nothing


def test_refund_amount_is_what_was_paid_at_most_the_credit() -> None:
    assert refund_amount(100_00, 0) == 0
    assert refund_amount(100_00, 40_00) == 40_00
    assert refund_amount(100_00, 130_00) == 100_00


@pytest.mark.parametrize(
    ("amount", "text", "name", "iban", "expected"),
    [
        (50_00, "Remboursement A2026-00001", None, None, True),
        (-50_00, "avoir a 2026 00001", None, None, True),  # sign, spaces and case free
        (50_00, "Remboursement F2026-00007", None, None, True),  # the credited invoice
        (50_00, "", "acme  sa", None, True),  # the client's name
        (50_00, "", None, "FR76 3000 4000 0312 3456 7890 143", True),  # a known client account
        (49_99, "Remboursement A2026-00001", "ACME SA", None, False),  # another amount
        (50_00, "Remboursement", "Other Ltd", "FR7630006000011234567890189", False),
    ],
)
def test_debit_matches_a_refund(
    amount: int, text: str, name: str | None, iban: str | None, expected: bool
) -> None:
    assert (
        debit_matches(
            amount_cents=amount,
            currency="eur",
            text=text,
            payee_name=name,
            payee_iban=iban,
            refund_cents=50_00,
            refund_currency="EUR",
            numbers=("A2026-00001", "F2026-00007"),
            client_name="ACME SA",
            client_ibans=("FR7630004000031234567890143",),
        )
        is expected
    )


async def test_crediting_an_overdue_invoice_closes_its_collection_task(any_db: str) -> None:
    from storage.models import CollectionEvent, CollectionStatus

    b = await make_billing()
    inv = await _issued(b)
    assert inv.due_date is not None
    late = inv.due_date + timedelta(days=2)
    assert (await scan_overdue(late, NOW + timedelta(days=32), COMPANY)).opened == 1
    await credit_invoice(
        b.alice,
        inv.number or "",
        "Litige réglé par avoir",
        SELLER,
        late,
        render=RENDER,
        now=NOW + timedelta(days=32),
    )
    task = await CollectionTask.get(invoice_id=inv.id)
    assert task.status == CollectionStatus.CLOSED
    assert await CollectionEvent.filter(task=task, kind="closed", note="credited").exists()
    before = await OutboxEmail.filter(purpose="dunning").count()
    result = await scan_overdue(late + timedelta(days=60), NOW + timedelta(days=92), COMPANY)
    assert (result.opened, result.emails) == (0, 0)
    assert await OutboxEmail.filter(purpose="dunning").count() == before
