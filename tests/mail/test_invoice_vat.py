"""Invoices of every VAT category, with discounts, references and credit notes: the PDF
prints the law's wording, the Factur-X XML carries the codes, the EN 16931 schematron
(Saxon-HE) passes on each."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

import facturx
import pdfplumber
import pytest
from lxml import etree
from pypdf import PdfReader

from mail.documents.invoice import invoice_document
from storage.contacts import set_billing
from storage.errors import InvalidInput
from storage.invoice_details import (
    parse_discount,
    set_invoice_discount,
    set_line_discount,
    set_period,
    set_references,
)
from storage.invoicing import add_invoice_line, credit_invoice, draft_for_contact, issue_invoice
from storage.models import Invoice, NumberCounter, SupplyNature
from storage.products import create_product
from tests.billing_data import RENDER, SELLER, Billing, make_billing
from tests.mail.test_invoice_document import NS, cents, failed_asserts, one, schematron
from tests.mail.test_invoice_layout import overlaps

__all__ = ["schematron"]  # the module-scoped fixture, shared with the document tests

TODAY = date(2026, 11, 20)
RATES = list(SELLER.vat_rates_bp)


async def catalogue(b: Billing) -> None:
    await create_product(
        b.boss,
        sku="AUDIT",
        name="Audit de sécurité",
        unit_price_cents=800_00,
        vat_rate_bp=2000,
        allowed_vat_bp=RATES,
        unit="day",
        nature=SupplyNature.SERVICES,
    )
    await create_product(
        b.boss,
        sku="TRAINING",
        name="Formation professionnelle",
        unit_price_cents=1200_00,
        vat_rate_bp=0,
        allowed_vat_bp=RATES,
        nature=SupplyNature.SERVICES,
        vat_exemption="VATEX-FR-CGI261-4",
    )
    await create_product(
        b.boss,
        sku="FEES",
        name="Frais de greffe refacturés",
        unit_price_cents=39_42,
        vat_rate_bp=0,
        allowed_vat_bp=RATES,
        nature=SupplyNature.SERVICES,
        vat_exemption="VATEX-EU-O",
    )


async def invoice_for(b: Billing, lines: list[tuple[str, str]], **billing: str | None) -> Invoice:
    if billing:
        await set_billing(b.alice, b.client.id, **billing)
    draft = await draft_for_contact(b.alice, b.client.id, SELLER)
    for sku, qty in lines:
        await add_invoice_line(b.alice, draft.id, sku, Decimal(qty), SELLER)
    return draft


async def render(invoice_id: int) -> tuple[etree._Element, bytes, str]:
    pdf = await invoice_document(invoice_id, SELLER)
    xml = facturx.get_xml_from_pdf(pdf, check_xsd=True)[1]
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    with pdfplumber.open(io.BytesIO(pdf)) as document:  # nothing overprinted, on any layout
        assert [overlaps(page.chars) for page in document.pages] == [[]] * len(document.pages)
    return etree.fromstring(xml), xml, " ".join(text.split())  # wrapped lines read as one


def breakdown(root: etree._Element) -> dict[str, tuple[str, str | None, str | None]]:
    rows = root.xpath("//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax", namespaces=NS)
    return {
        one(t, "ram:CategoryCode"): (
            t.findtext("ram:RateApplicablePercent", namespaces=NS),
            t.findtext("ram:ExemptionReasonCode", namespaces=NS),
            t.findtext("ram:ExemptionReason", namespaces=NS),
        )
        for t in rows
    }


CASES = [
    # (client billing data, lines, category, VATEX code, printed wording)
    (
        {"country": "DE", "vat_number": "DE136695976"},
        [("WIDGET", "10")],
        "K",
        "VATEX-EU-IC",
        "Exonération de TVA, article 262 ter I du CGI",
    ),
    (
        {"country": "BE", "vat_number": "BE0403019261"},
        [("AUDIT", "2")],
        "AE",
        "VATEX-EU-AE",
        "Autoliquidation, article 283-2 du CGI",
    ),
    (
        {"country": "US", "vat_number": None},
        [("WIDGET", "4"), ("BOOK", "1")],
        "G",
        "VATEX-EU-G",
        "Exonération de TVA, article 262 I du CGI",
    ),
    (
        {"country": "CH", "vat_number": None},
        [("AUDIT", "1")],
        "O",
        "VATEX-EU-O",
        "TVA non applicable, article 259-1 du CGI",
    ),
    ({}, [("FEES", "1")], "O", "VATEX-EU-O", "Opération hors du champ d'application de la TVA"),
    ({}, [("TRAINING", "3")], "E", "VATEX-FR-CGI261-4", "Exonération de TVA, article 261-4 du CGI"),
]


@pytest.mark.parametrize(("billing", "lines", "category", "code", "wording"), CASES)
async def test_every_vat_category_prints_the_law_and_passes_the_schematron(
    db: str,
    schematron: Any,
    billing: dict[str, str | None],
    lines: list[tuple[str, str]],
    category: str,
    code: str,
    wording: str,
) -> None:
    b = await make_billing()
    await catalogue(b)
    draft = await invoice_for(b, lines, **billing)
    inv = (await issue_invoice(b.alice, draft.id, SELLER, TODAY, render=RENDER)).invoice
    root, xml, text = await render(inv.id)
    rate = None if category == "O" else "0.00"  # BR-O-05: no rate outside the scope
    assert breakdown(root) == {category: (rate, code, wording)}
    assert {
        e.text for e in root.xpath("//ram:SpecifiedLineTradeSettlement//ram:CategoryCode", namespaces=NS)
    } == {category}
    assert inv.total_vat_cents == 0 and inv.total_gross_cents == inv.total_net_cents
    assert f"{category} : {wording}" in text
    assert failed_asserts(schematron, xml) == []
    if category == "O":  # BR-O-02: no VAT identifier on an invoice outside the scope
        assert not root.xpath("//ram:SpecifiedTaxRegistration", namespaces=NS)
    if category == "K":  # BR-IC-12: the deliver-to country
        assert one(root, "//ram:ShipToTradeParty//ram:CountryID") == "DE"
    # A credit note of it carries the same category and passes too.
    credit = await credit_invoice(b.alice, inv.number or "", "Erreur de prix", SELLER, TODAY, render=RENDER)
    root, xml, _ = await render(credit.id)
    assert breakdown(root) == {category: (rate, code, wording)}
    assert failed_asserts(schematron, xml) == []


async def test_standard_rates_for_french_and_eu_consumers(db: str, schematron: Any) -> None:
    b = await make_billing()
    await catalogue(b)
    # A German private person: French VAT (S), not an intra-community supply.
    from storage.contacts import NewContact, create_contact
    from storage.models import ContactKind

    person = await create_contact(b.alice, NewContact("Hans Muster", kind=ContactKind.PERSON), region="FR")
    await set_billing(b.alice, person.id, country="DE", billing_address="Hauptstr. 1\n10115 Berlin")
    draft = await draft_for_contact(b.alice, person.id, SELLER)
    await add_invoice_line(b.alice, draft.id, "WIDGET", Decimal(2), SELLER)
    await add_invoice_line(b.alice, draft.id, "AUDIT", Decimal(1), SELLER)
    inv = (await issue_invoice(b.alice, draft.id, SELLER, TODAY, render=RENDER)).invoice
    root, xml, text = await render(inv.id)
    assert breakdown(root) == {"S": ("20.00", None, None)}
    assert "Nature de l'opération : livraison de biens et prestation de services" in text
    assert "frais de recouvrement" not in text  # a consumer owes no fixed recovery indemnity
    assert "40,00\u202f€" not in text and "40,00\xa0€" not in text
    assert failed_asserts(schematron, xml) == []


async def test_intra_community_supply_without_vat_number_is_refused(db: str) -> None:
    b = await make_billing()
    draft = await invoice_for(b, [("WIDGET", "1")], country="DE", vat_number=None)
    with pytest.raises(InvalidInput) as caught:
        await issue_invoice(b.alice, draft.id, SELLER, TODAY, render=RENDER)
    assert caught.value.code == "invoice_needs_vat_goods"
    assert (await Invoice.get(id=draft.id)).number is None
    assert not await NumberCounter.filter(series="F", last_value__gt=0).exists()


async def test_discounts_references_period_and_mentions(db: str, schematron: Any) -> None:
    b = await make_billing()
    await catalogue(b)
    draft = await invoice_for(b, [("WIDGET", "3"), ("BOOK", "2.5"), ("AUDIT", "1.5")])
    await set_line_discount(b.alice, draft.id, 1, parse_discount("10 %"), "Remise volume", SELLER.country)
    await set_line_discount(b.alice, draft.id, 3, parse_discount("25"), "Geste commercial", SELLER.country)
    await set_invoice_discount(b.alice, draft.id, parse_discount("5%"), "Client fidèle", SELLER.country)
    await set_references(b.alice, draft.id, purchase_order="PO-4471", buyer_reference="SERVICE ACHATS 12")
    await set_period(b.alice, draft.id, date(2026, 11, 1), date(2026, 11, 30))
    await set_billing(b.alice, b.client.id, delivery_address="Entrepôt 4\n69800 Saint-Priest")
    inv = (await issue_invoice(b.alice, draft.id, SELLER, TODAY, render=RENDER)).invoice
    # Lines: 3 × 12.34 = 37.02 − 10 % (3.70) = 33.32 · 2.5 × 19.99 = 49.98 (5.5 %) ·
    # 1.5 × 800 = 1,200.00 − 25.00 = 1,175.00. At 20 %: 1,208.32; at 5.5 %: 49.98.
    # 5 % of 1,258.30 = 62.92 (half-up), shared 60.42 / 2.50 pro rata (60.4152 / 2.499).
    assert (inv.total_allowance_cents, inv.total_net_cents) == (62_92, 1195_38)
    assert inv.total_vat_cents == 229_58 + 2_61  # 1,147.90 × 20 % and 47.48 × 5.5 %
    assert inv.total_gross_cents == inv.total_net_cents + inv.total_vat_cents
    root, xml, text = await render(inv.id)
    assert failed_asserts(schematron, xml) == []
    total = "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/"
    assert cents(one(root, total + "ram:LineTotalAmount")) == 1258_30
    assert cents(one(root, total + "ram:AllowanceTotalAmount")) == 62_92
    allowances = root.xpath(
        "//ram:ApplicableHeaderTradeSettlement/ram:SpecifiedTradeAllowanceCharge", namespaces=NS
    )
    assert [
        (
            cents(one(a, "ram:ActualAmount")),
            one(a, "ram:Reason"),
            one(a, "ram:CategoryTradeTax/ram:RateApplicablePercent"),
        )
        for a in allowances
    ] == [(60_42, "Client fidèle", "20.00"), (2_50, "Client fidèle", "5.50")]
    line_allowances = [
        cents(e.text)
        for e in root.xpath(
            "//ram:SpecifiedLineTradeSettlement/ram:SpecifiedTradeAllowanceCharge/ram:ActualAmount",
            namespaces=NS,
        )
    ]
    assert line_allowances == [3_70, 25_00]
    assert one(root, "//ram:BuyerReference") == "SERVICE ACHATS 12"
    assert one(root, "//ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID") == "PO-4471"
    assert one(root, "//ram:BillingSpecifiedPeriod/ram:StartDateTime/udt:DateTimeString") == ("20261101")
    assert one(root, "//ram:ShipToTradeParty//ram:CityName") == "Saint-Priest"
    assert one(root, "//ram:BuyerTradeParty/ram:SpecifiedLegalOrganization/ram:ID") == "552100554"
    for mention in (
        "Votre référence : SERVICE ACHATS 12",
        "Votre commande n° : PO-4471",
        "du 1 novembre 2026 au 30 novembre 2026",
        "Livré à",
        "Saint-Priest",
        "Remise : Remise volume",
        "Remise globale de 5 % : Client fidèle",
        "Total lignes HT",
        "Nature de l'opération : livraison de biens et prestation",
        "SIREN 552 100 554",
    ):
        assert mention in text, mention
    credit = await credit_invoice(b.alice, inv.number or "", "Annulation", SELLER, TODAY, render=RENDER)
    assert (credit.total_gross_cents, credit.purchase_order) == (inv.total_gross_cents, "PO-4471")
    root, xml, _ = await render(credit.id)
    assert failed_asserts(schematron, xml) == []


async def test_vat_on_debits_is_printed_when_the_company_opted(db: str) -> None:
    from dataclasses import replace

    b = await make_billing()
    draft = await invoice_for(b, [("SETUP", "1")])
    inv = (await issue_invoice(b.alice, draft.id, SELLER, TODAY, render=RENDER)).invoice
    plain = PdfReader(io.BytesIO(await invoice_document(inv.id, SELLER))).pages[0].extract_text()
    assert "débits" not in plain
    opted = replace(SELLER, vat_on_debits=True)
    text = PdfReader(io.BytesIO(await invoice_document(inv.id, opted))).pages[0].extract_text()
    assert "Option pour le paiement de la TVA d'après les débits" in text
