"""Bank messages for the inbox tests: camt/MT940/text bodies, trusted or forged headers, DKIM."""

from __future__ import annotations

import base64
import itertools
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from functools import cache
from typing import Any

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mail.inbox import InboxRules
from tests.payment_fixtures import NOW, OUR_IBAN

BANK = "notifications@bank.example"
AUTHSERV = "mx.entonnoir.test"
SELECTOR = b"test"
_entries = itertools.count(1)


@dataclass
class Tx:
    """One transaction of a camt entry."""

    amount: str
    payer: str = "ACME SA"
    iban: str | None = None
    rf: str | None = None
    ustrd: str | None = None


@dataclass
class Entry:
    amount: str
    txs: list[Tx] = field(default_factory=list)
    credit: bool = True
    reversal: bool = False
    ref: str | None = None
    info: str | None = None


def _tx(tx: Tx) -> str:
    rmt = ""
    if tx.rf:
        rmt += f"<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp><Ref>{tx.rf}</Ref></CdtrRefInf></Strd>"
    if tx.ustrd:
        rmt += f"<Ustrd>{tx.ustrd}</Ustrd>"
    acct = f"<DbtrAcct><Id><IBAN>{tx.iban}</IBAN></Id></DbtrAcct>" if tx.iban else ""
    return (
        f'<TxDtls><AmtDtls><TxAmt><Amt Ccy="EUR">{tx.amount}</Amt></TxAmt></AmtDtls>'
        f"<RltdPties><Dbtr><Nm>{tx.payer}</Nm></Dbtr>{acct}</RltdPties>"
        f"<RmtInf>{rmt}</RmtInf></TxDtls>"
    )


def _entry(e: Entry) -> str:
    ref = e.ref or f"ACC-{next(_entries):06d}"
    details = "".join(_tx(t) for t in e.txs)
    return (
        f'<Ntry><NtryRef>{ref}</NtryRef><Amt Ccy="EUR">{e.amount}</Amt>'
        f"<CdtDbtInd>{'CRDT' if e.credit else 'DBIT'}</CdtDbtInd>"
        + ("<RvslInd>true</RvslInd>" if e.reversal else "")
        + "<Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-11-26</Dt></BookgDt>"
        f"<AcctSvcrRef>{ref}</AcctSvcrRef>"
        + (f"<NtryDtls>{details}</NtryDtls>" if details else "")
        + (f"<AddtlNtryInf>{e.info}</AddtlNtryInf>" if e.info else "")
        + "</Ntry>"
    )


def camt(kind: str, entries: list[Entry], version: str = "08", account: str = OUR_IBAN) -> bytes:
    """A camt.053 (statement) or camt.054 (notification) document about `account`."""
    root, block = ("BkToCstmrStmt", "Stmt") if kind == "053" else ("BkToCstmrDbtCdtNtfctn", "Ntfctn")
    body = "".join(_entry(e) for e in entries)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>'
        f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.{kind}.001.{version}"><{root}>'
        f"<GrpHdr><MsgId>M{next(_entries)}</MsgId><CreDtTm>2026-11-26T18:00:00</CreDtTm></GrpHdr>"
        f"<{block}><Id>S1</Id><CreDtTm>2026-11-26T18:00:00</CreDtTm>"
        f"<Acct><Id><IBAN>{account}</IBAN></Id><Ccy>EUR</Ccy></Acct>"
        f"{body}</{block}></{root}></Document>"
    ).encode()


@cache
def _key() -> tuple[bytes, bytes]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem, base64.b64encode(public)


def dns_lookup(name: bytes | str, timeout: int = 5) -> bytes | None:
    """The test DNS: the DKIM key of `test._domainkey.` for any domain."""
    text = name.decode() if isinstance(name, bytes) else name
    if text.startswith(SELECTOR.decode() + "._domainkey."):
        return b"v=DKIM1; k=rsa; p=" + _key()[1]
    return None


def rules(**extra: Any) -> InboxRules:
    values: dict[str, Any] = {
        "allowed_senders": (BANK,),
        "authserv_id": AUTHSERV,
        "dns_lookup": dns_lookup,
        "company_ibans": (OUR_IBAN,),
        **extra,
    }
    return InboxRules(**values)


def bank_mail(
    *,
    attachments: list[tuple[str, bytes, str]] = (),  # type: ignore[assignment]
    text: str = "Avis de crédit / credit advice",
    sender: str = BANK,
    trusted: bool = True,
    auth_results: list[str] | None = None,
    dkim_domain: str | None = None,
    message_id: str | None = None,
    subject: str = "Avis d'opération",
) -> bytes:
    """A bank email; trusted ones carry our receiving server's Authentication-Results."""
    msg = EmailMessage()
    msg["From"] = f"Banque Exemple <{sender}>"
    msg["To"] = "factures@entonnoir.example"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(NOW)
    msg["Message-ID"] = message_id or make_msgid(domain="bank.example")
    msg.set_content(text)
    for name, data, mime in attachments:
        main, sub = mime.split("/")
        msg.add_attachment(data, maintype=main, subtype=sub, filename=name)
    raw = msg.as_bytes().replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n")
    if dkim_domain is not None:
        signature = dkim.sign(
            raw,
            SELECTOR,
            dkim_domain.encode(),
            _key()[0],
            include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
        )
        raw = signature.replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n") + raw
    headers = list(auth_results or [])
    if trusted:
        domain = sender.rpartition("@")[2]
        headers.insert(
            0,
            f"Authentication-Results: {AUTHSERV}; dkim=pass header.d={domain}; "
            f"spf=pass smtp.mailfrom={sender}",
        )
    headers.append(
        f"Received: from mx.bank.example (mx.bank.example [192.0.2.7])\r\n"
        f"\tby {AUTHSERV} (Postfix) with ESMTPS id 4Xb2; Thu, 26 Nov 2026 18:00:01 +0100"
    )
    prefix = "".join(h + "\r\n" for h in headers).encode()
    return prefix + raw
