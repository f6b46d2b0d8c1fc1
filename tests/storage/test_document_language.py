"""What a client reads comes from the catalogues in the client's language, money by Babel:
the invoice email, the reminders of each level, the invoice PDF's labels and mentions, the
purchase order PDF. A French client reads `1 234,56 €`, an English one `€1,234.56`; never a
hand-made `1 234,56 EUR`."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pypdf import PdfReader

from mail.documents.purchase_order import POData, POLine, render_purchase_order_pdf
from storage.collections import Company, dunning_email
from storage.documents import frozen_pdf
from storage.formatting import fmt_money
from storage.invoicing import draft_from_deal, issue_invoice
from storage.models import Contact, OutboxEmail, Product, PurchaseOrder, PurchaseOrderLine, Role
from storage.purchasing import send_po
from storage.users import create_user
from tests.billing_data import RENDER, SELLER, make_billing

TODAY = date(2026, 11, 20)
FRENCH_MONEY = re.compile(r"\d,\d\d\xa0€")  # 1 234,56 € (narrow space between thousands)
ENGLISH_MONEY = re.compile(r"€\d{1,3}(,\d{3})*\.\d\d")  # €1,234.56

WORDS = {
    "fr": {
        "invoice_email": ("Facture F2026-00001 — ", "Veuillez trouver ci-joint notre facture F2026-00001"),
        "dunning": (
            "Rappel : facture F2026-00001",
            "Deuxième relance",
            "Mise en demeure : facture F2026-00001",
        ),
        "pdf": (
            "FACTURE N° F2026-00001",
            "Date d'échéance",
            "Récapitulatif TVA",
            "Total TTC",
            "Net à payer",
            "Paiement par virement SEPA",
            "frais de recouvrement : 40,00 €",
        ),
        "absent": ("Invoice", "Reminder", "Due date", "EUR"),
    },
    "en": {
        "invoice_email": ("Invoice F2026-00001 — ", "Please find attached our invoice F2026-00001"),
        "dunning": ("Reminder: invoice F2026-00001", "Second reminder", "Formal notice: invoice F2026-00001"),
        "pdf": (
            "INVOICE No. F2026-00001",
            "Due date",
            "VAT breakdown",
            "Total incl. VAT",
            "Amount due",
            "Payment by SEPA credit transfer",
            "Fixed recovery indemnity of €40.00",
        ),
        "absent": ("Facture", "Rappel", "échéance", "EUR"),
    },
}


def _pdf_text(pdf: bytes) -> str:
    return " ".join(" ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(pdf)).pages)


@pytest.mark.parametrize("lang", ["fr", "en"])
async def test_a_clients_emails_and_invoice_pdf_speak_its_language_with_babel_money(
    db: str, lang: str
) -> None:
    words, money = WORDS[lang], FRENCH_MONEY if lang == "fr" else ENGLISH_MONEY
    b = await make_billing(lang=lang)
    draft = await draft_from_deal(b.alice, b.deal.id, SELLER)
    invoice = (await issue_invoice(b.alice, draft.id, SELLER, TODAY, render=RENDER)).invoice
    gross = fmt_money(invoice.total_gross_cents, "EUR", lang)
    assert money.search(gross), gross

    email = await OutboxEmail.get(purpose="invoice")
    subject, opening = words["invoice_email"]
    assert email.subject.startswith(subject)
    assert opening in email.body_text and gross in email.body_text
    assert opening in (email.body_html or "") and gross in (email.body_html or "")

    contact = await Contact.get(id=invoice.contact_id)
    reminders = [dunning_email(level, invoice, contact, Company.of_seller(SELLER)) for level in (1, 2, 3)]
    for (subject, body), expected in zip(reminders, words["dunning"], strict=True):
        assert expected in subject
        assert gross in body and money.search(body)
    assert fmt_money(4000, "EUR", lang) in reminders[2][1]  # the fixed indemnity, by Babel too

    text = _pdf_text(await frozen_pdf(invoice.id, RENDER))
    for label in words["pdf"]:
        assert label in text, label
    assert " ".join(gross.split()) in text
    for email_text in (email.subject, email.body_text, *reminders[0], *reminders[2]):
        for absent in words["absent"]:
            assert absent not in email_text, (absent, email_text)
    for absent in words["absent"]:
        assert absent not in text, absent


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("fr", ("BON DE COMMANDE PO7", "Livraison souhaitée", "Réf.", "Quantité", "en répondant à achats@")),
        ("en", ("PURCHASE ORDER PO7", "Expected delivery", "SKU", "Quantity", "by replying to achats@")),
    ],
)
def test_a_purchase_order_pdf_speaks_the_suppliers_language(lang: str, expected: tuple[str, ...]) -> None:
    doc = POData(
        number="PO7",
        issue_date=TODAY,
        expected_date=date(2026, 12, 1),
        lang=lang,
        buyer_name="Entonnoir SAS",
        buyer_address="1 rue de la Paix\n75002 Paris",
        buyer_email="achats@entonnoir.example",
        supplier_name="Ressorts SARL",
        supplier_address="2 rue Haute\n69001 Lyon",
        lines=(
            POLine("WIDGET", "Widget à ressort", "pc", Decimal(20)),
            POLine("BOLT", "Boulon", "kg", Decimal("1250.500")),
        ),
    )
    text = _pdf_text(render_purchase_order_pdf(doc))
    for words in expected:
        assert words in text, words
    # Quantities in the supplier's number format (Babel), trailing zeros dropped.
    flat = text.replace("\u202f", " ").replace("\xa0", " ")
    assert ("1 250,5" if lang == "fr" else "1,250.5") in flat
    assert ("1 décembre 2026" if lang == "fr" else "1 December 2026") in text


@pytest.mark.parametrize(
    ("lang", "subject", "opening"),
    [
        ("fr", "Bon de commande PO", "Veuillez trouver ci-joint notre bon de commande PO"),
        ("en", "Purchase order PO", "Please find attached our purchase order PO"),
    ],
)
async def test_a_purchase_order_email_speaks_the_suppliers_language(
    db: str, lang: str, subject: str, opening: str
) -> None:
    buyer = await create_user("paula", Role.PURCHASING, telegram_id=5)
    supplier = await Contact.create(
        name="Acier SARL", owner=buyer, email="ventes@acier.example", invoice_language=lang
    )
    bolt = await Product.create(sku="BOLT", name="Bolt", unit_price_cents=100, supplier=supplier)
    po = await PurchaseOrder.create(supplier=supplier)
    await PurchaseOrderLine.create(order=po, product=bolt, quantity=Decimal(6), unit_price_cents=100)
    now = datetime(2026, 11, 20, 9, tzinfo=UTC)
    await send_po(
        buyer, po.id, TODAY, now, company_name="Entonnoir", company_email="achats@entonnoir.example"
    )
    email = await OutboxEmail.get(purpose="purchase_order")
    assert email.subject == f"{subject}{po.id} — Entonnoir"
    assert email.body_text.startswith(("Bonjour,", "Hello,")[lang == "en"])
    assert f"{opening}{po.id}." in email.body_text and email.body_text.endswith("\nEntonnoir")
