"""A bank payment settling an invoice sent through the PA queues the "Encaissée" (212)."""

from __future__ import annotations

from datetime import timedelta

from mail.pa.cdar import parse_cdar
from mail.pa.client import PaClient
from mail.pa.worker import flush_submissions
from storage.models import Invoice, PaStatusEvent, PaSubmission, PaSubmissionKind
from storage.payments import ingest_message
from tests.billing_data import RENDER, SELLER, make_billing
from tests.pa.conftest import PA_SELLER
from tests.pa.fake_pa import FakePA
from tests.pa.test_sending import NOW, TODAY, issue_won_deal
from tests.payment_fixtures import TODAY as BOOKED
from tests.payment_fixtures import credit


async def pay(invoice: Invoice, cents: int, entry: str) -> None:
    await ingest_message(
        [credit(cents, ref=invoice.rf_reference, entry=entry)],
        message_id=f"<{entry}@bank.example>",
        folder="INBOX",
        uid=None,
        sender="bank@bank.example",
        subject="avis",
        now=NOW,
    )


async def test_partial_then_full_payment_each_send_212_with_the_amount_received(
    any_db: str, fake_pa: FakePA, pa: PaClient
) -> None:
    _, result = await issue_won_deal()
    await flush_submissions(pa, PA_SELLER, NOW)
    invoice = await Invoice.get(id=result.invoice.id)
    gross = invoice.total_gross_cents
    await pay(invoice, 100_00, "E1")
    await pay(invoice, gross - 100_00, "E2")
    await pay(invoice, gross - 100_00, "E2")  # the same bank entry again: nothing new
    subs = await PaSubmission.filter(kind=PaSubmissionKind.STATUS).order_by("id")
    assert [(s.status_code, s.params["amount_cents"]) for s in subs] == [(212, 100_00), (212, gross - 100_00)]
    assert subs[0].params["date"] == BOOKED.isoformat()  # the bank's booking date
    await flush_submissions(pa, PA_SELLER, NOW + timedelta(minutes=1))
    cdars = [f for f in fake_pa.received if f.info["flowSyntax"] == "CDAR"]
    assert fake_pa.refused == [] and len(cdars) == 2
    parsed = [parse_cdar(f.content)[0] for f in cdars]
    assert [(p.invoice_number, p.code, p.amount_cents) for p in parsed] == [
        (invoice.number, 212, 100_00),
        (invoice.number, 212, gross - 100_00),
    ]
    assert await PaStatusEvent.filter(invoice_id=invoice.id, code=212, outgoing=True).count() == 2


async def test_an_emailed_invoice_sends_no_status(db: str) -> None:
    from storage.invoicing import draft_from_deal, issue_invoice

    b = await make_billing()
    draft = await draft_from_deal(b.alice, b.deal.id, SELLER)
    invoice = (await issue_invoice(b.alice, draft.id, SELLER, TODAY, render=RENDER)).invoice
    await pay(invoice, invoice.total_gross_cents, "E9")
    assert (await Invoice.get(id=invoice.id)).status.value == "paid"
    assert not await PaSubmission.exists()
