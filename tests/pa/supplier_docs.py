"""Supplier invoices as a supplier's software would send them: CII (with BT-13), UBL 2.1."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

from lxml import etree

from mail.documents.facturx_xml import NS, build_cii_xml
from mail.documents.model import Buyer, DocLine, InvoiceData
from storage.invoicing import Seller, compute_totals, line_net
from tests.billing_data import SELLER

SUPPLIER = dataclasses.replace(
    SELLER,
    name="Ressorts Dupont SARL",
    siren="542107651",
    siret="54210765100017",
    vat="FR73542107651",
    address="8 rue des Forges\n42000 Saint-Étienne\nFrance",
    iban="FR7630004000031234567890143",
)
US = Buyer(name=SELLER.name, address=SELLER.address, siren=SELLER.siren, vat=SELLER.vat)

Line = tuple[str, str, str, int, int]  # sku, description, quantity, unit price cents, VAT bp


def _doc(number: str, lines: list[Line], seller: Seller = SUPPLIER) -> InvoiceData:
    docs = tuple(
        DocLine(
            position=i,
            description=d,
            quantity=Decimal(q),
            unit="unit",
            unit_price_cents=p,
            vat_rate_bp=v,
            net_cents=line_net(Decimal(q), p),
            sku=s,
        )
        for i, (s, d, q, p, v) in enumerate(lines, start=1)
    )
    return InvoiceData(
        number=number,
        issue_date=date(2026, 12, 1),
        due_date=date(2026, 12, 31),
        sale_date=date(2026, 12, 1),
        seller=seller,
        buyer=US,
        lines=docs,
        totals=compute_totals((ln.net_cents, ln.vat_rate_bp) for ln in docs),
        rf_reference="RF18539007547034",
    )


def cii_invoice(number: str, po: str, lines: list[Line]) -> bytes:
    """The supplier's CII, with the buyer's order reference (BT-13) when `po` is given."""
    root = etree.fromstring(build_cii_xml(_doc(number, lines)))
    if po:
        agreement = root.find(".//ram:ApplicableHeaderTradeAgreement", NS)
        assert agreement is not None
        ref = etree.SubElement(agreement, f"{{{NS['ram']}}}BuyerOrderReferencedDocument")
        etree.SubElement(ref, f"{{{NS['ram']}}}IssuerAssignedID").text = po
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def facturx_invoice(number: str, lines: list[Line]) -> bytes:
    from mail.documents.invoice import render_invoice_pdf

    return render_invoice_pdf(_doc(number, lines))


def ubl_invoice(number: str, po: str, lines: list[Line]) -> bytes:
    doc = _doc(number, lines)
    items = "".join(
        f"<cac:InvoiceLine><cbc:ID>{ln.position}</cbc:ID>"
        f'<cbc:InvoicedQuantity unitCode="C62">{ln.quantity}</cbc:InvoicedQuantity>'
        f'<cbc:LineExtensionAmount currencyID="EUR">{Decimal(ln.net_cents) / 100:.2f}'
        "</cbc:LineExtensionAmount>"
        f"<cac:Item><cbc:Name>{ln.description}</cbc:Name><cac:SellersItemIdentification>"
        f"<cbc:ID>{ln.sku}</cbc:ID></cac:SellersItemIdentification></cac:Item>"
        f'<cac:Price><cbc:PriceAmount currencyID="EUR">{Decimal(ln.unit_price_cents) / 100:.2f}'
        "</cbc:PriceAmount></cac:Price></cac:InvoiceLine>"
        for ln in doc.lines
    )
    t = doc.totals
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" '
        'xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2" '
        'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">'
        "<cbc:CustomizationID>urn:cen.eu:en16931:2017</cbc:CustomizationID>"
        f"<cbc:ID>{number}</cbc:ID><cbc:IssueDate>2026-12-01</cbc:IssueDate>"
        "<cbc:DueDate>2026-12-31</cbc:DueDate><cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>"
        "<cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>"
        f"<cac:OrderReference><cbc:ID>{po}</cbc:ID></cac:OrderReference>"
        "<cac:AccountingSupplierParty><cac:Party><cac:PartyTaxScheme>"
        f"<cbc:CompanyID>{SUPPLIER.vat}</cbc:CompanyID><cac:TaxScheme><cbc:ID>VAT</cbc:ID>"
        "</cac:TaxScheme></cac:PartyTaxScheme><cac:PartyLegalEntity>"
        f"<cbc:RegistrationName>{SUPPLIER.name}</cbc:RegistrationName>"
        f'<cbc:CompanyID schemeID="0002">{SUPPLIER.siren}</cbc:CompanyID>'
        "</cac:PartyLegalEntity></cac:Party></cac:AccountingSupplierParty>"
        "<cac:AccountingCustomerParty><cac:Party><cac:PartyLegalEntity>"
        f"<cbc:RegistrationName>{SELLER.name}</cbc:RegistrationName>"
        f"<cbc:CompanyID>{SELLER.siren}</cbc:CompanyID></cac:PartyLegalEntity></cac:Party>"
        "</cac:AccountingCustomerParty>"
        f'<cac:TaxTotal><cbc:TaxAmount currencyID="EUR">{Decimal(t.vat_cents) / 100:.2f}'
        "</cbc:TaxAmount></cac:TaxTotal><cac:LegalMonetaryTotal>"
        f'<cbc:LineExtensionAmount currencyID="EUR">{Decimal(t.net_cents) / 100:.2f}'
        "</cbc:LineExtensionAmount>"
        f'<cbc:TaxExclusiveAmount currencyID="EUR">{Decimal(t.net_cents) / 100:.2f}'
        "</cbc:TaxExclusiveAmount>"
        f'<cbc:TaxInclusiveAmount currencyID="EUR">{Decimal(t.gross_cents) / 100:.2f}'
        "</cbc:TaxInclusiveAmount>"
        f'<cbc:PayableAmount currencyID="EUR">{Decimal(t.gross_cents) / 100:.2f}'
        "</cbc:PayableAmount></cac:LegalMonetaryTotal>"
        f"{items}</Invoice>"
    ).encode()
