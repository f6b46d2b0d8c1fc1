"""ISO 20022 camt.054 (notification), camt.053 (statement) and camt.052 (report).

Versions .001.01 to .001.13 (and any other): elements are matched on their local names,
so the namespace (or its absence) does not matter, and the root's version suffix of the
.001.01 schemas (`BkToCstmrAcctRptV01`, `BkToCstmrStmtV01`...) is dropped. Parsed only with defusedxml, DTDs,
entity declarations and external references forbidden.

One notice per transaction: an entry batching several transactions (`NtryDtls/TxDtls`)
gives one notice per `TxDtls`, each with its own amount; only entries whose status is
booked (`BOOK`, or no status) are returned. Every notice carries the account the
statement/notification is about (`Acct/Id/IBAN`, else `Acct/Id/Othr/Id`), so the inbox
can refuse a genuine bank message about someone else's account.

Identity: the bank's AcctSvcrRef (transaction, else entry) or NtryRef, with the account;
without one, the statement's id/sequence and the entry's own references (EndToEndId,
TxId, bank transaction code, texts) feed the fingerprint (see `PaymentNotice`).

Returns: an entry with the reversal indicator, a return bank transaction code (RRTN,
RTN...) or return information (`RtrInf/Rsn/Cd`: AC04, MD06...) is a reversal when it
takes money back (DBIT); a credit that reverses a debit is marked as a return (never
settles by itself). An entry batching several transactions without their amounts is one
notice carrying every transaction's remittance, with a warning for the person who matches.
"""

from __future__ import annotations

import gc
import io
import logging
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element, TreeBuilder
from xml.etree.ElementTree import ParseError as XmlSyntaxError

import defusedxml
from defusedxml.ElementTree import DefusedXMLParser

from mail.parsers.amounts import decimal_to_cents
from mail.parsers.common import assign_identities
from mail.parsers.errors import ParseError, TooLarge, UnsafeDocument
from mail.parsers.references import canonical_rf, find_rf_references
from storage.payments.notes import Note, amounts_disagree, batch_without_amounts, not_booked
from storage.payments.notices import Direction, PaymentNotice

__all__ = ["CamtResult", "is_camt", "parse_camt", "parse_camt_zip"]

log = logging.getLogger(__name__)

_KINDS = {
    "BkToCstmrDbtCdtNtfctn": ("camt.054", "Ntfctn"),
    "BkToCstmrStmt": ("camt.053", "Stmt"),
    "BkToCstmrAcctRpt": ("camt.052", "Rpt"),
}
ZIP_MAX_MEMBERS = 100
ZIP_MAX_RATIO = 200
MAX_REMITTANCE = 1000
_VERSION = re.compile(r"V\d{1,2}$")
#: Bank transaction (sub-)family codes that mean "a payment came back".
RETURN_CODES = frozenset({"RRTN", "RTN", "ARET", "RPCR", "UPCT", "RRCT", "RTRN", "DDRT"})


@dataclass
class CamtResult:
    """Notices read from one camt document, plus what was deliberately left aside."""

    kind: str
    notices: list[PaymentNotice] = field(default_factory=list)
    warnings: list[Note] = field(default_factory=list)  # catalogue messages (payments.notes)


def is_camt(data: bytes) -> bool:
    """Cheap sniff: does this look like a camt.05x XML document?"""
    head = data[:4096]
    return b"camt.05" in head or any(k.encode() in head for k in _KINDS)


def parse_camt(data: bytes) -> CamtResult:
    """Read one camt.052/053/054 XML document. Raises ParseError / UnsafeDocument."""
    gc_was_enabled = gc.isenabled()
    gc.disable()  # a big tree of acyclic elements: no cycle to find, only time to lose
    try:
        return _parse_camt(data)
    finally:
        if gc_was_enabled:
            gc.enable()


def _parse_camt(data: bytes) -> CamtResult:
    root = _safe_tree(data)
    _strip_namespaces(root)
    body = root[0] if root.tag == "Document" and len(root) else root
    body.tag = _VERSION.sub("", body.tag)
    if body.tag not in _KINDS:
        raise ParseError(f"XML document <{body.tag}> is not a camt.052/053/054", code="not_camt")
    kind, container = _KINDS[body.tag]
    result = CamtResult(kind)
    for report in body.findall(container):
        account_ccy = _text(report, "Acct", "Ccy")
        account = _text(report, "Acct", "Id", "IBAN") or _text(report, "Acct", "Id", "Othr", "Id")
        account = account.replace(" ", "").upper() if account else None
        statement_ref = (
            "/".join(
                x
                for x in (
                    _clean(report.findtext("Id")),
                    _clean(report.findtext("ElctrncSeqNb")),
                    _clean(report.findtext("LglSeqNb")),
                )
                if x
            )
            or None
        )
        for entry in report.findall("Ntry"):
            result.notices.extend(_entry_notices(entry, account_ccy, result.warnings, account, statement_ref))
    result.notices = assign_identities(result.notices)
    return result


def parse_camt_zip(data: bytes, *, max_bytes: int) -> list[CamtResult]:
    """Read every camt XML member of a zip archive (members over `max_bytes` refused)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise ParseError(f"not a readable zip archive: {exc}", code="bad_zip") from exc
    members = [i for i in archive.infolist() if not i.is_dir()]
    if len(members) > ZIP_MAX_MEMBERS:
        raise UnsafeDocument(f"zip archive has {len(members)} members", code="zip_bomb")
    results = []
    for info in members:
        if not info.filename.lower().endswith(".xml"):
            continue
        content = read_zip_member(archive, info, max_bytes=max_bytes)
        results.append(parse_camt(content))
    return results


def read_zip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, *, max_bytes: int) -> bytes:
    """Read a zip member, refusing it (without inflating more) past `max_bytes`."""
    if info.file_size > max_bytes:
        raise TooLarge(f"zip member {info.filename} is {info.file_size} bytes", code="too_large")
    if info.compress_size and info.file_size / info.compress_size > ZIP_MAX_RATIO:
        raise UnsafeDocument(f"zip member {info.filename} expands too much", code="zip_bomb")
    try:
        with archive.open(info) as member:
            content = member.read(max_bytes + 1)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError) as exc:
        raise ParseError(f"cannot read zip member {info.filename}: {exc}", code="bad_zip") from exc
    if len(content) > max_bytes:
        raise TooLarge(f"zip member {info.filename} is over {max_bytes} bytes", code="too_large")
    return content


def _safe_tree(data: bytes) -> Element:
    """Build the tree with defusedxml's parser and its guards (DTD, entities, external
    references all raise), feeding expat's element events straight into the C
    TreeBuilder: the guards stay, the per-element Python frames go (3x faster)."""
    builder = TreeBuilder()
    parser = DefusedXMLParser(target=builder, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    expat = parser.parser
    expat.ordered_attributes = 0
    expat.StartElementHandler = builder.start
    expat.EndElementHandler = builder.end
    expat.CharacterDataHandler = builder.data
    try:
        parser.feed(data)
        root: Element = parser.close()
        return root
    except defusedxml.DTDForbidden as exc:
        raise UnsafeDocument("XML with a DTD refused", code="xml_dtd") from exc
    except defusedxml.EntitiesForbidden as exc:
        raise UnsafeDocument("XML declaring entities refused", code="xml_entities") from exc
    except defusedxml.ExternalReferenceForbidden as exc:
        raise UnsafeDocument("XML with an external reference refused", code="xml_external") from exc
    except defusedxml.DefusedXmlException as exc:
        raise UnsafeDocument(f"unsafe XML refused: {exc}", code="unsafe") from exc
    except XmlSyntaxError as exc:
        raise ParseError(f"malformed XML: {exc}", code="bad_xml") from exc


def _strip_namespaces(root: Element) -> None:
    # expat reports namespaced names as "uri}Local" (the parser's separator is "}"); a
    # statement repeats a few dozen names, so each is split once and then looked up.
    local: dict[str, str] = {}
    for el in root.iter():
        tag = el.tag
        name = local.get(tag)
        if name is None:
            name = local[tag] = tag.rpartition("}")[2]
        el.tag = name


def _entry_notices(
    entry: Element,
    account_ccy: str | None,
    warnings: list[Note],
    account: str | None = None,
    statement_ref: str | None = None,
) -> Iterator[PaymentNotice]:
    sts = entry.find("Sts")
    status = "BOOK" if sts is None else (_clean(sts.findtext("Cd")) or _clean(sts.text) or "")
    status = status.upper()
    entry_ref = _clean(entry.findtext("AcctSvcrRef")) or _clean(entry.findtext("NtryRef"))
    if status != "BOOK":
        warnings.append(not_booked(entry_ref, status))
        return
    amount_el = entry.find("Amt")
    if amount_el is None:
        raise ParseError(f"entry {entry_ref or '?'} has no amount", code="bad_camt")
    entry_cents = _cents(amount_el)
    entry_ccy = amount_el.get("Ccy") or account_ccy or ""
    indicator = entry.findtext("CdtDbtInd")
    reversal = (entry.findtext("RvslInd") or "").strip().lower() in ("true", "1")
    entry_return = _return_code(entry) or ("RV" if reversal else None)
    entry_dir = _direction(indicator, entry_return)
    booked = _date(entry.find("BookgDt")) or _date(entry.find("ValDt"))
    entry_info = _clean(entry.findtext("AddtlNtryInf"))
    base = _Base(booked, entry_info, account, statement_ref, _codes(entry))
    txs = [tx for details in entry.findall("NtryDtls") for tx in details.findall("TxDtls")]
    if not txs:
        yield _notice(None, entry_cents, entry_ccy, entry_dir, base, entry_ref, entry_return)
        return
    amounts = [_tx_amount(tx) for tx in txs]
    if len(txs) > 1 and any(a is None for a in amounts):
        warning = batch_without_amounts(entry_ref, len(txs))
        warnings.append(warning)
        yield _notice(txs, entry_cents, entry_ccy, entry_dir, base, entry_ref, entry_return, warning)
        return
    total = 0
    out: list[PaymentNotice] = []
    for index, (tx, amount) in enumerate(zip(txs, amounts, strict=True), start=1):
        if amount is None:
            cents, ccy = entry_cents, entry_ccy
        else:
            cents, ccy = _cents(amount), amount.get("Ccy") or entry_ccy
        total += cents
        refs = tx.find("Refs")
        tx_ref = None if refs is None else _clean(refs.findtext("AcctSvcrRef"))
        if not tx_ref and entry_ref:
            tx_ref = entry_ref if len(txs) == 1 else f"{entry_ref}/{index}"
        tx_return = _return_code(tx) or entry_return
        direction = entry_dir
        if entry_dir is Direction.REVERSAL:
            pass  # a reversal stays one, whatever the copied transaction says
        elif tx.findtext("CdtDbtInd"):
            direction = _direction(tx.findtext("CdtDbtInd"), tx_return)
        elif tx_return and not entry_return:
            direction = _direction(indicator, tx_return)
        out.append(_notice([tx], cents, ccy, direction, base, tx_ref, tx_return))
    if len(txs) > 1 and total != entry_cents:
        warning = amounts_disagree(entry_ref, total, entry_cents, entry_ccy)
        warnings.append(warning)
        out = [replace(n, warning=warning) for n in out]
    yield from out


@dataclass(frozen=True)
class _Base:
    """What every notice of one entry shares."""

    booked: date | None
    info: str | None
    account: str | None
    statement_ref: str | None
    codes: str


def _codes(el: Element) -> str:
    """The bank transaction code of an entry/transaction, as one string (for identity)."""
    code = el.find("BkTxCd")
    if code is None:
        return ""
    return " ".join(t.strip() for t in code.itertext() if t.strip())


def _return_code(el: Element) -> str | None:
    """Why this entry/transaction is a return: the reason code (AC04...), else the return
    transaction code (RRTN...); None when it is not a return."""
    reason = _at(el, "RtrInf", "Rsn", "Cd")
    if reason is None:
        reason = _at(el, "RtrInf", "Rsn", "Prtry")
    if reason is not None and _clean(reason.text):
        return (_clean(reason.text) or "").upper()[:8]
    code = el.find("BkTxCd")
    if code is None:
        return None
    sub = _clean(_text(code, "Domn", "Fmly", "SubFmlyCd"))
    if sub and sub.upper() in RETURN_CODES:
        return sub.upper()
    proprietary = (_text(code, "Prtry", "Cd") or "").upper()
    for token in re.split(r"[^A-Z]+", proprietary):
        if token in RETURN_CODES:
            return token
    return None


def _notice(
    txs: list[Element] | None,
    cents: int,
    currency: str,
    direction: Direction,
    base: _Base,
    entry_ref: str | None,
    return_code: str | None = None,
    warning: Note | None = None,
) -> PaymentNotice:
    name = iban = reference = None
    remittance_parts: list[str] = []
    detail_parts = [base.codes]
    for tx in txs or []:
        party = "Cdtr" if direction is Direction.DEBIT else "Dbtr"
        parties = tx.find("RltdPties")
        if direction is Direction.REVERSAL and parties is not None and parties.find("Dbtr") is None:
            party = "Cdtr"  # a return names the original payer as the one paid back
        if parties is not None:
            who = parties.find(party)
            if who is not None and name is None:
                name = _clean(who.findtext("Nm")) or _text(who, "Pty", "Nm")
            iban = iban or _text(parties, f"{party}Acct", "Id", "IBAN")
        refs = tx.find("Refs")
        if refs is not None:
            detail_parts += [" ".join(t.split()) for t in refs.itertext() if t.strip()]
        detail_parts.append(_codes(tx))
        remittance_info = tx.find("RmtInf")
        structured = [] if remittance_info is None else remittance_info.findall("Strd")
        tx_parts: list[str] = []
        for strd in structured:
            ref = _text(strd, "CdtrRefInf", "Ref")
            if ref:
                if reference is None:
                    reference = canonical_rf(ref) or ref
                if len(txs or []) > 1:
                    tx_parts.append(ref)
            extra = _clean(strd.findtext("AddtlRmtInf"))
            if extra:
                tx_parts.append(extra)
        if remittance_info is not None:
            free = [_clean(x.text) for x in remittance_info.findall("Ustrd")]
            tx_parts[:0] = [u for u in free if u]
        if not tx_parts:
            extra = _clean(tx.findtext("AddtlTxInf"))
            if extra:
                tx_parts.append(extra)
        remittance_parts += tx_parts
    if not remittance_parts and base.info:
        remittance_parts.append(base.info)
    remittance = " ".join(remittance_parts)[:MAX_REMITTANCE] or None
    if reference is None and remittance:
        found = find_rf_references(remittance)
        reference = found[0] if found else None
    if txs and len(txs) > 1:
        reference = None  # several references: the batch rule decides, from the text
    return PaymentNotice(
        amount_cents=cents,
        currency=currency.upper(),
        booking_date=base.booked,
        direction=direction,
        payer_name=name,
        payer_iban=iban.replace(" ", "").upper() if iban else None,
        reference=reference,
        remittance=remittance,
        entry_ref=entry_ref,
        account_iban=base.account,
        statement_ref=base.statement_ref,
        details=" ".join(p for p in [*detail_parts, base.info or ""] if p) or None,
        return_code=return_code,
        warning=warning,
    )


def _tx_amount(tx: Element) -> Element | None:
    amount = tx.find("Amt")
    if amount is None:
        amount = _at(tx, "AmtDtls", "TxAmt", "Amt")
    if amount is None:
        amount = _at(tx, "AmtDtls", "InstdAmt", "Amt")
    return amount


def _direction(indicator: str | None, return_code: str | None) -> Direction:
    """A return taking money back (DBIT) is a reversal; a credit stays a credit (marked as
    a return by its code, it never settles by itself)."""
    ind = (indicator or "").strip().upper()
    if ind == "CRDT":
        return Direction.CREDIT
    if ind == "DBIT":
        return Direction.REVERSAL if return_code else Direction.DEBIT
    raise ParseError(f"unknown credit/debit indicator {indicator!r}", code="bad_camt")


def _cents(el: Element) -> int:
    try:
        value = Decimal((el.text or "").strip())
    except InvalidOperation as exc:
        raise ParseError(f"bad amount {el.text!r}", code="bad_camt") from exc
    if value < 0:
        raise ParseError(f"negative amount {el.text!r}", code="bad_camt")
    return decimal_to_cents(value)


def _date(el: Element | None) -> date | None:
    if el is None:
        return None
    raw = (el.findtext("Dt") or el.findtext("DtTm") or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw[:10])
    except ValueError as exc:
        raise ParseError(f"bad date {raw!r}", code="bad_camt") from exc


def _at(el: Element | None, *names: str) -> Element | None:
    """Descend by local names, one plain step at a time (C-speed `find`)."""
    for name in names:
        if el is None:
            return None
        el = el.find(name)
    return el


def _text(el: Element | None, *names: str) -> str | None:
    """Whitespace-normalised text of the element at `names` (or `el` itself), or None."""
    target = _at(el, *names)
    return None if target is None else _clean(target.text)


def _clean(value: str | None) -> str | None:
    if not value:
        return None
    return " ".join(value.split()) or None
