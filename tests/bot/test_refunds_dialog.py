"""Credit notes in the chat: lists that say what they count, refunds to make, /refunded."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from storage.models import Invoice, InvoiceStatus, Refund, RefundStatus, Role
from tests.bot.test_invoices_dialog import catalogue, client_with_deal
from tests.harness import ChatHarness

YEAR = datetime.now(ZoneInfo("Europe/Paris")).year
F1, A1 = f"F{YEAR}-00001", f"A{YEAR}-00001"


def plain(text: str) -> str:
    return text.replace("\u202f", " ").replace("\xa0", " ")


async def test_crediting_a_paid_invoice_shows_a_refund_until_it_is_made(chat: ChatHarness) -> None:
    boss = await catalogue(chat)
    alice = await chat.user("alice", Role.SALES)
    clara = await chat.user("clara", Role.COLLECTIONS)
    _, deal = await client_with_deal(chat, alice)
    await alice.says(f"/addline D{deal} | WIDGET | 1")
    await alice.says(f"/won D{deal}")
    await alice.says(f"/invoice D{deal}")
    await alice.presses("Issue")
    inv = await Invoice.get(number=F1)
    await Invoice.filter(id=inv.id).update(paid_cents=inv.total_gross_cents, status=InvoiceStatus.PAID)
    await alice.says(f"/creditnote {F1} Client never received the goods")
    assert f"Credit note <b>{A1}</b> issued" in alice.last_text
    assert "€14.81 is owed back to the client" in plain(alice.last_text)
    assert f"/refunded {A1}" in alice.last_text

    await clara.says("/collections")
    text = plain(clara.last_text)
    assert "No open collection task." in text and "Refunds to make" in text
    assert f"{A1} (cancels {F1}) — ACME SA — €14.81 to pay back" in text
    await alice.says("/invoices refunds")  # a salesperson does not handle refunds
    assert alice.last_text == "No refund to make."
    await alice.says(f"/refunded {A1}")
    assert "Only collections staff and managers" in alice.last_text
    await boss.says("/invoices")
    text = plain(boss.last_text)
    assert f"{A1} — ACME SA — -€14.81 — credit note" in text and f"{F1} — ACME SA" in text
    assert "Net invoiced: €0.00" in text and "an invoice cancelled by its credit note" in text
    await boss.says("/invoices open")
    assert boss.last_text == "No invoice."

    await clara.says(f"/refunded {A1}")
    assert f"Refund of €14.81 for {A1} recorded as made." in plain(clara.last_text)
    assert (await Refund.get()).status == RefundStatus.DONE
    await clara.says(f"/refunded {A1}")
    assert "already recorded as made" in clara.last_text
    await clara.says("/invoices refunds")
    assert clara.last_text == "No refund to make."
    await clara.says(f"/refunded {F1}x")
    assert clara.last_text  # one sentence, nothing written
    assert await Refund.filter(status=RefundStatus.OWED).count() == 0
