"""Build camt.053 / camt.054 documents the way banks write them, for tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.sax.saxutils import escape


@dataclass
class Tx:
    amount: str | None
    name: str | None = None
    iban: str | None = None
    ref: str | None = None  # structured creditor reference
    ustrd: list[str] = field(default_factory=list)
    tx_ref: str | None = None  # AcctSvcrRef of the transaction
    ccy: str = "EUR"


@dataclass
class Entry:
    amount: str
    txs: list[Tx] = field(default_factory=list)
    indicator: str = "CRDT"
    reversal: bool = False
    ref: str | None = "ENTRY-1"
    ntry_ref: str | None = None
    booked: str = "2026-03-02"
    booked_as_datetime: bool = False
    status: str = "BOOK"
    info: str | None = None
    ccy: str = "EUR"


def _tx_xml(tx: Tx, version: int) -> str:
    out = ["<TxDtls>"]
    if tx.tx_ref:
        out.append(f"<Refs><AcctSvcrRef>{escape(tx.tx_ref)}</AcctSvcrRef></Refs>")
    if tx.amount is not None:
        if version >= 3:
            out.append(f'<Amt Ccy="{tx.ccy}">{tx.amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>')
        else:
            out.append(f'<AmtDtls><TxAmt><Amt Ccy="{tx.ccy}">{tx.amount}</Amt></TxAmt></AmtDtls>')
    if tx.name or tx.iban:
        out.append("<RltdPties>")
        if tx.name:
            name = f"<Nm>{escape(tx.name)}</Nm>"
            out.append(f"<Dbtr><Pty>{name}</Pty></Dbtr>" if version >= 8 else f"<Dbtr>{name}</Dbtr>")
        if tx.iban:
            out.append(f"<DbtrAcct><Id><IBAN>{tx.iban}</IBAN></Id></DbtrAcct>")
        out.append("</RltdPties>")
    if tx.ref or tx.ustrd:
        out.append("<RmtInf>")
        out.extend(f"<Ustrd>{escape(u)}</Ustrd>" for u in tx.ustrd)
        if tx.ref:
            out.append(
                "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp>"
                f"<Ref>{escape(tx.ref)}</Ref></CdtrRefInf></Strd>"
            )
        out.append("</RmtInf>")
    out.append("</TxDtls>")
    return "".join(out)


def entry_xml(e: Entry, version: int) -> str:
    status = f"<Sts><Cd>{e.status}</Cd></Sts>" if version >= 6 else f"<Sts>{e.status}</Sts>"
    booked = f"<DtTm>{e.booked}T10:11:12+01:00</DtTm>" if e.booked_as_datetime else f"<Dt>{e.booked}</Dt>"
    out = ["<Ntry>"]
    if e.ntry_ref:
        out.append(f"<NtryRef>{e.ntry_ref}</NtryRef>")
    out.append(f'<Amt Ccy="{e.ccy}">{e.amount}</Amt><CdtDbtInd>{e.indicator}</CdtDbtInd>')
    if e.reversal:
        out.append("<RvslInd>true</RvslInd>")
    out.append(f"{status}<BookgDt>{booked}</BookgDt><ValDt><Dt>{e.booked}</Dt></ValDt>")
    if e.ref:
        out.append(f"<AcctSvcrRef>{e.ref}</AcctSvcrRef>")
    out.append("<BkTxCd><Domn><Cd>PMNT</Cd></Domn></BkTxCd>")
    if e.txs:
        out.append("<NtryDtls>")
        if len(e.txs) > 1:
            out.append(f"<Btch><NbOfTxs>{len(e.txs)}</NbOfTxs></Btch>")
        out.extend(_tx_xml(tx, version) for tx in e.txs)
        out.append("</NtryDtls>")
    if e.info:
        out.append(f"<AddtlNtryInf>{escape(e.info)}</AddtlNtryInf>")
    out.append("</Ntry>")
    return "".join(out)


def camt(kind: str, entries: list[Entry], version: int = 8, *, namespace: bool = True) -> bytes:
    """A whole camt.053 (`kind="053"`) or camt.054 (`kind="054"`) document."""
    body, container = {"053": ("BkToCstmrStmt", "Stmt"), "054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn")}[kind]
    ns = f' xmlns="urn:iso:std:iso:20022:tech:xsd:camt.{kind}.001.{version:02d}"' if namespace else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Document{ns}><{body}>'
        "<GrpHdr><MsgId>MSG-1</MsgId><CreDtTm>2026-03-02T18:00:00</CreDtTm></GrpHdr>"
        f"<{container}><Id>R-1</Id><CreDtTm>2026-03-02T18:00:00</CreDtTm>"
        "<Acct><Id><IBAN>FR7630006000011234567890189</IBAN></Id><Ccy>EUR</Ccy></Acct>"
        + "".join(entry_xml(e, version) for e in entries)
        + f"</{container}></{body}></Document>"
    ).encode()
