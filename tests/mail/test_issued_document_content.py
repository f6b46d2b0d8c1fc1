"""What issued documents say: a credit note asks for no payment; a specimen says so.

PDF text read back with pypdf, XML extracted with the factur-x library (XSD-checked) and
run through the EN 16931 schematron (Saxon-HE), as for invoices.
"""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import facturx
from lxml import etree
from pypdf import PdfReader

from bot.seller import DEMO_IDENTITY, company_from_settings, seller_from_settings
from bot.settings import Settings
from mail.documents import Buyer, DocLine, InvoiceData, render_invoice_pdf
from mail.documents.facturx_xml import SPECIMEN_PROCESS
from mail.documents.invoice import SPECIMEN_MARK
from storage.documents import frozen_pdf
from storage.invoicing import (
    compute_totals,
    credit_invoice,
    draft_from_deal,
    issue_invoice,
    line_net,
    rf_reference,
)
from tests.billing_data import RENDER, SELLER, make_billing
from tests.mail.test_invoice_document import NS, failed_asserts, schematron

__all__ = ["schematron"]  # the module-scoped fixture, shared

TODAY = date(2026, 11, 20)


def _text(pdf: bytes) -> list[str]:
    return [" ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(pdf)).pages]


async def test_a_credit_note_carries_no_payment_terms_of_a_debt(db: str, schematron: Any) -> None:
    b = await make_billing()
    draft = await draft_from_deal(b.alice, b.deal.id, SELLER)
    inv = (await issue_invoice(b.alice, draft.id, SELLER, TODAY, render=RENDER)).invoice
    credit = await credit_invoice(b.alice, inv.number or "", "Erreur", SELLER, TODAY, render=RENDER)
    pdf = await frozen_pdf(credit.id, RENDER)
    (page,) = _text(pdf)
    assert "AVOIR" in page and "annule la facture F2026-00001" in page
    for absent in (
        "échéance",
        "IBAN",
        "Référence à rappeler",
        "pénalités",
        "Indemnité forfaitaire",
        "escompte",
        "Scannez",
    ):
        assert absent.lower() not in page.lower(), absent
    xml = facturx.get_xml_from_pdf(pdf, check_xsd=True)[1]
    root = etree.fromstring(xml)
    for path in (
        "//ram:PaymentReference",
        "//ram:SpecifiedTradeSettlementPaymentMeans",
        "//ram:DueDateDateTime",
        "//ram:IncludedNote[ram:SubjectCode='PMT']",
    ):
        assert root.xpath(path, namespaces=NS) == [], path
    assert failed_asserts(schematron, xml) == []
    # The invoice it cancels still has all of them.
    invoice_pdf = await frozen_pdf(inv.id, RENDER)
    assert "Indemnité forfaitaire" in _text(invoice_pdf)[0]
    assert b"<ram:DueDateDateTime>" in facturx.get_xml_from_pdf(invoice_pdf, check_xsd=False)[1]


def _long_invoice(seller: Any, count: int = 80) -> InvoiceData:
    lines = tuple(
        DocLine(i, f"Article {i}", Decimal(1), "unit", 10_00, 2000, line_net(Decimal(1), 10_00))
        for i in range(1, count + 1)
    )
    return InvoiceData(
        number="F2026-00009",
        issue_date=TODAY,
        due_date=TODAY + timedelta(days=30),
        sale_date=TODAY,
        seller=seller,
        buyer=Buyer("ACME SA", "3 rue Neuve\n69001 Lyon"),
        lines=lines,
        totals=compute_totals((ln.net_cents, ln.vat_rate_bp) for ln in lines),
        rf_reference=rf_reference("F2026-00009"),
    )


def test_the_console_without_an_identity_runs_a_specimen(tmp_path: Any) -> None:
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite://{tmp_path}/x.db",  # type: ignore[call-arg]
        timezone="Europe/Paris",
    )
    seller = seller_from_settings(settings)
    assert seller.specimen and seller.iban == DEMO_IDENTITY["iban"] and seller.name.endswith("(spécimen)")
    real = seller_from_settings(
        settings.model_copy(
            update={
                "company_name": SELLER.name,
                "company_address": SELLER.address,
                "company_siren": SELLER.siren,
                "company_iban": SELLER.iban,
                "company_email": SELLER.email,
                "company_vat": SELLER.vat,
            }
        )
    )
    assert not real.specimen and real.iban == SELLER.iban


def test_every_page_of_a_specimen_says_so_and_its_xml_is_a_test(schematron: Any) -> None:
    seller = seller_from_settings(Settings(_env_file=None, timezone="Europe/Paris"))  # type: ignore[call-arg]
    pdf = render_invoice_pdf(_long_invoice(seller))
    pages = _text(pdf)
    assert len(pages) >= 2
    for page in pages:
        assert "SPÉCIMEN — ne pas payer / SPECIMEN — do not pay" in page
    assert SPECIMEN_MARK.split(" / ")[0] in pages[0]
    assert "Scannez pour payer" not in pages[0]  # no payable QR code
    xml = facturx.get_xml_from_pdf(pdf, check_xsd=True)[1]
    root = etree.fromstring(xml)
    process = root.xpath("//ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID", namespaces=NS)
    assert [p.text for p in process] == [SPECIMEN_PROCESS]
    assert [i.text for i in root.xpath("//ram:IBANID", namespaces=NS)] == [DEMO_IDENTITY["iban"]]
    assert failed_asserts(schematron, xml) == []
    # A real identity: no mark, no test flag.
    real = render_invoice_pdf(_long_invoice(replace(SELLER), 3))
    assert "SPECIMEN" not in " ".join(_text(real))
    assert b"SPECIMEN" not in facturx.get_xml_from_pdf(real, check_xsd=False)[1]


def test_a_specimen_purchase_order_says_so_too() -> None:
    from mail.documents.purchase_order import POData, POLine, render_purchase_order_pdf

    def po(specimen: bool) -> bytes:
        return render_purchase_order_pdf(
            POData(
                "PO1",
                TODAY,
                None,
                "fr",
                "Entonnoir Démo (spécimen)",
                "Paris",
                "demo@x.invalid",
                "Fournitures SA",
                "",
                (POLine("W", "Widget", "unit", Decimal(2)),),
                specimen,
            )
        )

    assert "SPÉCIMEN — ne pas payer" in _text(po(True))[0]
    assert "SPÉCIMEN" not in _text(po(False))[0]


def test_the_dunning_identity_is_derived_from_the_one_seller(tmp_path: Any) -> None:
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite://{tmp_path}/x.db",  # type: ignore[call-arg]
        timezone="Europe/Paris",
    )
    real = settings.model_copy(
        update={
            "company_name": SELLER.name,
            "company_address": SELLER.address,
            "company_siren": SELLER.siren,
            "company_iban": SELLER.iban,
            "company_email": SELLER.email,
            "company_vat": SELLER.vat,
            "late_penalty_rate": Decimal("10.5"),
            "recovery_indemnity_eur": 45,
        }
    )
    for each in (settings, real):
        seller, company = seller_from_settings(each), company_from_settings(each)
        assert (company.name, company.email, company.iban) == (seller.name, seller.email, seller.iban)
        assert company.late_penalty_rate == seller.late_penalty_rate
        assert company.indemnity_eur == seller.recovery_indemnity_eur
        assert company.mail_domain == seller.email.rpartition("@")[2]
    assert company_from_settings(real).late_penalty_rate == Decimal("10.5")
    assert company_from_settings(real).indemnity_eur == 45
    assert company_from_settings(settings).name.endswith("(spécimen)")
