"""Life-cycle statuses: CDAR documents, polling, webhooks, duplicates, order, alerts."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mail.pa.cdar import CdarError, StatusDocument, build_cdar, parse_cdar
from mail.pa.client import PaClient
from mail.pa.worker import flush_submissions, poll_flows, process_inbound, run_cycle
from storage.alerts import ActionKind, AlertAction, actions_of
from storage.einvoicing.lifecycle import invoice_statuses, resubmit_invoice
from storage.einvoicing.statuses import Lifecycle, StatusFact, current_status, label
from storage.models import (
    Alert,
    CollectionTask,
    Contact,
    PaInboundFlow,
    PaInvoice,
    PaStatusEvent,
    PaSubmission,
)
from tests.billing_data import RENDER
from tests.pa.conftest import PA_SELLER
from tests.pa.fake_pa import FakePA
from tests.pa.test_sending import NOW, issue_won_deal

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


# ---------------------------------------------------------------- pure rules


def test_status_table_speaks_both_languages() -> None:
    assert label(212, "fr") == "Encaissée" and label(212, "en") == "Cashed"
    assert label(213, "fr") == "Rejetée" and label(207, "en") == "Disputed"


@given(
    st.permutations(
        [
            StatusFact(Lifecycle.SUBMITTED, T0),
            StatusFact(Lifecycle.MADE_AVAILABLE, T0 + timedelta(hours=1)),
            StatusFact(Lifecycle.DISPUTED, T0 + timedelta(hours=2)),
            StatusFact(Lifecycle.APPROVED, T0 + timedelta(hours=3)),
            StatusFact(Lifecycle.APPROVED, T0 + timedelta(hours=3)),
        ]
    )
)
def test_current_status_does_not_depend_on_arrival_order(facts: list[StatusFact]) -> None:
    assert current_status(facts) == StatusFact(Lifecycle.APPROVED, T0 + timedelta(hours=3))


def test_a_final_status_is_never_left_even_by_a_later_date() -> None:
    facts = [StatusFact(Lifecycle.REFUSED, T0), StatusFact(Lifecycle.APPROVED, T0 + timedelta(1))]
    assert current_status(facts).code == Lifecycle.REFUSED  # type: ignore[union-attr]


def test_the_buyers_status_follows_the_deposit_whatever_the_clocks_say() -> None:
    facts = [
        StatusFact(Lifecycle.MADE_AVAILABLE, T0),
        StatusFact(Lifecycle.SUBMITTED, T0 + timedelta(minutes=3)),
    ]
    assert current_status(facts).code == Lifecycle.MADE_AVAILABLE  # type: ignore[union-attr]


def test_same_date_goes_to_the_status_further_along() -> None:
    for order in itertools.permutations([Lifecycle.RECEIVED, Lifecycle.MADE_AVAILABLE]):
        assert current_status([StatusFact(c, T0) for c in order]).code == (  # type: ignore[union-attr]
            Lifecycle.MADE_AVAILABLE
        )


def test_cdar_round_trip_carries_code_reason_and_amount() -> None:
    doc = StatusDocument(
        document_id="F2026-00001_212_1",
        code=212,
        at=T0,
        invoice_number="F2026-00001",
        invoice_type="380",
        invoice_date=T0.date(),
        invoice_issuer_siren="732829320",
        sender_role="SE",
        issuer_siren="732829320",
        issuer_name="Entonnoir & Cie",
        recipient_siren="552100554",
        recipient_role="BY",
        amount_cents=123_45,
    )
    [status] = parse_cdar(build_cdar(doc))
    assert (status.invoice_number, status.code, status.at, status.amount_cents) == (
        "F2026-00001",
        212,
        T0,
        123_45,
    )
    disputed = parse_cdar(
        build_cdar(
            StatusDocument(
                **{
                    **doc.__dict__,
                    "code": 207,
                    "amount_cents": None,
                    "reason_code": "TX_TVA_ERR",
                    "reason": "Taux <10 %> erroné",
                }
            )
        )
    )
    assert (disputed[0].reason_code, disputed[0].reason) == ("TX_TVA_ERR", "Taux <10 %> erroné")


def test_unsafe_or_foreign_xml_is_refused() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    with pytest.raises(CdarError, match="unsafe"):
        parse_cdar(bomb)
    with pytest.raises(CdarError, match="not a CDAR"):
        parse_cdar(b"<Invoice/>")
    with pytest.raises(CdarError, match="malformed"):
        parse_cdar(b"<oops")


# ---------------------------------------------------------------- through the fake PA


async def submitted(fake: FakePA, pa: PaClient):  # type: ignore[no-untyped-def]
    b, result = await issue_won_deal()
    await flush_submissions(pa, PA_SELLER, NOW)
    [flow] = fake.received
    return b, result.invoice, flow


async def test_statuses_come_back_by_polling_and_are_stored_with_their_date(
    db: str, fake_pa: FakePA, pa: PaClient
) -> None:
    b, invoice, flow = await submitted(fake_pa, pa)
    fake_pa.ack(flow.flow_id, "Ok")
    fake_pa.emit_status(invoice.number, 203, at=T0)
    fake_pa.emit_status(invoice.number, 205, at=T0 + timedelta(hours=2))
    result = await run_cycle(pa, PA_SELLER, NOW + timedelta(minutes=5))
    assert result.noted == 3
    pa_row, events = await invoice_statuses(invoice.id)
    assert pa_row is not None and pa_row.status_code == 205
    assert pa_row.status_at == T0 + timedelta(hours=2)
    assert [e.code for e in events if e.code != 200] == [203, 205]
    told = {a.params["code"]: a for a in await Alert.filter(kind="pa_status")}
    assert set(told) == {203, 205} and told[205].user_id == b.alice.id
    # Polling again hears nothing new and changes nothing.
    again = await run_cycle(pa, PA_SELLER, NOW + timedelta(minutes=10))
    assert again.noted == 0 and await PaStatusEvent.filter(invoice_id=invoice.id).count() == len(events)


async def test_duplicate_and_out_of_order_webhooks_end_in_the_right_state(
    any_db: str, fake_pa: FakePA, pa: PaClient, webhook_url: str
) -> None:
    _, invoice, _ = await submitted(fake_pa, pa)
    late = fake_pa.emit_status(invoice.number, 205, at=T0 + timedelta(hours=3))
    early = fake_pa.emit_status(invoice.number, 203, at=T0)
    assert await fake_pa.push_webhook(late, webhook_url, times=2) == [200, 200]
    assert await fake_pa.push_webhook(early, webhook_url, times=2) == [200, 200]
    assert await PaInboundFlow.filter(flow_type="CustomerInvoiceLC").count() == 2
    await process_inbound(pa, NOW)
    pa_row = await PaInvoice.get(invoice_id=invoice.id)
    assert pa_row.status_code == 205
    # The same statuses heard again by polling: no new rows, no second alert.
    await poll_flows(pa)
    await process_inbound(pa, NOW)
    assert await PaStatusEvent.filter(invoice_id=invoice.id, code=205).count() == 1
    assert [a.params["code"] for a in await Alert.filter(kind="pa_status")] == [205]


async def test_webhook_refuses_what_is_not_a_flow(db: str, webhook_url: str) -> None:
    import httpx

    async with httpx.AsyncClient() as client:
        assert (await client.post(webhook_url, content=b"{nope")).status_code == 400
        assert (await client.post(webhook_url, json={"flowType": "X"})).status_code == 400
        assert (await client.post(webhook_url, content=b"x" * 300_000)).status_code == 413
    assert not await PaInboundFlow.exists()


async def test_rejected_flow_tells_the_owner_what_to_fix_and_can_go_again(
    any_db: str, fake_pa: FakePA, pa: PaClient
) -> None:
    b, invoice, flow = await submitted(fake_pa, pa)
    fake_pa.ack(
        flow.flow_id,
        "Error",
        [
            {
                "level": "Error",
                "item": "BT-47",
                "reasonCode": "InvalidSchema",
                "reasonMessage": "SIREN de l'acheteur inconnu de l'annuaire",
            }
        ],
    )
    await run_cycle(pa, PA_SELLER, NOW + timedelta(minutes=5))
    pa_row = await PaInvoice.get(invoice_id=invoice.id)
    assert pa_row.status_code == Lifecycle.REJECTED
    alert = await Alert.get(kind="pa_rejected")
    assert alert.user_id == b.alice.id and alert.urgent
    assert "BT-47" in alert.params["reason"] and "SIREN" in alert.params["reason"]
    assert alert.buttons == [{"action": "resubmit_invoice", "id": invoice.id}]
    assert actions_of(alert) == [AlertAction(ActionKind.RESUBMIT_INVOICE, invoice.id)]
    # Fixed, then submitted again under a new tracking id; the old rejection no longer counts.
    await resubmit_invoice(b.alice, invoice.id, NOW + timedelta(hours=1), render=RENDER)
    await run_cycle(pa, PA_SELLER, NOW + timedelta(hours=1))
    assert [f.info["trackingId"] for f in fake_pa.received] == [f"{invoice.number}-1", f"{invoice.number}-2"]
    pa_row = await PaInvoice.get(invoice_id=invoice.id)
    assert (pa_row.attempt, pa_row.status_code) == (2, Lifecycle.SUBMITTED)


async def test_a_rejected_invoice_the_buyer_already_saw_is_never_redone(
    any_db: str, fake_pa: FakePA, pa: PaClient
) -> None:
    """Made available (203) then rejected: the buyer saw that document, so it goes again
    unchanged; and Resubmit pressed twice moves it on once."""
    from storage.errors import Conflict
    from storage.models import InvoiceDocument

    b, invoice, flow = await submitted(fake_pa, pa)
    fake_pa.ack(flow.flow_id, "Ok")
    fake_pa.emit_status(invoice.number, 203, at=T0)
    fake_pa.emit_status(
        invoice.number, 213, at=T0 + timedelta(hours=1), reason_code="TX_TVA_ERR", reason="TVA acheteur"
    )
    await run_cycle(pa, PA_SELLER, NOW + timedelta(minutes=5))
    assert (await PaInvoice.get(invoice_id=invoice.id)).status_code == Lifecycle.REJECTED
    frozen = await InvoiceDocument.get(invoice_id=invoice.id)
    await Contact.filter(id=invoice.contact_id).update(vat_number="FR96552100554")
    done = await resubmit_invoice(b.alice, invoice.id, NOW + timedelta(hours=2), render=RENDER)
    assert not done.refrozen and done.pa.attempt == 2
    after = await InvoiceDocument.get(invoice_id=invoice.id)
    assert (after.sha256, bytes(after.pdf)) == (frozen.sha256, bytes(frozen.pdf))
    with pytest.raises(Conflict):
        await resubmit_invoice(b.alice, invoice.id, NOW + timedelta(hours=2), render=RENDER)
    assert await PaSubmission.filter(invoice_id=invoice.id, kind="invoice").count() == 2


async def test_only_a_rejected_invoice_can_be_resubmitted(db: str, fake_pa: FakePA, pa: PaClient) -> None:
    from storage.errors import Conflict

    b, invoice, _ = await submitted(fake_pa, pa)
    with pytest.raises(Conflict):
        await resubmit_invoice(b.alice, invoice.id, NOW, render=RENDER)
    assert await PaSubmission.filter(invoice_id=invoice.id).count() == 1


async def test_a_dispute_pauses_collections_and_approval_resumes_them(
    db: str, fake_pa: FakePA, pa: PaClient
) -> None:
    b, invoice, _ = await submitted(fake_pa, pa)
    fake_pa.emit_status(invoice.number, 207, at=T0, reason_code="TX_TVA_ERR", reason="Taux de TVA erroné")
    await run_cycle(pa, PA_SELLER, NOW + timedelta(minutes=5))
    task = await CollectionTask.get(invoice_id=invoice.id)
    assert task.disputed
    alert = await Alert.get(kind="pa_disputed")
    assert alert.params["reason"] == "Taux de TVA erroné" and alert.user_id == b.alice.id
    fake_pa.emit_status(invoice.number, 205, at=T0 + timedelta(days=2))
    await run_cycle(pa, PA_SELLER, NOW + timedelta(days=2))
    assert not (await CollectionTask.get(invoice_id=invoice.id)).disputed


async def test_a_refusal_is_final_and_says_why(db: str, fake_pa: FakePA, pa: PaClient) -> None:
    _, invoice, _ = await submitted(fake_pa, pa)
    fake_pa.emit_status(invoice.number, 210, at=T0, reason_code="CMD_ERR", reason="Commande inconnue")
    fake_pa.emit_status(invoice.number, 205, at=T0 + timedelta(hours=1))
    await run_cycle(pa, PA_SELLER, NOW)
    assert (await PaInvoice.get(invoice_id=invoice.id)).status_code == 210
    alert = await Alert.get(kind="pa_refused")
    assert (alert.params["reason_code"], alert.params["reason"]) == ("CMD_ERR", "Commande inconnue")


async def test_an_unreadable_status_is_retried_then_a_human_is_told(
    db: str, fake_pa: FakePA, pa: PaClient
) -> None:
    from storage.einvoicing.queue import MAX_ATTEMPTS
    from storage.models import PaQueueState, Role
    from storage.users import create_user

    admin = await create_user("root", Role.ADMIN, telegram_id=77)
    flow = fake_pa.emit_status("F2026-00001", 205)
    flow.content = b"<rsm:oops"
    await run_cycle(pa, PA_SELLER, NOW)
    row = await PaInboundFlow.get(flow_id=flow.flow_id)
    assert row.state == PaQueueState.PENDING and "malformed" in (row.last_error or "")
    await PaInboundFlow.filter(id=row.id).update(attempts=MAX_ATTEMPTS - 1)
    await process_inbound(pa, NOW + timedelta(days=1))
    assert (await PaInboundFlow.get(id=row.id)).state == PaQueueState.FAILED
    alert = await Alert.get(kind="pa_inbound_failed")
    assert alert.user_id == admin.id and alert.params["flow"] == flow.flow_id


async def test_webhook_with_a_token_refuses_callers_without_it(db: str) -> None:
    from mail.pa.webhook import receive_webhook

    body = b'{"flowId": "f1", "flowType": "CustomerInvoiceLC", "flowDirection": "In"}'
    assert (await receive_webhook(body, {}, secret="tok-123"))[0] == 401
    assert (await receive_webhook(body, {"X-PA-Webhook-Token": "nope"}, secret="tok-123"))[0] == 401
    assert not await PaInboundFlow.exists()
    assert (await receive_webhook(body, {"X-PA-Webhook-Token": "tok-123"}, secret="tok-123"))[0] == 200
    assert await PaInboundFlow.filter(flow_id="f1").exists()


async def test_subscribed_webhooks_bring_statuses_with_the_shared_token(
    db: str, fake_pa: FakePA, pa: PaClient, secured_webhook_url: str
) -> None:
    from mail.pa.worker import subscribe_webhooks
    from tests.pa.conftest import WEBHOOK_TOKEN

    _, invoice, _ = await submitted(fake_pa, pa)
    ids = await subscribe_webhooks(pa, secured_webhook_url, WEBHOOK_TOKEN)
    assert len(ids) == len(set(ids)) == 3 and fake_pa.refused == []
    status = fake_pa.emit_status(invoice.number, 205, at=T0)
    assert await fake_pa.notify(status, times=2) == [200, 200]
    # Without the token (someone else calling) nothing is noted.
    assert await fake_pa.push_webhook(
        fake_pa.emit_status(invoice.number, 210, at=T0), secured_webhook_url
    ) == [401]
    await process_inbound(pa, NOW)
    assert (await PaInvoice.get(invoice_id=invoice.id)).status_code == 205
