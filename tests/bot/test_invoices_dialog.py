"""Dialogs about products, deal lines, invoices and credit notes, through the real Application."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import facturx

from bot.settings import Settings
from storage.models import (
    Contact,
    ContactKind,
    Deal,
    DealLine,
    Invoice,
    InvoiceStatus,
    OutboxEmail,
    Product,
    Role,
)
from tests.harness import ChatHarness, Person

YEAR = datetime.now(ZoneInfo("Europe/Paris")).year
F1 = f"F{YEAR}-00001"


async def catalogue(chat: ChatHarness) -> Person:
    boss = await chat.user("boss", Role.MANAGER)
    await boss.says("/newproduct WIDGET | Widget à ressort | 12,34 | 20 | unit")
    assert "WIDGET" in boss.last_text and "created" in boss.last_text
    await boss.says("/newproduct BOOK | Livre | 19,99 | 5,5 | unit")
    return boss


async def client_with_deal(chat: ChatHarness, alice: Person, *, email: bool = True) -> tuple[int, int]:
    await alice.says("/newcontact Ann Martin | +33612345678 | ann@acme.example | ACME SA")
    acme = await Contact.get(name="ACME SA", kind=ContactKind.COMPANY)
    ann = await Contact.get(name="Ann Martin")
    await alice.says(f"/billing C{acme.id} address 3 rue Neuve, 69001 Lyon")
    assert "C" + str(acme.id) in alice.last_text and "3 rue Neuve, 69001 Lyon" in alice.last_text
    assert (await Contact.get(id=acme.id)).billing_address == "3 rue Neuve\n69001 Lyon"
    if email:
        await alice.says(f"/billing C{acme.id} email Compta@ACME.example")
    await alice.says(f"/billing C{acme.id} vat FR40303265045")
    await alice.says(f"/newdeal C{ann.id} | Commande | 100")
    deal = await Deal.filter(title="Commande").order_by("-id").first()
    assert deal is not None
    return acme.id, deal.id


async def test_products_are_created_by_managers_only(chat: ChatHarness) -> None:
    await catalogue(chat)
    alice = await chat.user("alice", Role.SALES)
    await alice.says("/newproduct X1 | Thing | 1 | 20")
    assert "Only managers" in alice.last_text
    boss = await chat.user("boss2", Role.MANAGER)
    await boss.says("/newproduct X2 | Thing | 1 | 19,6")
    assert "not a configured VAT rate" in boss.last_text and "5.5 %" in boss.last_text
    assert not await Product.filter(sku__in=["X1", "X2"]).exists()
    await alice.says("/products widg")
    assert "WIDGET" in alice.last_text and "BOOK" not in alice.last_text


async def test_lines_with_bad_input_then_remove_button(chat: ChatHarness) -> None:
    await catalogue(chat)
    alice = await chat.user("alice", Role.SALES)
    _, deal = await client_with_deal(chat, alice)
    await alice.says(f"/addline D{deal} | WIDGET | 3")
    assert "Line added" in alice.last_text and "€37.02" in alice.last_text
    await alice.says(f"/addline D{deal} | NOPE | 1")
    assert alice.last_text == "No active product with SKU “NOPE”."
    await alice.says(f"/addline D{deal} | BOOK | 0")
    assert "is not a quantity" in alice.last_text
    await alice.says(f"/addline D{deal} | BOOK | -2")
    assert "is not a quantity" in alice.last_text
    assert await DealLine.all().count() == 1
    await alice.says(f"/addline D{deal} | BOOK | 2,5")
    await alice.says(f"/lines D{deal}")
    assert "Deal amount: €87.00" in alice.last_text  # 37.02 + 49.98
    await alice.presses("Remove line 1")
    assert await DealLine.all().count() == 1
    assert "€49.98" in alice.last_text and "WIDGET" not in alice.last_text


async def test_won_deal_to_issued_invoice_sent_pdf_and_credit_note(chat: ChatHarness) -> None:
    await catalogue(chat)
    alice = await chat.user("alice", Role.SALES, lang="fr")
    _, deal = await client_with_deal(chat, alice)
    await alice.says(f"/addline D{deal} | WIDGET | 3")
    await alice.says(f"/addline D{deal} | BOOK | 2,5")
    await alice.says(f"/invoice D{deal}")
    assert "pas encore gagnée" in alice.last_text
    assert await Invoice.all().count() == 0
    await alice.says(f"/won D{deal}")
    await alice.says(f"/invoice D{deal}")
    assert "Brouillon de facture" in alice.last_text and "ACME SA" in alice.last_text
    assert "Total TTC 97,15" in alice.last_text.replace("\u202f", " ").replace("\xa0", " ")
    assert {"✅ Émettre", "📅 Changer l'échéance", "✖ Annuler"} <= set(alice.buttons())
    await alice.presses("Changer l'échéance")
    assert "60 au plus" in alice.last_text
    await alice.says("75")
    assert "entre 0 et 60 jours" in alice.last_text
    await alice.says("45")
    assert "45 jours" in alice.all_text
    await alice.presses("Émettre")
    assert f"Facture <b>{F1}</b> émise" in alice.last_text
    assert "compta@acme.example" in alice.last_text and "en file d'envoi" in alice.last_text
    inv = await Invoice.get(number=F1)
    assert inv.status == InvoiceStatus.ISSUED and inv.payment_terms_days == 45
    assert await OutboxEmail.filter(invoice_id=inv.id).count() == 1
    await alice.says(f"/send {F1}")
    assert "attend déjà son envoi" in alice.last_text
    assert await OutboxEmail.filter(invoice_id=inv.id).count() == 1
    await alice.says("/invoices open")
    assert F1 in alice.last_text and "Reste dû : 97,15" in alice.last_text.replace("\u202f", " ").replace(
        "\xa0", " "
    )
    await alice.says(f"/invoicepdf {F1}")
    doc = next(s for s in alice.replies if s.method == "sendDocument")
    filename, content = next(iter(doc.files.values()))
    assert filename == f"{F1}.pdf"
    assert F1.encode() in facturx.get_xml_from_pdf(content, check_xsd=True)[1]
    await alice.says(f"/creditnote {F1}")
    assert "Indiquez pourquoi" in alice.last_text
    await alice.says(f"/creditnote {F1} Erreur de prix")
    assert f"Avoir <b>A{YEAR}-00001</b> émis" in alice.last_text
    assert (await Invoice.get(id=inv.id)).status == InvoiceStatus.CANCELLED


async def test_send_without_billing_email_offers_the_contacts_email(chat: ChatHarness) -> None:
    await catalogue(chat)
    alice = await chat.user("alice", Role.SALES)
    acme, deal = await client_with_deal(chat, alice, email=False)
    await alice.says(f"/addline D{deal} | WIDGET | 1")
    await alice.says(f"/won D{deal}")
    await alice.says(f"/invoice D{deal}")
    await alice.presses("Issue")
    assert "No email was queued" in alice.last_text and f"/billing C{acme} email" in alice.last_text
    assert "Bill at ann@acme.example?" in alice.last_text  # the person's email, offered
    await alice.says(f"/send {F1}")
    assert alice.last_text == f"C{acme} ACME SA has no billing email. Bill at ann@acme.example?"
    assert alice.buttons() == ["✔ Bill at this address"]
    assert await OutboxEmail.all().count() == 0
    assert (await Contact.get(id=acme)).billing_email is None  # nothing until confirmed
    await alice.presses("Bill at this address")
    assert f"Billing email of C{acme} ACME SA: ann@acme.example." in alice.last_text
    assert "is queued" in alice.last_text
    assert (await Contact.get(id=acme)).billing_email == "ann@acme.example"
    assert [e.to_addrs for e in await OutboxEmail.all()] == [["ann@acme.example"]]
    await alice.presses("Bill at this address")  # a late second press: one sentence, no email
    assert "has no email to offer" in alice.last_text
    assert await OutboxEmail.all().count() == 1


async def test_send_without_any_email_names_what_is_missing(chat: ChatHarness) -> None:
    await catalogue(chat)
    alice = await chat.user("alice", Role.SALES)
    await alice.says("/newcontact Bob Durand | +33612345679 | | BOBCO")
    bob = await Contact.get(name="BOBCO", kind=ContactKind.COMPANY)
    await alice.says(f"/billing C{bob.id} address 1 rue Haute, 75001 Paris")
    await alice.says(f"/billing C{bob.id}")
    assert alice.last_text.startswith(f"<b>Billing data of C{bob.id} BOBCO</b>")
    assert "updated" not in alice.last_text and not alice.buttons()
    await alice.says(f"/newinvoice C{bob.id}")
    inv = await Invoice.get()
    await alice.says(f"/addline I{inv.id} | WIDGET | 1")
    await alice.says(f"/issue I{inv.id}")
    await alice.says(f"/send {F1}")
    assert alice.last_text.startswith(f"BOBCO (C{bob.id}) has no billing email")
    await alice.says(f"/billing C{bob.id} email nope@")
    assert "not a valid email address" in alice.last_text
    await alice.says(f"/billing C{bob.id} email compta@bobco.example")
    assert "updated" in alice.last_text
    await alice.says(f"/send {F1}")
    assert "is queued" in alice.last_text
    assert await OutboxEmail.all().count() == 1


async def test_invoice_from_scratch_and_cancel_button(chat: ChatHarness) -> None:
    await catalogue(chat)
    alice = await chat.user("alice", Role.SALES)
    acme, _ = await client_with_deal(chat, alice)
    await alice.says(f"/newinvoice C{acme}")
    inv = await Invoice.get()
    assert f"/addline I{inv.id}" in alice.last_text
    await alice.says(f"/issue I{inv.id}")
    assert "has no line" in alice.last_text
    await alice.says(f"/addline I{inv.id} | BOOK | 2 | 15")
    assert "€31.65" in alice.last_text  # 30.00 + 5.5 % VAT
    await alice.presses("Cancel")
    assert "deleted" in alice.last_text
    assert await Invoice.all().count() == 0


async def test_other_salesperson_and_stranger_see_nothing(chat: ChatHarness) -> None:
    await catalogue(chat)
    alice = await chat.user("alice", Role.SALES)
    _, deal = await client_with_deal(chat, alice)
    await alice.says(f"/addline D{deal} | WIDGET | 1")
    await alice.says(f"/won D{deal}")
    await alice.says(f"/invoice D{deal}")
    inv = await Invoice.get()
    bob = await chat.user("bob", Role.SALES)
    await bob.says(f"/issue I{inv.id}")
    assert "No invoice" in bob.last_text
    await bob.presses_data(f"inv:issue:{inv.id}")
    assert "No invoice" in bob.last_text
    stranger = chat.stranger()
    await stranger.presses_data(f"inv:issue:{inv.id}")
    assert (await Invoice.get(id=inv.id)).status == InvoiceStatus.DRAFT
    await bob.presses_data("inv:issue:1:2")
    assert "no longer valid" in bob.last_text


def test_seller_carries_the_company_zone(settings: Settings) -> None:
    from bot.seller import seller_from_settings

    seller = seller_from_settings(settings.model_copy(update={"timezone": "America/New_York"}))
    assert seller.zone == "America/New_York" and seller.tz.key == "America/New_York"


async def test_draft_references_period_and_discounts_by_chat(chat: ChatHarness) -> None:
    await catalogue(chat)
    alice = await chat.user("alice", Role.SALES)
    acme, _ = await client_with_deal(chat, alice)
    await alice.says(f"/newinvoice C{acme}")
    inv = await Invoice.get()
    await alice.says(f"/addline I{inv.id} | WIDGET | 10")
    await alice.says(f"/addline I{inv.id} | BOOK | 2")
    await alice.says(f"/invoiceref I{inv.id} PO-4471")
    assert alice.last_text == f"References of I{inv.id}: your order no. PO-4471 · your reference —"
    await alice.presses("Buyer reference")
    assert "buyer reference" in alice.last_text
    await alice.says("x" * 101)
    assert "not a buyer reference" in alice.last_text
    await alice.says("Service <achats> 12")
    assert "your reference Service &lt;achats&gt; 12" in alice.last_text
    await alice.says(f"/period I{inv.id} 01/11/2026 30/11/2026")
    assert "1 Nov 2026 to 30 Nov 2026" in alice.last_text
    await alice.says(f"/period I{inv.id} 30/11/2026 01/11/2026")
    assert "the end not before the start" in alice.last_text
    await alice.says(f"/linediscount I{inv.id} 1 10% volume")
    assert alice.last_text == f"Line 1 of I{inv.id}: discount 10%, net €111.06."  # 123.40 − 12.34
    await alice.says(f"/discount I{inv.id} 5%")
    assert "Say why the discount is granted" in alice.last_text
    await alice.says(f"/discount I{inv.id} 5% client fidèle")
    # Lines 111.06 (20 %) + 39.98 (5.5 %) = 151.04; 5 % = 7.55 → 5.55 / 2.00;
    # 105.51 × 20 % = 21.10, 37.98 × 5.5 % = 2.09; total 143.49 + 23.19 = 166.68.
    assert "Total €166.68" in alice.last_text
    inv = await Invoice.get(id=inv.id)
    assert (inv.purchase_order, inv.buyer_reference) == ("PO-4471", "Service <achats> 12")
    assert (inv.total_allowance_cents, inv.total_gross_cents) == (7_55, 166_68)
    await alice.says(f"/invoice I{inv.id}")
    card = alice.last_text
    for text in (
        "Line 1: discount €12.34 (volume)",
        "Overall discount €7.55: client fidèle",
        "Your order no. PO-4471",
        "Invoicing period: 1 Nov 2026 to 30 Nov 2026",
    ):
        assert text in card, text
    await alice.says(f"/discount I{inv.id} 0")
    assert "no overall discount any more" in alice.last_text


async def test_eu_client_gets_reverse_charge_and_needs_its_vat_number(chat: ChatHarness) -> None:
    boss = await catalogue(chat)
    await boss.says("/newproduct AUDIT | Audit | 800 | 20 | day | services")
    alice = await chat.user("alice", Role.SALES)
    await alice.says("/newcontact Bert Peeters | +32470123456 | bert@brux.example | BRUX NV")
    brux = await Contact.get(name="BRUX NV", kind=ContactKind.COMPANY)
    await alice.says(f"/billing C{brux.id} address Rue Haute 5, 1000 Bruxelles, Belgique")
    await alice.says(f"/billing C{brux.id} country BE")
    await alice.says(f"/billing C{brux.id} vat DE136695976")
    assert "is not one of BE" in alice.last_text
    await alice.says(f"/newinvoice C{brux.id}")
    inv = await Invoice.get()
    await alice.says(f"/addline I{inv.id} | AUDIT | 1")
    assert "0% AE" in alice.last_text
    await alice.says(f"/issue I{inv.id}")
    assert (
        f"reverse charged only with the client's VAT number. Add it with /billing C{brux.id} vat"
        in alice.last_text
    )
    assert (await Invoice.get(id=inv.id)).status == InvoiceStatus.DRAFT
    await alice.says(f"/billing C{brux.id} vat BE0403019261")
    await alice.says(f"/issue I{inv.id}")
    inv = await Invoice.get(id=inv.id)
    assert inv.status == InvoiceStatus.ISSUED and inv.total_gross_cents == 800_00
    await alice.says(f"/invoice {inv.number}")
    assert "VAT AE: Reverse charge" in alice.last_text
