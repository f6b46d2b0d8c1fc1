"""The EN 16931 (Factur-X "EN 16931" profile) Cross Industry Invoice XML of an invoice."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from lxml import etree

from mail.documents.model import InvoiceData
from storage.vat import REASONS

__all__ = ["build_cii_xml", "split_address", "unit_code"]

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
_UNITS = {
    "unit": "C62",
    "u": "C62",
    "pc": "C62",
    "pcs": "C62",
    "piece": "C62",
    "pièce": "C62",
    "h": "HUR",
    "hour": "HUR",
    "heure": "HUR",
    "day": "DAY",
    "jour": "DAY",
    "j": "DAY",
    "kg": "KGM",
    "g": "GRM",
    "m": "MTR",
    "m2": "MTK",
    "l": "LTR",
    "month": "MON",
    "mois": "MON",
}
_POSTCODE = re.compile(r"^(\d{4,5})\s+(.+)$")
_COUNTRIES = {
    "france": "FR",
    "belgique": "BE",
    "belgium": "BE",
    "suisse": "CH",
    "switzerland": "CH",
    "luxembourg": "LU",
    "germany": "DE",
    "allemagne": "DE",
}


def unit_code(unit: str) -> str:
    """UN/ECE Rec 20 code of a unit people type (`h` → HUR); C62 (one) by default."""
    return _UNITS.get((unit or "").strip().lower(), "C62")


def split_address(text: str, default_country: str = "FR") -> tuple[list[str], str, str, str]:
    """Street lines, postcode, city and country code from a free-text address."""
    lines = [ln.strip() for ln in (text or "").replace(",", "\n").splitlines() if ln.strip()]
    country = default_country
    if lines and lines[-1].lower() in _COUNTRIES:
        country = _COUNTRIES[lines.pop().lower()]
    postcode = city = ""
    for i in range(len(lines) - 1, -1, -1):
        if m := _POSTCODE.match(lines[i]):
            postcode, city = m.group(1), m.group(2)
            lines.pop(i)
            break
    return lines[:3], postcode, city, country


def _amount(cents: int) -> str:
    return str((Decimal(cents) / 100).quantize(Decimal("0.01")))


def _rate(bp: int) -> str:
    return str((Decimal(bp) / 100).quantize(Decimal("0.01")))


class _Builder:
    def __init__(self) -> None:
        self.root = etree.Element(f"{{{NS['rsm']}}}CrossIndustryInvoice", nsmap=NS)

    @staticmethod
    def sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
        prefix, name = tag.split(":")
        el = etree.SubElement(parent, f"{{{NS[prefix]}}}{name}", **attrs)
        if text is not None:
            el.text = text
        return el

    def date(self, parent: etree._Element, tag: str, value: date, qualified: bool = False) -> None:
        holder = self.sub(parent, tag)
        prefix = "qdt" if qualified else "udt"
        self.sub(holder, f"{prefix}:DateTimeString", value.strftime("%Y%m%d"), format="102")


def _period(b: _Builder, parent: etree._Element, start: date | None, end: date | None) -> None:
    if start is None or end is None:
        return
    period = b.sub(parent, "ram:BillingSpecifiedPeriod")
    b.date(period, "ram:StartDateTime", start)
    b.date(period, "ram:EndDateTime", end)


def _allowance(
    b: _Builder,
    parent: etree._Element,
    cents: int,
    reason: str | None,
    category: str | None = None,
    rate_bp: int = 0,
) -> None:
    """An allowance (discount): EN 16931 BG-20 on the document, BG-27 on a line."""
    charge = b.sub(parent, "ram:SpecifiedTradeAllowanceCharge")
    b.sub(b.sub(charge, "ram:ChargeIndicator"), "udt:Indicator", "false")
    b.sub(charge, "ram:ActualAmount", _amount(cents))
    b.sub(charge, "ram:Reason", reason or "Remise")
    if category is not None:
        tax = b.sub(charge, "ram:CategoryTradeTax")
        b.sub(tax, "ram:TypeCode", "VAT")
        b.sub(tax, "ram:CategoryCode", category)
        if category != "O":  # outside the scope: no rate at all (BR-O-05..07)
            b.sub(tax, "ram:RateApplicablePercent", _rate(rate_bp))


def build_cii_xml(doc: InvoiceData) -> bytes:
    """The CII XML (UTF-8 bytes) of the invoice, EN 16931 profile."""
    b = _Builder()
    sub = b.sub
    ctx = sub(b.root, "rsm:ExchangedDocumentContext")
    if doc.seller.specimen:  # BT-23: a test document (the EN 16931 CII has no TestIndicator)
        sub(sub(ctx, "ram:BusinessProcessSpecifiedDocumentContextParameter"), "ram:ID", SPECIMEN_PROCESS)
    guideline = sub(ctx, "ram:GuidelineSpecifiedDocumentContextParameter")
    sub(guideline, "ram:ID", "urn:cen.eu:en16931:2017")
    header = sub(b.root, "rsm:ExchangedDocument")
    sub(header, "ram:ID", doc.number)
    sub(header, "ram:TypeCode", "381" if doc.credit_note else "380")
    b.date(header, "ram:IssueDateTime", doc.issue_date)
    for code, text in _notes(doc):
        note = sub(header, "ram:IncludedNote")
        sub(note, "ram:Content", text)
        sub(note, "ram:SubjectCode", code)
    trade = sub(b.root, "rsm:SupplyChainTradeTransaction")
    for line in doc.lines:
        item = sub(trade, "ram:IncludedSupplyChainTradeLineItem")
        sub(sub(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", str(line.position))
        product = sub(item, "ram:SpecifiedTradeProduct")
        if line.sku:
            sub(product, "ram:SellerAssignedID", line.sku)
        sub(product, "ram:Name", line.description)
        agreement = sub(item, "ram:SpecifiedLineTradeAgreement")
        sub(
            sub(agreement, "ram:NetPriceProductTradePrice"),
            "ram:ChargeAmount",
            _amount(line.unit_price_cents),
        )
        delivery = sub(item, "ram:SpecifiedLineTradeDelivery")
        sub(
            delivery,
            "ram:BilledQuantity",
            format(line.quantity.normalize(), "f"),
            unitCode=unit_code(line.unit),
        )
        settlement = sub(item, "ram:SpecifiedLineTradeSettlement")
        tax = sub(settlement, "ram:ApplicableTradeTax")
        sub(tax, "ram:TypeCode", "VAT")
        sub(tax, "ram:CategoryCode", line.vat_category)
        if line.vat_category != "O":
            sub(tax, "ram:RateApplicablePercent", _rate(line.vat_rate_bp))
        if line.discount_cents:
            _allowance(b, settlement, line.discount_cents, line.discount_reason)
        summation = sub(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation")
        sub(summation, "ram:LineTotalAmount", _amount(line.net_cents))
    agreement = sub(trade, "ram:ApplicableHeaderTradeAgreement")
    _seller(b, agreement, doc)
    _buyer(b, agreement, doc)
    if doc.purchase_order:
        sub(sub(agreement, "ram:BuyerOrderReferencedDocument"), "ram:IssuerAssignedID", doc.purchase_order)
    delivery = sub(trade, "ram:ApplicableHeaderTradeDelivery")
    _ship_to(b, delivery, doc)
    event = sub(delivery, "ram:ActualDeliverySupplyChainEvent")
    b.date(event, "ram:OccurrenceDateTime", doc.sale_date)
    _settlement(b, trade, doc)
    return bytes(etree.tostring(b.root, xml_declaration=True, encoding="UTF-8"))


SPECIMEN_PROCESS = "SPECIMEN-TEST"
SPECIMEN_NOTE = "SPÉCIMEN — ne pas payer / SPECIMEN — do not pay (document de test / test document)"


def _notes(doc: InvoiceData) -> list[tuple[str, str]]:
    s = doc.seller
    notes = []
    if s.specimen:
        notes.append(("AAI", SPECIMEN_NOTE))
    if doc.reason:
        notes.append(("AAI", doc.reason))
    legal = f"{s.name} — SIREN {s.siren}"
    if s.rcs_city:
        legal += f" — RCS {s.rcs_city}"
    if s.capital:
        legal += f" — capital {s.capital}"
    notes.append(("ABL", legal))
    if doc.credit_note:  # not a debt: no penalty, indemnity nor discount terms
        return notes
    penalty = (
        f"Pénalités de retard : {s.late_penalty_rate} % par an. "
        + (
            f"Indemnité forfaitaire pour frais de recouvrement : {s.recovery_indemnity_eur} €. "
            if doc.buyer.business
            else ""
        )
        + "Pas d'escompte pour paiement anticipé."
    )
    notes.append(("PMT", penalty))
    return notes


def _address(b: _Builder, party: etree._Element, text: str, country: str) -> None:
    street, postcode, city, code = split_address(text, country)
    address = b.sub(party, "ram:PostalTradeAddress")
    if postcode:
        b.sub(address, "ram:PostcodeCode", postcode)
    for tag, value in zip(("ram:LineOne", "ram:LineTwo", "ram:LineThree"), street, strict=False):
        b.sub(address, tag, value)
    if city:
        b.sub(address, "ram:CityName", city)
    b.sub(address, "ram:CountryID", code)


def _seller(b: _Builder, agreement: etree._Element, doc: InvoiceData) -> None:
    s = doc.seller
    if doc.buyer_reference:
        b.sub(agreement, "ram:BuyerReference", doc.buyer_reference)
    party = b.sub(agreement, "ram:SellerTradeParty")
    b.sub(party, "ram:Name", s.name)
    legal = b.sub(party, "ram:SpecifiedLegalOrganization")
    b.sub(legal, "ram:ID", s.siren, schemeID="0002")
    _address(b, party, s.address, s.country)
    if s.vat and not doc.outside_scope:
        b.sub(b.sub(party, "ram:SpecifiedTaxRegistration"), "ram:ID", s.vat, schemeID="VA")


def _buyer(b: _Builder, agreement: etree._Element, doc: InvoiceData) -> None:
    buyer = doc.buyer
    party = b.sub(agreement, "ram:BuyerTradeParty")
    b.sub(party, "ram:Name", buyer.name)
    if buyer.siren:
        legal = b.sub(party, "ram:SpecifiedLegalOrganization")
        b.sub(legal, "ram:ID", buyer.siren[:9], schemeID="0002")
    _address(b, party, buyer.address, _buyer_country(doc))
    if buyer.vat and not doc.outside_scope:
        b.sub(b.sub(party, "ram:SpecifiedTaxRegistration"), "ram:ID", buyer.vat, schemeID="VA")


def _buyer_country(doc: InvoiceData) -> str:
    buyer = doc.buyer
    if buyer.country:
        return buyer.country
    return buyer.vat[:2] if buyer.vat[:2].isalpha() else doc.seller.country


def _ship_to(b: _Builder, delivery: etree._Element, doc: InvoiceData) -> None:
    """Deliver-to (BG-13/BG-15): printed when the goods go elsewhere than the billing
    address, and always for an intra-community supply (BR-IC-12 asks its country)."""
    buyer = doc.buyer
    different = bool(buyer.delivery_address.strip()) and (
        buyer.delivery_address.strip() != buyer.address.strip()
    )
    if not different and not any(row.category == "K" for row in doc.totals.breakdown):
        return
    party = b.sub(delivery, "ram:ShipToTradeParty")
    b.sub(party, "ram:Name", buyer.name)
    text = buyer.delivery_address if different else buyer.address
    _address(b, party, text, _buyer_country(doc))


def _settlement(b: _Builder, trade: etree._Element, doc: InvoiceData) -> None:
    sub = b.sub
    settlement = sub(trade, "ram:ApplicableHeaderTradeSettlement")
    if not doc.credit_note:
        sub(settlement, "ram:PaymentReference", doc.rf_reference)
    sub(settlement, "ram:InvoiceCurrencyCode", doc.currency)
    if not doc.credit_note:
        _payment_means(b, settlement, doc)
    for row in doc.totals.breakdown:
        reason = REASONS.get(row.reason or "") if row.category != "S" else None
        tax = sub(settlement, "ram:ApplicableTradeTax")
        sub(tax, "ram:CalculatedAmount", _amount(row.vat_cents))
        sub(tax, "ram:TypeCode", "VAT")
        if reason is not None:
            sub(tax, "ram:ExemptionReason", reason.words("fr"))  # the legal French wording
        sub(tax, "ram:BasisAmount", _amount(row.base_cents))
        sub(tax, "ram:CategoryCode", row.category)
        if reason is not None and reason.code:
            sub(tax, "ram:ExemptionReasonCode", reason.code)
        if row.category != "O":
            sub(tax, "ram:RateApplicablePercent", _rate(row.rate_bp))
    _period(b, settlement, doc.period_start, doc.period_end)
    for row in doc.totals.breakdown:
        if row.allowance_cents:
            _allowance(
                b, settlement, row.allowance_cents, doc.totals.discount_reason, row.category, row.rate_bp
            )
    _payment_terms(b, settlement, doc)
    total = sub(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    sub(total, "ram:LineTotalAmount", _amount(doc.totals.line_total_cents))
    if doc.totals.allowance_cents:
        sub(total, "ram:AllowanceTotalAmount", _amount(doc.totals.allowance_cents))
    sub(total, "ram:TaxBasisTotalAmount", _amount(doc.totals.net_cents))
    sub(total, "ram:TaxTotalAmount", _amount(doc.totals.vat_cents), currencyID=doc.currency)
    sub(total, "ram:GrandTotalAmount", _amount(doc.totals.gross_cents))
    sub(total, "ram:DuePayableAmount", _amount(doc.totals.gross_cents))
    if doc.original_number:
        ref = sub(settlement, "ram:InvoiceReferencedDocument")
        sub(ref, "ram:IssuerAssignedID", doc.original_number)
        if doc.original_issue_date:
            b.date(ref, "ram:FormattedIssueDateTime", doc.original_issue_date, qualified=True)


CREDIT_TERMS = "Avoir : aucun paiement à effectuer par le client."


def _payment_means(b: _Builder, settlement: etree._Element, doc: InvoiceData) -> None:
    """BG-16: credit transfer to the seller's account (invoices only)."""
    means = b.sub(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
    b.sub(means, "ram:TypeCode", "58")
    account = b.sub(means, "ram:PayeePartyCreditorFinancialAccount")
    b.sub(account, "ram:IBANID", doc.seller.iban)
    if doc.seller.bic:
        institution = b.sub(means, "ram:PayeeSpecifiedCreditorFinancialInstitution")
        b.sub(institution, "ram:BICID", doc.seller.bic)


def _payment_terms(b: _Builder, settlement: etree._Element, doc: InvoiceData) -> None:
    """BT-20 / BT-9. A credit note has no due date: its terms only say nothing is to be
    paid (BR-CO-25 wants terms or a due date when BT-115 is positive)."""
    terms = b.sub(settlement, "ram:SpecifiedTradePaymentTerms")
    if doc.credit_note:
        b.sub(terms, "ram:Description", CREDIT_TERMS)
        return
    b.sub(terms, "ram:Description", f"Paiement au plus tard le {doc.due_date:%d/%m/%Y}")
    b.date(terms, "ram:DueDateDateTime", doc.due_date)
