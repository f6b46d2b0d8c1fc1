"""Invoices through the PA: routing, the durable queue, outages, tokens, refusals."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, date, datetime, timedelta

from mail.documents import render_attachment
from mail.pa.client import PaClient
from mail.pa.worker import flush_submissions
from storage.contacts import set_billing
from storage.einvoicing.queue import queue_counts
from storage.einvoicing.routing import BuyerFacts, Route, route_for
from storage.invoicing import draft_from_deal, issue_invoice
from storage.models import (
    Alert,
    Contact,
    Invoice,
    InvoiceDocument,
    OutboxAttachment,
    OutboxEmail,
    PaAddressing,
    PaInvoice,
    PaQueueState,
    PaSubmission,
    User,
)
from tests.billing_data import RENDER, SELLER, make_billing
from tests.pa.conftest import PA_SELLER
from tests.pa.fake_pa import FakePA

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
TODAY = date(2026, 12, 1)


async def issue_won_deal(seller=PA_SELLER, **billing):  # type: ignore[no-untyped-def]
    b = await make_billing(**billing)
    draft = await draft_from_deal(b.alice, b.deal.id, seller)
    result = await issue_invoice(b.alice, draft.id, seller, TODAY, render=RENDER)
    return b, result


# ---------------------------------------------------------------- routing (pure)


def test_french_vat_registered_business_goes_to_the_pa() -> None:
    buyer = BuyerFacts(
        business=True, siren="552100554", vat_number="FR40303265045", billing_email="compta@acme.example"
    )
    assert route_for(buyer, pa_enabled=True) == Route.PA
    assert route_for(buyer, pa_enabled=False) == Route.EMAIL


def test_consumers_foreign_clients_and_pdf_wishes_keep_the_email() -> None:
    consumer = BuyerFacts(business=False, siren="", vat_number="", billing_email="a@b.example")
    german = BuyerFacts(business=True, siren="", vat_number="DE136695976", billing_email="x@y.de")
    no_vat = BuyerFacts(business=True, siren="552100554", vat_number="", billing_email="c@d.fr")
    both = BuyerFacts(
        business=True,
        siren="552100554",
        vat_number="FR40303265045",
        billing_email="compta@acme.example",
        wants_pdf_email=True,
    )
    assert route_for(consumer, pa_enabled=True) == Route.EMAIL
    assert route_for(german, pa_enabled=True) == Route.EMAIL
    assert route_for(no_vat, pa_enabled=True) == Route.EMAIL
    assert route_for(both, pa_enabled=True) == Route.PA_AND_EMAIL


# ---------------------------------------------------------------- issuing and sending


async def test_issued_invoice_is_queued_for_the_pa_instead_of_emailed(db: str) -> None:
    _, result = await issue_won_deal()
    invoice = result.invoice
    assert result.pa and not result.queued
    assert not await OutboxEmail.filter(invoice_id=invoice.id).exists()
    sub = await PaSubmission.get(invoice_id=invoice.id)
    assert (sub.state, sub.tracking_id) == (PaQueueState.PENDING, f"{invoice.number}-1")


async def test_without_a_pa_the_invoice_is_emailed_as_before(db: str) -> None:
    _, result = await issue_won_deal(seller=SELLER)
    assert result.queued and not result.pa
    assert not await PaSubmission.exists()


async def test_a_client_who_wants_the_pdf_too_gets_both(db: str) -> None:
    b = await make_billing()
    await PaAddressing.create(contact_id=b.client.id, also_email=True)
    draft = await draft_from_deal(b.alice, b.deal.id, PA_SELLER)
    result = await issue_invoice(b.alice, draft.id, PA_SELLER, TODAY, render=RENDER)
    assert result.pa and result.queued


async def test_queued_invoice_is_submitted_as_factur_x_with_its_flow_info(
    db: str, fake_pa: FakePA, pa: PaClient
) -> None:
    _, result = await issue_won_deal()
    outcome = await flush_submissions(pa, PA_SELLER, NOW)
    assert outcome.submitted == 1 and fake_pa.refused == []
    [flow] = fake_pa.received
    assert flow.info["flowSyntax"] == "Factur-X" and flow.info["processingRule"] == "B2B"
    assert flow.info["trackingId"] == f"{result.invoice.number}-1"
    assert flow.content.startswith(b"%PDF-")
    pa_row = await PaInvoice.get(invoice_id=result.invoice.id)
    assert (pa_row.flow_id, pa_row.status_code) == (flow.flow_id, 200)
    assert (await PaSubmission.get(invoice_id=result.invoice.id)).state == PaQueueState.DONE
    assert (await Invoice.get(id=result.invoice.id)).status.value == "sent"
    # Nothing left: a second run submits nothing.
    assert (await flush_submissions(pa, PA_SELLER, NOW + timedelta(minutes=1))).submitted == 0
    assert len(fake_pa.received) == 1


async def test_the_pa_receives_the_frozen_bytes_the_email_carries(
    db: str, fake_pa: FakePA, pa: PaClient
) -> None:
    """PA and email get byte-identical files: the frozen document, whatever changed since."""
    b = await make_billing()
    await PaAddressing.create(contact_id=b.client.id, also_email=True)
    draft = await draft_from_deal(b.alice, b.deal.id, PA_SELLER)
    invoice = (await issue_invoice(b.alice, draft.id, PA_SELLER, TODAY, render=RENDER)).invoice
    stored = await InvoiceDocument.get(invoice_id=invoice.id)
    # The seller's identity changes after issue: a re-render would differ, the PA must not.
    moved = dataclasses.replace(
        PA_SELLER, iban="FR7630001007941234567890185", address="9 avenue Foch\n75116 Paris\nFrance"
    )
    assert (await flush_submissions(pa, moved, NOW)).submitted == 1
    [flow] = fake_pa.received
    assert flow.info["sha256"] == stored.sha256 == hashlib.sha256(flow.content).hexdigest()
    assert flow.content == bytes(stored.pdf)
    email = await OutboxEmail.get(invoice_id=invoice.id)
    [attachment] = await OutboxAttachment.filter(email_id=email.id)
    assert await render_attachment(attachment, moved) == flow.content


async def test_outage_loses_nothing_and_submits_once(any_db: str, fake_pa: FakePA, pa: PaClient) -> None:
    _, result = await issue_won_deal()
    fake_pa.down = True
    outcome = await flush_submissions(pa, PA_SELLER, NOW)
    assert outcome.retried == 1 and fake_pa.received == []
    sub = await PaSubmission.get(invoice_id=result.invoice.id)
    assert sub.state == PaQueueState.PENDING and "503" in (sub.last_error or "")
    # Not due yet: the backoff holds it back.
    fake_pa.down = False
    assert (await flush_submissions(pa, PA_SELLER, NOW + timedelta(seconds=5))).submitted == 0
    assert (await flush_submissions(pa, PA_SELLER, NOW + timedelta(minutes=1))).submitted == 1
    assert len(fake_pa.submitted(f"{result.invoice.number}-1")) == 1


async def test_an_answer_lost_after_the_pa_stored_the_flow_is_not_submitted_twice(
    any_db: str, fake_pa: FakePA, pa: PaClient
) -> None:
    _, result = await issue_won_deal()
    fake_pa.lose_next_response()
    assert (await flush_submissions(pa, PA_SELLER, NOW)).retried == 1
    assert (await flush_submissions(pa, PA_SELLER, NOW + timedelta(minutes=5))).submitted == 1
    tracking = f"{result.invoice.number}-1"
    assert len(fake_pa.submitted(tracking)) == 1
    pa_row = await PaInvoice.get(invoice_id=result.invoice.id)
    assert pa_row.flow_id == fake_pa.submitted(tracking)[0].flow_id


async def test_a_worker_dying_mid_submission_is_taken_over_after_the_lease(
    any_db: str, fake_pa: FakePA, pa: PaClient
) -> None:
    from storage.einvoicing.queue import claim_due

    _, result = await issue_won_deal()
    [taken] = await claim_due(NOW)  # this worker dies before submitting
    assert await claim_due(NOW + timedelta(minutes=1)) == []
    outcome = await flush_submissions(pa, PA_SELLER, NOW + timedelta(minutes=11))
    assert outcome.submitted == 1 and taken.tracking_id == f"{result.invoice.number}-1"
    assert len(fake_pa.received) == 1


async def test_token_is_cached_and_fetched_again_after_a_401(db: str, fake_pa: FakePA, pa: PaClient) -> None:
    await issue_won_deal()
    await flush_submissions(pa, PA_SELLER, NOW)
    await pa.search_flows({"updatedAfter": "2026-01-01T00:00:00.000Z"})
    assert fake_pa.token_requests == 1
    fake_pa.expire_tokens()
    found = await pa.search_flows({"updatedAfter": "2026-01-01T00:00:00.000Z"})
    assert len(found) == 1 and fake_pa.token_requests == 2


async def test_a_refused_flow_fails_for_good_and_tells_the_owner(
    db: str, fake_pa: FakePA, pa: PaClient
) -> None:
    b, result = await issue_won_deal()
    # The PA refuses a flow whose flowInfo is wrong: here a tracking id over 36 characters.
    await PaSubmission.filter(invoice_id=result.invoice.id).update(tracking_id="X" * 36)
    await PaSubmission.filter(invoice_id=result.invoice.id).update(params={"number": "F" * 300})
    outcome = await flush_submissions(pa, PA_SELLER, NOW)
    assert outcome.failed == 1 and fake_pa.received == []
    sub = await PaSubmission.get(invoice_id=result.invoice.id)
    assert sub.state == PaQueueState.FAILED and "400" in (sub.last_error or "")
    alert = await Alert.get(kind="pa_failed")
    assert alert.user_id == b.alice.id and "400" in alert.params["error"]
    assert (await queue_counts())["failed"] == 1


async def test_a_contact_without_french_vat_is_emailed_even_with_a_pa(db: str) -> None:
    b = await make_billing(win=True)
    await set_billing(b.alice, b.client.id, vat_number="", siren="552100554")
    draft = await draft_from_deal(b.alice, b.deal.id, PA_SELLER)
    result = await issue_invoice(b.alice, draft.id, PA_SELLER, TODAY, render=RENDER)
    assert result.queued and not result.pa
    assert (await Contact.get(id=b.client.id)).vat_number in ("", None)
    assert await Invoice.filter(id=result.invoice.id).exists()


async def test_two_workers_claiming_at_once_never_share_a_flow(any_db: str) -> None:
    import asyncio

    from storage.einvoicing.queue import claim_due

    for _ in range(3):
        await issue_won_deal_again()
    first, second = await asyncio.gather(claim_due(NOW, limit=2), claim_due(NOW, limit=2))
    taken = [s.id for s in first] + [s.id for s in second]
    assert len(taken) == len(set(taken))  # no row held by both
    assert 2 <= len(taken) <= 3  # the loser of a race on the same rows gets none of them
    assert await PaSubmission.filter(state=PaQueueState.SENDING).count() == len(taken)


_deals = iter(range(1000))


async def issue_won_deal_again() -> None:
    """Another issued invoice for the same client (the billing data is made once)."""
    from decimal import Decimal

    from storage.pipeline import create_deal, win_deal
    from storage.products import add_deal_line

    n = next(_deals)
    if not await Contact.exists():
        await make_billing(win=False)
    alice = await User.get(name="alice")
    client = await Contact.get(name="ACME SA")
    deal = await create_deal(alice, client.id, f"Order {n}", 0, "EUR")
    await add_deal_line(alice, deal.id, "WIDGET", Decimal("1"))
    await win_deal(alice, deal.id)
    draft = await draft_from_deal(alice, deal.id, PA_SELLER)
    await issue_invoice(alice, draft.id, PA_SELLER, TODAY, render=RENDER)
