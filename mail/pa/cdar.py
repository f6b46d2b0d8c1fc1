"""CDAR life-cycle status documents (UN/CEFACT CrossDomainAcknowledgementAndResponse as
profiled by XP Z12-012): built for the statuses we send, parsed from the PA's flows.

The layout follows the public examples of the standard (Annex B: CDV-205 approved,
CDV-207 disputed, CDV-212 cashed): a mono-reference acknowledgement (TypeCode 23) whose
`ReferenceReferencedDocument` names the invoice (BT-1, BT-3, BT-2) and carries the status
code (MDT-105) with its label, the reason (disputes, refusals) or the amount cashed (212).
Parsing goes through defusedxml (no DTD, no entities, no external references).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from xml.etree.ElementTree import Element

import defusedxml
from defusedxml.ElementTree import fromstring
from lxml import etree

__all__ = ["CdarError", "CdarStatus", "StatusDocument", "build_cdar", "parse_cdar"]

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossDomainAcknowledgementAndResponse:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
}
MAX_BYTES = 1_000_000

_LABELS = {
    200: "Déposée",
    201: "Émise",
    202: "Reçue",
    203: "Mise à disposition",
    204: "Prise en charge",
    205: "Approuvée",
    206: "Approuvée partiellement",
    207: "En litige",
    208: "Suspendue",
    209: "Complétée",
    210: "Refusée",
    211: "Paiement transmis",
    212: "Encaissée",
    213: "Rejetée",
}


class CdarError(ValueError):
    """A CDAR document we cannot read (unsafe, malformed or missing a required part)."""


@dataclass(frozen=True)
class StatusDocument:
    """What a status we send says."""

    document_id: str
    code: int
    at: datetime
    invoice_number: str
    invoice_type: str  # BT-3: 380 invoice, 381 credit note
    invoice_date: date
    invoice_issuer_siren: str
    sender_role: str  # SE (seller) or BY (buyer)
    issuer_siren: str
    issuer_name: str
    recipient_siren: str
    recipient_role: str
    reason_code: str = ""
    reason: str = ""
    amount_cents: int | None = None
    currency: str = "EUR"


@dataclass(frozen=True)
class CdarStatus:
    """One status read from a CDAR document."""

    invoice_number: str
    code: int
    at: datetime
    invoice_issuer: str = ""
    reason_code: str = ""
    reason: str = ""
    amount_cents: int | None = None


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    prefix, name = tag.split(":")
    el = etree.SubElement(parent, f"{{{NS[prefix]}}}{name}", **attrs)
    if text is not None:
        el.text = text
    return el


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%d%H%M%S")


def _party(parent: etree._Element, tag: str, siren: str, name: str, role: str) -> None:
    party = _sub(parent, tag)
    _sub(party, "ram:GlobalID", siren, schemeID="0002")
    if name:
        _sub(party, "ram:Name", name)
    _sub(party, "ram:RoleCode", role)


def build_cdar(doc: StatusDocument) -> bytes:
    """The CDAR XML (UTF-8) of one status about one invoice."""
    root = etree.Element(f"{{{NS['rsm']}}}CrossDomainAcknowledgementAndResponse", nsmap=NS)
    ctx = _sub(root, "rsm:ExchangedDocumentContext")
    _sub(_sub(ctx, "ram:BusinessProcessSpecifiedDocumentContextParameter"), "ram:ID", "REGULATED")
    _sub(
        _sub(ctx, "ram:GuidelineSpecifiedDocumentContextParameter"),
        "ram:ID",
        "urn.cpro.gouv.fr:1p0:CDV:invoice",
    )
    head = _sub(root, "rsm:ExchangedDocument")
    _sub(head, "ram:ID", doc.document_id)
    _sub(head, "ram:Name", f"CDV-{doc.code}")
    _sub(_sub(head, "ram:IssueDateTime"), "udt:DateTimeString", _stamp(doc.at), format="204")
    _sub(_sub(head, "ram:SenderTradeParty"), "ram:RoleCode", doc.sender_role)
    _party(head, "ram:IssuerTradeParty", doc.issuer_siren, doc.issuer_name, doc.sender_role)
    _party(head, "ram:RecipientTradeParty", doc.recipient_siren, "", doc.recipient_role)
    ack = _sub(root, "rsm:AcknowledgementDocument")
    _sub(_sub(ack, "ram:MultipleReferencesIndicator"), "udt:Indicator", "false")
    _sub(ack, "ram:TypeCode", "23")
    _sub(_sub(ack, "ram:IssueDateTime"), "udt:DateTimeString", _stamp(doc.at), format="204")
    ref = _sub(ack, "ram:ReferenceReferencedDocument")
    _sub(ref, "ram:IssuerAssignedID", doc.invoice_number)
    _sub(ref, "ram:TypeCode", doc.invoice_type)
    _sub(
        _sub(ref, "ram:FormattedIssueDateTime"),
        "qdt:DateTimeString",
        doc.invoice_date.strftime("%Y%m%d"),
        format="102",
    )
    _sub(ref, "ram:ProcessConditionCode", str(doc.code))
    _sub(ref, "ram:ProcessCondition", _LABELS.get(doc.code, str(doc.code)))
    _sub(_sub(ref, "ram:IssuerTradeParty"), "ram:GlobalID", doc.invoice_issuer_siren, schemeID="0002")
    if doc.reason_code or doc.reason or doc.amount_cents is not None:
        status = _sub(ref, "ram:SpecifiedDocumentStatus")
        if doc.reason_code:
            _sub(status, "ram:ReasonCode", doc.reason_code)
        if doc.reason:
            _sub(status, "ram:Reason", doc.reason)
        if doc.amount_cents is not None:
            char = _sub(status, "ram:SpecifiedDocumentCharacteristic")
            _sub(char, "ram:TypeCode", "MEN")
            _sub(_sub(char, "ram:ValueChangedIndicator"), "udt:IndicatorString", "false")
            _sub(char, "ram:ValueAmount", f"{Decimal(doc.amount_cents) / 100:.2f}", currencyID=doc.currency)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def _q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


def _text(el: Element | None, *path: str) -> str:
    for step in path:
        if el is None:
            return ""
        prefix, name = step.split(":")
        el = el.find(_q(prefix, name))
    return (el.text or "").strip() if el is not None else ""


def _when(value: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        raise CdarError(f"bad CDAR date-time {value[:20]!r}") from None


def _cents(value: str) -> int | None:
    if not value:
        return None
    try:
        return int((Decimal(value) * 100).to_integral_value())
    except ArithmeticError:
        raise CdarError(f"bad CDAR amount {value[:20]!r}") from None


def parse_cdar(data: bytes) -> list[CdarStatus]:
    """Every status a CDAR document carries (one per referenced invoice)."""
    if len(data) > MAX_BYTES:
        raise CdarError("CDAR document too large")
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException as exc:
        raise CdarError(f"unsafe CDAR XML refused: {type(exc).__name__}") from None
    except Exception as exc:  # ElementTree.ParseError and friends
        raise CdarError(f"malformed CDAR XML: {exc}") from None
    if root.tag != _q("rsm", "CrossDomainAcknowledgementAndResponse"):
        raise CdarError("not a CDAR document")
    ack = root.find(_q("rsm", "AcknowledgementDocument"))
    if ack is None:
        raise CdarError("CDAR without AcknowledgementDocument")
    stamp = _text(ack, "ram:IssueDateTime", "udt:DateTimeString") or _text(
        root, "rsm:ExchangedDocument", "ram:IssueDateTime", "udt:DateTimeString"
    )
    at = _when(stamp)
    found = []
    for ref in ack.findall(_q("ram", "ReferenceReferencedDocument")):
        number = _text(ref, "ram:IssuerAssignedID")
        code = _text(ref, "ram:ProcessConditionCode")
        if not number or not code.isdigit():
            raise CdarError("CDAR reference without invoice number or status code")
        status = ref.find(_q("ram", "SpecifiedDocumentStatus"))
        amount = None
        if status is not None:
            for char in status.findall(_q("ram", "SpecifiedDocumentCharacteristic")):
                if _text(char, "ram:TypeCode") == "MEN":
                    amount = _cents(_text(char, "ram:ValueAmount"))
        found.append(
            CdarStatus(
                invoice_number=number[:64],
                code=int(code),
                at=at,
                invoice_issuer=_text(ref, "ram:IssuerTradeParty", "ram:GlobalID"),
                reason_code=_text(status, "ram:ReasonCode")[:64],
                reason=_text(status, "ram:Reason")[:2000],
                amount_cents=amount,
            )
        )
    if not found:
        raise CdarError("CDAR without a referenced invoice")
    return found
