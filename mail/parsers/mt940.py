"""SWIFT MT940 statements: the mt-940 library first, a tolerant reader of our own second.

The `?31` sub-field of a German `:86:` is the payer's account: the parser's
`applicant_iban` option files it as an IBAN instead of gluing it to the payer's name.

The statement's own account (`:25:`) is copied to every notice as `account_iban`, compacted
and upper-cased: an IBAN when the bank writes one, else its "BANKCODE/ACCOUNT" form as is
(storage.payments.account_is_ours compares that form against the digits of our IBAN).

Identity: only the bank reference (after `//` on the `:61:` line) can be the bank's id of
an entry, and only when it is not a placeholder and not repeated within the file. The
customer reference (`EREF`, `NONREF`, Rabobank's fixed texts) never is: it goes, with the
rest of the `:61:`/`:86:` text, into the details the entry's fingerprint is made of.

Real banks write MT940 the library refuses (supplementary details on their own line, as
ASN does) or reads as empty (an amount wrapped to the next line): when the library fails,
or returns fewer transactions than the file has `:61:` lines, the fallback reader below
reads the file; when that fails too the reason names the line, never a Python object.

Returns: `RC` (reversal of a credit) and a debit whose `:86:` carries `/RTRN/<code>/` are
reversals; `RD` (reversal of a debit, money back to us) is a credit marked as a return so
that it never settles an invoice by itself.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import mt940 as mt940lib

from mail.parsers.amounts import decimal_to_cents
from mail.parsers.common import assign_identities, is_placeholder
from mail.parsers.errors import ParseError
from mail.parsers.references import find_rf_references
from storage.payments.notices import Direction, PaymentNotice

__all__ = ["is_mt940", "parse_mt940", "parse_mt940_fallback"]

log = logging.getLogger(__name__)

_OPTIONS = mt940lib.Options(
    applicant_iban=True,
    merge_keeps_values=True,
    reversal_sign=True,
    case_insensitive_marks=True,
    unbounded_details=True,
    strip_bom=True,
)
_TAG20 = re.compile(rb"(?m)^\s*:20:")
_BODY = re.compile(rb"(?m)^\s*:(?:60F|60M|61|62F):")
_LINE61 = re.compile(r"(?m)^\s*:61:")
_RETURN = re.compile(r"/RTRN/([A-Z0-9]{2,4})/", re.IGNORECASE)
MAX_REMITTANCE = 1000


def is_mt940(data: bytes) -> bool:
    """Cheap sniff: a `:20:` line and a balance or transaction line."""
    head = data[:65536]
    return bool(_TAG20.search(head) and _BODY.search(head))


def parse_mt940(data: bytes) -> list[PaymentNotice]:
    """Every `:61:` transaction of an MT940 file. Raises ParseError when unreadable."""
    text = _decode(data)
    expected = len(_LINE61.findall(text))
    try:
        notices = _with_library(text)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, RuntimeError) as exc:
        log.info("mt-940 library refused a file (%s): trying the fallback reader", type(exc).__name__)
        return parse_mt940_fallback(data)
    if len(notices) != expected:
        log.info("mt-940 library read %d of %d transactions: fallback", len(notices), expected)
        return parse_mt940_fallback(data)
    return assign_identities(notices, min_length=4)


def _with_library(text: str) -> list[PaymentNotice]:
    statements = mt940lib.parse_statements(io.StringIO(text), options=_OPTIONS)
    notices = []
    for statement in statements:
        account = _clean(statement.data.get("account_identification"))
        account = "".join(account.split()).upper() if account else None
        number = _clean(statement.data.get("statement_number"))
        sequence = _clean(statement.data.get("sequence_number"))
        statement_ref = "/".join(x for x in (number, sequence) if x) or None
        for transaction in statement:
            notices.append(_notice(transaction.data, statement.currency, account, statement_ref))
    return notices


def _direction(status: str, details: str) -> tuple[Direction, str | None]:
    """(direction, return code) of a `:61:` debit/credit mark and its details."""
    status = status.upper()
    found = _RETURN.search(details)
    code = found.group(1).upper() if found else None
    if status == "RC":
        return Direction.REVERSAL, code or "RV"
    if status == "RD":
        return Direction.CREDIT, code or "RV"
    if status == "D":
        return (Direction.REVERSAL, code) if code else (Direction.DEBIT, None)
    if status == "C":
        return Direction.CREDIT, code
    raise ParseError(f"unknown MT940 debit/credit mark {status!r}", code="bad_mt940")


def _notice(
    data: dict[str, Any],
    statement_currency: str | None,
    account: str | None = None,
    statement_ref: str | None = None,
) -> PaymentNotice:
    amount = data.get("amount")
    if amount is None:
        raise ParseError("MT940 transaction without an amount", code="bad_mt940")
    raw_details = "|".join(
        str(data.get(k) or "")
        for k in ("id", "customer_reference", "bank_reference", "extra_details", "transaction_details")
    )
    direction, return_code = _direction(str(data.get("status") or ""), raw_details)
    remittance = _clean(data.get("purpose")) or _clean(data.get("transaction_details"))
    e2e = _clean(data.get("end_to_end_reference"))
    if e2e and not is_placeholder(e2e) and e2e not in (remittance or ""):
        remittance = f"{remittance} {e2e}" if remittance else e2e
    found = find_rf_references(remittance or "")
    iban = _clean(data.get("applicant_iban"))
    name = _clean(data.get("applicant_name"))
    details = str(data.get("transaction_details") or "")
    if name is None and details.startswith("/"):  # Dutch structured :86: (/NAME/, /IBAN/)
        name, iban86, _ = _read_86(details)
        iban = iban or iban86
    raw_date = data.get("entry_date") or data.get("date")
    booked = date(raw_date.year, raw_date.month, raw_date.day) if raw_date else None
    return PaymentNotice(
        amount_cents=abs(decimal_to_cents(amount.amount)),
        currency=str(amount.currency or statement_currency or "").upper(),
        booking_date=booked,
        direction=direction,
        payer_name=name,
        payer_iban=iban.replace(" ", "").upper() if iban else None,
        reference=found[0] if found else None,
        remittance=remittance[:MAX_REMITTANCE] if remittance else None,
        entry_ref=_clean(data.get("bank_reference")),
        account_iban=account,
        statement_ref=statement_ref,
        details=" ".join(raw_details.split()),
        return_code=return_code,
    )


# ---------------------------------------------------------------- fallback reader

_BLOCK_HEAD = re.compile(r"\{[1-3]:[^{}]*\}|\{4:|-?\}\s*(\{5:[^{}]*\})?|\{5:[^{}]*\}")
_FIELD = re.compile(r"^\s*:(\d{2}[A-Z]?):(.*)$")
_61 = re.compile(
    r"^(?P<vy>\d{2})(?P<vm>\d{2})(?P<vd>\d{2})(?P<em>\d{2})?(?P<ed>\d{2})?"
    r"(?P<mark>R?[DC])(?P<funds>[A-Z])?\s*(?P<amount>\d[\d,]{0,17})"
    r"(?P<type>[A-Z][A-Z0-9]{3})?(?P<customer>(?:(?!//)[^\n])*)"
    r"(?://(?P<bank>[^\n]*))?(?:\n(?P<extra>.*))?$",
    re.DOTALL,
)
_GERMAN = re.compile(r"\?(\d{2})")


@dataclass
class _Statement:
    account: str | None = None
    number: str | None = None
    currency: str | None = None
    lines: list[tuple[int, str, str]] = field(default_factory=list)  # (line, :61:, :86:)


def parse_mt940_fallback(data: bytes) -> list[PaymentNotice]:
    """Read an MT940 file line by line, forgiving the layouts real banks use. Raises a
    ParseError naming the line it could not read."""
    statements = _fields(_decode(data))
    notices = []
    for st in statements:
        for line_no, line61, details in st.lines:
            notices.append(_fallback_notice(st, line_no, line61, details))
    if not notices and not any(st.number or st.account for st in statements):
        raise ParseError("no MT940 statement found", code="bad_mt940")
    return assign_identities(notices, min_length=4)


def _fields(text: str) -> list[_Statement]:
    statements: list[_Statement] = []
    current: list[Any] | None = None  # [tag, value, line]
    collected: list[tuple[str, str, int]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _BLOCK_HEAD.sub("", raw).rstrip()
        if not line.strip() or line.strip() == "-":
            continue
        m = _FIELD.match(line)
        if m:
            if current is not None:
                collected.append((current[0], current[1], current[2]))
            current = [m.group(1), m.group(2), number]
        elif current is not None:
            current[1] += "\n" + line.strip()
    if current is not None:
        collected.append((current[0], current[1], current[2]))
    st: _Statement | None = None
    for tag, value, line_no in collected:
        if tag == "20" or st is None:
            st = _Statement()
            statements.append(st)
        if tag == "25":
            st.account = "".join(value.split()).upper() or None
        elif tag.startswith("28"):
            st.number = " ".join(value.split()) or None
        elif tag.startswith("60") and len(value) >= 10:
            st.currency = value[7:10].upper()
        elif tag == "61":
            st.lines.append((line_no, value, ""))
        elif tag == "86" and st.lines and not st.lines[-1][2]:
            last = st.lines[-1]
            st.lines[-1] = (last[0], last[1], value)
    return statements


def _fallback_notice(st: _Statement, line_no: int, line61: str, details: str) -> PaymentNotice:
    m = _61.match(line61.strip())
    if m is None:
        shown = " ".join(line61.split())[:60]
        raise ParseError(f"line {line_no}: cannot read the :61: transaction line {shown!r}", code="bad_mt940")
    try:
        amount = Decimal(m.group("amount").replace(",", "."))
        value_date = date(2000 + int(m.group("vy")), int(m.group("vm")), int(m.group("vd")))
        booked = value_date
        if m.group("em") and m.group("ed"):
            month, day = int(m.group("em")), int(m.group("ed"))
            year = value_date.year + (
                1
                if value_date.month == 12 and month == 1
                else -1
                if value_date.month == 1 and month == 12
                else 0
            )
            booked = date(year, month, day)
    except (InvalidOperation, ValueError) as exc:
        raise ParseError(f"line {line_no}: bad date or amount in the :61: line", code="bad_mt940") from exc
    raw_details = " ".join(f"{line61}|{details}".split())
    direction, return_code = _direction(m.group("mark"), raw_details)
    name, iban, remittance = _read_86(details)
    found = find_rf_references(remittance or "")
    currency = (st.currency or "").upper()
    if m.group("funds") and not currency:
        currency = ""
    return PaymentNotice(
        amount_cents=abs(decimal_to_cents(amount)),
        currency=currency,
        booking_date=booked,
        direction=direction,
        payer_name=name,
        payer_iban=iban,
        reference=found[0] if found else None,
        remittance=remittance[:MAX_REMITTANCE] if remittance else None,
        entry_ref=_clean(m.group("bank")),
        account_iban=st.account,
        statement_ref=st.number,
        details=raw_details,
        return_code=return_code,
    )


def _read_86(details: str) -> tuple[str | None, str | None, str | None]:
    """(payer name, payer IBAN, remittance) of a `:86:`: German `?NN` sub-fields,
    slash-structured (`/NAME/../REMI/..`) or free text."""
    text = details.replace("\n", "")
    if _GERMAN.search(text[:6]):
        parts: dict[str, str] = {}
        pieces = _GERMAN.split(text)
        for code, value in zip(pieces[1::2], pieces[2::2], strict=False):
            parts[code] = parts.get(code, "") + value
        remittance = _clean(
            "".join(parts.get(f"{n}", "") for n in range(20, 30))
            + " "
            + "".join(parts.get(f"{n}", "") for n in range(60, 64))
        )
        name = _clean(parts.get("32", "") + parts.get("33", ""))
        iban = _clean(parts.get("31"))
        return name, iban.replace(" ", "").upper() if iban else None, remittance
    if text.startswith("/"):
        fields = dict(re.findall(r"/(NAME|REMI|IBAN|ACCW|EREF)/+([^/]*)", text))
        name = _clean(fields.get("NAME"))
        remittance = _clean(fields.get("REMI")) or _clean(text)
        account = _clean(fields.get("IBAN")) or _clean((fields.get("ACCW") or "").split(",")[0])
        return name, account, remittance
    return None, None, _clean(details)


def _decode(data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return text.lstrip("\ufeff")


def _clean(value: object) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None
