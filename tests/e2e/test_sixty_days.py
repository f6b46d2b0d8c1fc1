"""Sixty days of the background loop on SQLite, with a controlled clock (time-machine).

A won deal short of stock → purchase order drafted → sent (PDF to the supplier over a
loopback SMTP server) → partly then fully received → the deal owner told. An invoice issued
→ overdue → each dunning level exactly once (the client receives the emails) → the bot down
for 10 days → one catch-up, no duplicate → the payment read from the bank's notice → the
task closes and people are told. A second invoice is cancelled by a credit note on day 3:
as time passes its due date, no job ever reminds, opens a task or emails about it or the
credit note. The jobs run twice a day through `bot.jobs.run_job`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine

from bot.context import Services
from bot.jobs import all_jobs, run_job
from bot.settings import Settings
from mail.notices import PaymentNotice
from mail.sender import flush_outbox
from storage.invoicing import (
    add_invoice_line,
    credit_invoice,
    draft_for_contact,
    draft_from_deal,
    issue_invoice,
    set_terms,
)
from storage.models import (
    Alert,
    CollectionEvent,
    CollectionStatus,
    CollectionTask,
    Contact,
    Invoice,
    InvoiceStatus,
    JobRun,
    OutboxEmail,
    OutboxStatus,
    POStatus,
    Product,
    PurchaseOrder,
    Role,
    StockLevel,
)
from storage.payments import ingest_message
from storage.purchasing import receive, send_po
from storage.users import create_user
from tests.billing_data import RENDER, SELLER, make_billing
from tests.mail.smtp_server import LoopbackSmtp

START = datetime(2026, 1, 5, 8, 30, tzinfo=UTC)  # 09:30 in Paris, after the 08:00 digest
DOWN = range(38, 48)  # the bot is down from day 38 to day 47: dunning level 3 falls on day 40


@pytest.fixture
def smtp() -> Iterator[LoopbackSmtp]:
    server = LoopbackSmtp()
    server.start()
    yield server
    server.stop()


async def test_sixty_days(db: str, settings: Settings, smtp: LoopbackSmtp, tmp_path: Path) -> None:
    services = Services(settings=settings, resolve_user=lambda _id: None)  # type: ignore[arg-type, return-value]
    jobs = all_jobs()
    smtp_config = smtp.config(tmp_path, seller=SELLER)

    async def tick(now: datetime) -> None:
        with time_machine.travel(now, tick=False):
            for name in ("overdue", "purchasing", "task_reminders", "digest"):
                detail = await run_job(jobs[name], services, None)
                assert not detail.startswith("error"), (name, detail)
            result = await flush_outbox(smtp_config, now)
            assert result.failed == 0 and result.retried == 0, str(result)

    def at(day: int, hours: int = 0) -> datetime:
        return START + timedelta(days=day, hours=hours)

    with time_machine.travel(at(0), tick=False):
        billing = await make_billing()
        paula = await create_user("paula", Role.PURCHASING, telegram_id=50)
        supplier = await Contact.create(
            name="Fournitures SA", owner=paula, email="commandes@fournitures.example"
        )
        await Product.all().update(supplier_id=supplier.id)
        widget = await Product.get(sku="WIDGET")
        await StockLevel.create(product=widget, warehouse_id=1, on_hand=Decimal(1))
        draft = await draft_from_deal(billing.alice, billing.deal.id, SELLER)
        await set_terms(billing.alice, draft.id, 10)
        await issue_invoice(billing.alice, draft.id, SELLER, at(0).date(), render=RENDER)
        other = await draft_for_contact(billing.alice, billing.client.id, SELLER)
        await add_invoice_line(billing.alice, other.id, "BOOK", Decimal(4), SELLER)
        await set_terms(billing.alice, other.id, 10)
        await issue_invoice(billing.alice, other.id, SELLER, at(0).date(), render=RENDER)
    invoice = await Invoice.get(id=draft.id)
    assert invoice.due_date == date(2026, 1, 15) and invoice.number
    client_mail = billing.client.billing_email

    for day in range(0, 61):
        if day in DOWN:
            continue
        await tick(at(day))
        await tick(at(day, hours=6))  # a second run the same day changes nothing
        if day == 1:  # the purchasing check drafted ONE order for the supplier
            po = await PurchaseOrder.get(status=POStatus.DRAFT)
            assert await PurchaseOrder.all().count() == 1
            with time_machine.travel(at(day, 1), tick=False):
                await send_po(
                    paula,
                    po.id,
                    at(day).date(),
                    at(day, 1),
                    company_name=SELLER.name,
                    company_email=SELLER.email,
                )
        if day == 3:  # the second invoice is cancelled by a credit note, before its due date
            with time_machine.travel(at(day, 1), tick=False):
                credit = await credit_invoice(
                    billing.alice,
                    "F2026-00002",
                    "Erreur de client",
                    SELLER,
                    at(day).date(),
                    render=RENDER,
                    now=at(day, 1),
                )
        if day == 5:
            with time_machine.travel(at(day, 1), tick=False):
                await receive(paula, po.id, {"WIDGET": Decimal(1)}, at(day, 1))
            assert not await Alert.filter(kind="goods_received").exists()
        if day == 8:
            with time_machine.travel(at(day, 1), tick=False):
                await receive(paula, po.id, None, at(day, 1))
            assert (await PurchaseOrder.get(id=po.id)).status == POStatus.RECEIVED
            told = await Alert.filter(kind="goods_received")
            assert [a.user_id for a in told] == [billing.alice.id]
        if day == DOWN.stop:  # restarted: ONE catch-up email (the formal notice), no repeat
            keys = [e.dedupe_key for e in await OutboxEmail.filter(purpose="dunning")]
            assert keys == [f"dunning:{invoice.id}:{n}" for n in (1, 2, 3)]
        if day == 57:
            with time_machine.travel(at(day, 1), tick=False):
                inv = await Invoice.get(id=invoice.id)
                notice = PaymentNotice(
                    amount_cents=inv.total_gross_cents,
                    currency="EUR",
                    booking_date=at(day).date(),
                    payer_name="ACME SA",
                    remittance=f"Paiement facture {inv.number}",
                    entry_ref="BANK-E2E-1",
                )
                await ingest_message(
                    [notice],
                    message_id="<bank-1@bank.example>",
                    folder="INBOX",
                    uid=1,
                    sender="avis@bank.example",
                    subject="Avis de crédit",
                    now=at(day, 1),
                )

    # The credit note and the invoice it cancelled: never chased, never a task.
    assert credit.number == "A2026-00001" and credit.due_date is None
    assert set(await CollectionTask.all().values_list("invoice_id", flat=True)) == {invoice.id}
    about_credit = [
        m for m in smtp.messages if "A2026-00001" in m["Subject"] or "F2026-00002" in m["Subject"]
    ]
    assert [m["Subject"].split(" —")[0] for m in about_credit] == [
        "Facture F2026-00002",
        "Avoir A2026-00001",
    ]  # issued, then credited: nothing more
    assert not [
        a
        for a in await Alert.filter(kind__in=["overdue", "escalated"])
        if a.params.get("number") in ("A2026-00001", "F2026-00002")
    ]

    # Purchasing: the supplier received the PDF order.
    po_mail = [m for m in smtp.messages if m["To"] == "commandes@fournitures.example"]
    assert len(po_mail) == 1
    pdfs = [p for p in po_mail[0].iter_attachments() if p.get_content_type() == "application/pdf"]
    assert len(pdfs) == 1 and pdfs[0].get_content().startswith(b"%PDF")
    assert (await StockLevel.get(product=widget)).on_hand == Decimal(3)

    # Collections: each level exactly once, the client got three reminders with the PDF.
    dunning = await OutboxEmail.filter(purpose="dunning").order_by("id")
    assert [e.dedupe_key.rsplit(":", 1)[1] for e in dunning] == ["1", "2", "3"]
    assert all(e.status == OutboxStatus.SENT for e in dunning)
    to_client = [
        m
        for m in smtp.messages
        if m["To"] == client_mail and m["Subject"].startswith(("Rappel", "Deuxième", "Mise en demeure"))
    ]
    assert [m["Subject"].split(" :")[0] for m in to_client] == [
        "Rappel",
        "Deuxième relance",
        "Mise en demeure",
    ]
    assert all(
        any(p.get_content_type() == "application/pdf" for p in m.iter_attachments()) for m in to_client
    )
    assert "40,00\xa0€" in to_client[2].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    task = await CollectionTask.get(invoice_id=invoice.id)
    events = [(e.kind, e.at.date()) for e in await CollectionEvent.filter(task=task).order_by("id")]
    assert [k for k, _ in events] == ["opened", "level1", "level2", "level3", "level4", "closed"]
    assert dict(events)["level3"] == at(DOWN.stop).date()  # caught up on the restart day
    assert dict(events)["level4"] == date(2026, 3, 1)  # due + 45 days
    assert await Alert.filter(kind="escalated", user_id=billing.boss.id).count() == 1
    assert await Alert.filter(kind="overdue").count() == 1

    # Paid: the task closed itself and the owner was told.
    assert task.status == CollectionStatus.CLOSED
    assert (await Invoice.get(id=invoice.id)).status == InvoiceStatus.PAID
    assert await Alert.filter(kind="collection_closed", user_id=billing.alice.id).count() == 1
    assert await Alert.filter(kind="payment_received", user_id=billing.alice.id).count() == 1

    # The digest: once per day the bot was up, never twice.
    digests = await Alert.filter(kind="digest", user_id=billing.boss.id).count()
    assert digests == 61 - len(DOWN)
    assert {r.name: r.outcome for r in await JobRun.all()} == {
        "overdue": "ok",
        "purchasing": "ok",
        "task_reminders": "ok",
        "digest": "ok",
    }
