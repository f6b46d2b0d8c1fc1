"""End to end through the fake PA and the real chat Application.

A won deal's invoice goes to the platform, is approved, a bank payment settles it and the
212 goes back; a supplier invoice arrives, is matched to its order and receipt, approved in
chat and the 205 goes back; another is refused in chat with a reason code.
"""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import facturx
import pytest

from bot.delivery import Pacer, deliver_alerts
from bot.settings import Settings
from mail.pa.cdar import parse_cdar
from mail.pa.client import PaClient
from mail.pa.worker import run_cycle
from storage.invoicing import draft_from_deal, issue_invoice
from storage.models import (
    AuditLog,
    Contact,
    ContactKind,
    Invoice,
    InvoiceDocument,
    InvoiceStatus,
    OutboxEmail,
    OutboxStatus,
    PaAddressing,
    PaInvoice,
    POStatus,
    Product,
    PurchaseOrder,
    PurchaseOrderLine,
    Role,
    SupplierInvoice,
    SupplierInvoiceStatus,
)
from storage.purchasing import receive
from tests.billing_data import RENDER, make_billing
from tests.harness import ChatHarness, Person
from tests.pa.conftest import PA_SELLER
from tests.pa.fake_pa import FakePA
from tests.pa.supplier_docs import SUPPLIER, cii_invoice
from tests.pa.test_cashed import pay
from tests.pa.test_sending import NOW, TODAY

pytestmark = pytest.mark.filterwarnings("ignore:Deprecated since version v22.2")


async def deliver(chat: ChatHarness, settings: Settings) -> None:
    await deliver_alerts(chat.app.bot, settings, Pacer(), clock=lambda: NOW)


def xml_of(pdf: bytes) -> bytes:
    return bytes(facturx.get_xml_from_pdf(io.BytesIO(pdf), check_xsd=False)[1])


def sent_codes(fake: FakePA) -> list[tuple[str, int]]:
    return [
        (s.invoice_number, s.code)
        for f in fake.received
        if f.info["flowSyntax"] == "CDAR"
        for s in parse_cdar(f.content)
    ]


async def test_invoice_life_and_supplier_invoice_through_the_platform_and_chat(
    chat: ChatHarness, settings: Settings, fake_pa: FakePA, pa: PaClient
) -> None:
    # --- our invoice: won deal → issued → submitted → approved → paid → 212
    b = await make_billing(telegram_base=500)
    alice = Person(chat, 501, "alice", "fr")
    draft = await draft_from_deal(b.alice, b.deal.id, PA_SELLER)
    invoice = (await issue_invoice(b.alice, draft.id, PA_SELLER, TODAY, render=RENDER)).invoice
    await run_cycle(pa, PA_SELLER, NOW)
    [flow] = fake_pa.received
    assert flow.info["trackingId"] == f"{invoice.number}-1" and fake_pa.refused == []
    assert not await OutboxEmail.filter(invoice_id=invoice.id).exists()
    fake_pa.ack(flow.flow_id, "Ok")
    fake_pa.emit_status(invoice.number or "", 203, at=NOW + timedelta(hours=1))
    fake_pa.emit_status(invoice.number or "", 205, at=NOW + timedelta(hours=2))
    await run_cycle(pa, PA_SELLER, NOW + timedelta(hours=3))
    assert (await PaInvoice.get(invoice_id=invoice.id)).status_code == 205
    await deliver(chat, settings)
    told = "\n".join(s.text for s in chat.sent_to(alice) if s.text)
    assert f"{invoice.number}" in told and "Approuvée" in told
    await pay(invoice, invoice.total_gross_cents, "BANK-1")
    assert (await Invoice.get(id=invoice.id)).status == InvoiceStatus.PAID
    await run_cycle(pa, PA_SELLER, NOW + timedelta(days=1))
    [cashed] = [s for f in fake_pa.received if f.info["flowSyntax"] == "CDAR" for s in parse_cdar(f.content)]
    assert (cashed.code, cashed.amount_cents) == (212, invoice.total_gross_cents)
    await alice.says(f"/invoice {invoice.number}")
    card = alice.last_text
    assert "Plateforme de facturation" in card and f"{invoice.number}-1" in card
    assert card.index("Mise à disposition") < card.index("Approuvée") < card.index("envoyé : Encaissée")

    # --- a supplier invoice: matched to its order and receipt, approved in chat → 205
    paul = await chat.user("paul", Role.PURCHASING, lang="en")
    supplier = await Contact.create(
        name=SUPPLIER.name,
        kind=ContactKind.COMPANY,
        owner=b.boss,
        siren=SUPPLIER.siren,
        search_key="ressorts",
    )
    widget = await Product.get(sku="WIDGET")
    po = await PurchaseOrder.create(supplier=supplier, status=POStatus.SENT)
    await PurchaseOrderLine.create(order=po, product=widget, quantity=Decimal(20), unit_price_cents=800)
    assert paul.user is not None
    await receive(paul.user, po.id, {"WIDGET": Decimal(20)}, NOW)
    fake_pa.deliver(cii_invoice("RD-1", f"PO{po.id}", [("WIDGET", "Widget", "20", 800, 2000)]), "CII")
    fake_pa.deliver(cii_invoice("RD-2", f"PO{po.id}", [("WIDGET", "Widget", "5", 900, 2000)]), "CII")
    fake_pa.deliver(cii_invoice("RD-3", "", [("BOLT", "Bolt", "1", 100, 2000)]), "CII")
    await run_cycle(pa, PA_SELLER, NOW + timedelta(days=2))
    await deliver(chat, settings)
    offers = [s for s in chat.sent_to(paul) if s.text and "RD-" in s.text]
    assert len(offers) == 3 and "1/1" in offers[0].text and "0/1" in offers[1].text
    assert "5 / 0" in offers[1].text and "€9.00 ≠ €8.00 (more than received, price differs" in offers[1].text
    first = await SupplierInvoice.get(number="RD-1")
    await paul.presses_data(f"si:ok:{first.id}")
    assert "approved" in paul.last_text
    # The second: refused in chat, with a reason code chosen from the buttons.
    second = await SupplierInvoice.get(number="RD-2")
    await paul.presses_data(f"si:refuse:{second.id}")
    await paul.presses("PU_ERR")
    await paul.says("Prix non conforme à la commande")
    assert "refused" in paul.last_text
    assert (await SupplierInvoice.get(id=second.id)).status == SupplierInvoiceStatus.REFUSED
    # The third (no order reference): disputed in chat with a code and a reason.
    third = await SupplierInvoice.get(number="RD-3")
    await paul.presses_data(f"si:dispute:{third.id}")
    await paul.presses("CMD_ERR")
    await paul.says("No order of ours for bolts")
    assert "disputed" in paul.last_text
    await run_cycle(pa, PA_SELLER, NOW + timedelta(days=2, minutes=5))
    assert sent_codes(fake_pa)[1:] == [("RD-1", 205), ("RD-2", 210), ("RD-3", 207)]
    assert fake_pa.refused == []
    # Pressing Approve again (a late button) changes nothing and says so.
    await paul.presses_data(f"si:ok:{first.id}")
    assert "already decided" in paul.last_text


async def test_a_rejected_invoice_is_resubmitted_from_the_alert_button(
    chat: ChatHarness, settings: Settings, fake_pa: FakePA, pa: PaClient
) -> None:
    b = await make_billing(telegram_base=600)
    alice = Person(chat, 601, "alice", "fr")  # make_billing's alice speaks French
    draft = await draft_from_deal(b.alice, b.deal.id, PA_SELLER)
    invoice = (await issue_invoice(b.alice, draft.id, PA_SELLER, TODAY, render=RENDER)).invoice
    await run_cycle(pa, PA_SELLER, NOW)
    fake_pa.ack(
        fake_pa.received[0].flow_id,
        "Error",
        [
            {
                "level": "Error",
                "item": "BT-48",
                "reasonCode": "InvalidSchema",
                "reasonMessage": "Buyer VAT number unknown",
            }
        ],
    )
    await run_cycle(pa, PA_SELLER, NOW + timedelta(minutes=5))
    await deliver(chat, settings)
    alert = next(s for s in chat.sent_to(alice) if s.text and "rejeté" in s.text)
    assert "BT-48" in alert.text and "Renvoyer" in [label for row in alert.buttons for label, _ in row]
    first = await InvoiceDocument.get(invoice_id=invoice.id)
    # The owner fixes the client's VAT number, then presses Resubmit: never delivered, so
    # the invoice keeps its number and is issued anew from the fixed data (audit-logged).
    await alice.says(f"/billing C{b.client.id} vat FR96552100554")
    await alice.presses("Renvoyer")
    assert f"{invoice.number} sera de nouveau transmise" in alice.last_text
    await run_cycle(pa, PA_SELLER, NOW + timedelta(minutes=10))
    assert [f.info["trackingId"] for f in fake_pa.received] == [f"{invoice.number}-1", f"{invoice.number}-2"]
    old, new = fake_pa.received
    refrozen = await InvoiceDocument.get(invoice_id=invoice.id)
    assert old.info["sha256"] == first.sha256 != refrozen.sha256 == new.info["sha256"]
    assert bytes(refrozen.pdf) == new.content
    assert b"FR40303265045" in xml_of(old.content) and b"FR96552100554" in xml_of(new.content)
    assert (await Invoice.get(id=invoice.id)).number == invoice.number
    log = await AuditLog.get(entity="invoice", entity_id=str(invoice.id), action="pa_resubmit")
    assert log.before == {"sha256": first.sha256}
    assert log.after == {"tracking_id": f"{invoice.number}-2", "sha256": refrozen.sha256, "refrozen": True}
    # The platform takes it and the buyer approves it: the owner sees it on the card.
    fake_pa.ack(new.flow_id, "Ok")
    fake_pa.emit_status(invoice.number or "", 205, at=NOW + timedelta(hours=1))
    await run_cycle(pa, PA_SELLER, NOW + timedelta(hours=1, minutes=5))
    assert (await PaInvoice.get(invoice_id=invoice.id)).status_code == 205
    await alice.says(f"/invoice {invoice.number}")
    assert "Approuvée" in alice.last_text or "approuvée" in alice.last_text


async def test_an_emailed_invoice_rejected_by_the_platform_goes_again_unchanged(
    chat: ChatHarness, settings: Settings, fake_pa: FakePA, pa: PaClient
) -> None:
    """The buyer already holds the emailed PDF: the document is never changed; a content
    correction needs a credit note and a new invoice (the owner is told)."""
    b = await make_billing(telegram_base=700)
    alice = Person(chat, 701, "alice", "fr")
    await PaAddressing.create(contact_id=b.client.id, also_email=True)
    draft = await draft_from_deal(b.alice, b.deal.id, PA_SELLER)
    invoice = (await issue_invoice(b.alice, draft.id, PA_SELLER, TODAY, render=RENDER)).invoice
    await OutboxEmail.filter(invoice_id=invoice.id).update(status=OutboxStatus.SENT)
    await run_cycle(pa, PA_SELLER, NOW)
    fake_pa.ack(
        fake_pa.received[0].flow_id,
        "Error",
        [
            {
                "level": "Error",
                "item": "BT-48",
                "reasonCode": "InvalidSchema",
                "reasonMessage": "Buyer VAT number unknown",
            }
        ],
    )
    await run_cycle(pa, PA_SELLER, NOW + timedelta(minutes=5))
    await deliver(chat, settings)
    frozen = await InvoiceDocument.get(invoice_id=invoice.id)
    await alice.says(f"/billing C{b.client.id} vat FR96552100554")
    await alice.presses("Renvoyer")
    assert "sans changement" in alice.last_text and "avoir" in alice.last_text
    await run_cycle(pa, PA_SELLER, NOW + timedelta(minutes=10))
    old, new = fake_pa.received
    assert old.content == new.content == bytes(frozen.pdf)
    assert new.info["sha256"] == (await InvoiceDocument.get(invoice_id=invoice.id)).sha256
