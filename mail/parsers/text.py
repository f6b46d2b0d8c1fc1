"""Plain-text and HTML bank notification emails, read through per-sender templates.

Templates live in a TOML file (`settings.bank_templates_file`, default: the
`bank_templates.toml` shipped next to this module). Each `[[template]]` names the senders
it applies to (addresses, or domains that also cover their subdomains) and regular
expressions for the amount, payer, reference and date. In a pattern, `%AMOUNT%` stands
for a built-in pattern matching amounts in French and English forms
(`1 200,00 €`, `EUR 1,200.00`). An `account` pattern reads the account credited (ours):
a template without one gives notices without an account, which never settle by
themselves. The value is the named group of the field
(`(?P<amount>...)`), else group 1, else the whole match.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast

from mail.parsers.amounts import parse_bank_amount
from mail.parsers.errors import ParseError, TemplateConfigError
from mail.parsers.references import canonical_rf, find_rf_references
from storage.payments.notices import Direction, PaymentNotice

__all__ = [
    "AMOUNT_PATTERN",
    "BankTemplate",
    "TextResult",
    "html_to_text",
    "load_templates",
    "parse_text",
    "templates_for",
]

AMOUNT_PATTERN = (
    r"(?:(?:[A-Z]{3}|[€$£])[ \u00a0\u202f]?)?[+-]?[ \u00a0\u202f]?[0-9]"
    r"(?:[0-9]|[ \u00a0\u202f'’.,](?=[0-9]))*(?:[ \u00a0\u202f]?(?:[A-Z]{3}\b|[€$£]))?"
)
MAX_BODY_CHARS = 200_000
_FIELDS = ("amount", "payer", "reference", "date", "iban", "entry_ref", "account")
_MONTHS = {
    **{m: i for i, m in enumerate(
        ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
         "septembre", "octobre", "novembre", "décembre"], start=1)},
    **{m: i for i, m in enumerate(
        ["january", "february", "march", "april", "may", "june", "july", "august",
         "september", "october", "november", "december"], start=1)},
    "fevrier": 2, "aout": 8, "decembre": 12,
}  # fmt: skip
_WORD_DATE = re.compile(r"(\d{1,2})(?:er)?\s+([^\W\d_]+)\.?\s+(\d{4})|([^\W\d_]+)\s+(\d{1,2}),?\s+(\d{4})")


@dataclass(frozen=True)
class BankTemplate:
    """How one bank writes its payment notifications."""

    name: str
    senders: tuple[str, ...]
    amount: re.Pattern[str]
    payer: re.Pattern[str] | None = None
    reference: re.Pattern[str] | None = None
    date: re.Pattern[str] | None = None
    iban: re.Pattern[str] | None = None
    entry_ref: re.Pattern[str] | None = None
    account: re.Pattern[str] | None = None  # OUR account the bank credited (IBAN)
    subject: re.Pattern[str] | None = None
    trigger: re.Pattern[str] | None = None
    date_formats: tuple[str, ...] = ("%d/%m/%Y", "%d.%m.%Y", "%Y-%m-%d")
    decimal_mark: Literal[",", "."] | None = None
    currency: str = "EUR"
    direction: Direction = Direction.CREDIT

    def applies_to(self, sender: str) -> bool:
        """Is `sender` (an address) one of this template's senders?"""
        address = sender.strip().lower()
        domain = address.rpartition("@")[2]
        for entry in self.senders:
            if "@" in entry:
                if address == entry:
                    return True
            elif domain == entry or domain.endswith("." + entry):
                return True
        return False


@dataclass
class TextResult:
    """Notices read from a notification email, or why none was."""

    notices: list[PaymentNotice] = field(default_factory=list)
    reason: str | None = None
    template: str | None = None


def load_templates(path: Path | None = None) -> list[BankTemplate]:
    """Read a templates file (the shipped default when `path` is None).

    Fails loudly (TemplateConfigError naming the template and key) on a bad file."""
    try:
        if path is None:
            raw = resources.files("mail.parsers").joinpath("bank_templates.toml").read_text("utf-8")
        else:
            raw = Path(path).read_text(encoding="utf-8")
        config = tomllib.loads(raw)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise TemplateConfigError(f"bank templates file {path or 'default'}: {exc}") from exc
    entries = config.get("template", [])
    if not isinstance(entries, list):
        raise TemplateConfigError("bank templates file: expected [[template]] tables")
    return [_template(entry, index) for index, entry in enumerate(entries, start=1)]


def _template(entry: dict[str, Any], index: int) -> BankTemplate:
    name = str(entry.get("name") or f"template #{index}")

    def fail(key: str, why: str) -> TemplateConfigError:
        return TemplateConfigError(f"bank template {name!r}: {key}: {why}")

    def pattern(key: str, required: bool = False) -> re.Pattern[str] | None:
        value = entry.get(key)
        if value is None:
            if required:
                raise fail(key, "missing")
            return None
        if not isinstance(value, str):
            raise fail(key, "must be a string")
        try:
            return re.compile(value.replace("%AMOUNT%", AMOUNT_PATTERN), re.MULTILINE)
        except re.error as exc:
            raise fail(key, f"bad regular expression: {exc}") from exc

    senders = entry.get("senders")
    if not senders or not isinstance(senders, list) or not all(isinstance(s, str) for s in senders):
        raise fail("senders", "a non-empty list of addresses or domains")
    mark = entry.get("decimal_mark")
    if mark not in (None, ",", "."):
        raise fail("decimal_mark", 'must be "," or "."')
    try:
        direction = Direction(entry.get("direction", "credit"))
    except ValueError as exc:
        raise fail("direction", "credit, debit or reversal") from exc
    formats = entry.get("date_formats", ["%d/%m/%Y", "%d.%m.%Y", "%Y-%m-%d"])
    currency = str(entry.get("currency", "EUR")).upper()
    if len(currency) != 3 or not currency.isalpha():
        raise fail("currency", "a three-letter code such as EUR")
    amount = pattern("amount", required=True)
    assert amount is not None
    return BankTemplate(
        name=name,
        senders=tuple(s.strip().lower() for s in senders),
        amount=amount,
        payer=pattern("payer"),
        reference=pattern("reference"),
        date=pattern("date"),
        iban=pattern("iban"),
        entry_ref=pattern("entry_ref"),
        account=pattern("account"),
        subject=pattern("subject"),
        trigger=pattern("trigger"),
        date_formats=tuple(str(f) for f in formats),
        decimal_mark=cast(Literal[",", "."] | None, mark),
        currency=currency,
        direction=direction,
    )


def templates_for(sender: str, templates: list[BankTemplate]) -> list[BankTemplate]:
    """The templates that apply to this sender address, in file order."""
    return [t for t in templates if t.applies_to(sender)]


def parse_text(body: str, *, sender: str, subject: str = "", templates: list[BankTemplate]) -> TextResult:
    """Read one notification body (plain text; convert HTML with `html_to_text` first).

    The first template of the sender whose subject/trigger match and whose amount is
    found wins. Otherwise the result says why nothing was read."""
    candidates = templates_for(sender, templates)
    if not candidates:
        return TextResult(reason=f"no bank template for sender {_domain(sender)}")
    text = body[:MAX_BODY_CHARS]
    reasons = []
    for template in candidates:
        if template.subject and not template.subject.search(subject or ""):
            reasons.append(f"{template.name}: subject does not match")
            continue
        if template.trigger and not template.trigger.search(text):
            reasons.append(f"{template.name}: not a payment notification")
            continue
        try:
            notice = _read(template, text)
        except ParseError as exc:
            reasons.append(f"{template.name}: {exc}")
            continue
        return TextResult(notices=[notice], template=template.name)
    return TextResult(reason="; ".join(reasons))


def _read(template: BankTemplate, text: str) -> PaymentNotice:
    raw_amount = _value(template.amount, text, "amount")
    if raw_amount is None:
        raise ParseError("amount not found", code="template_amount")
    cents, currency = parse_bank_amount(raw_amount, template.decimal_mark)
    reference_text = _value(template.reference, text, "reference")
    reference = canonical_rf(reference_text or "")
    if reference is None:
        found = find_rf_references(reference_text or "")
        reference = found[0] if found else None
    raw_date = _value(template.date, text, "date")
    iban = _value(template.iban, text, "iban")
    account = _value(template.account, text, "account")
    return PaymentNotice(
        amount_cents=cents,
        currency=currency or template.currency,
        booking_date=parse_text_date(raw_date, template.date_formats) if raw_date else None,
        direction=template.direction,
        payer_name=_value(template.payer, text, "payer"),
        payer_iban=re.sub(r"\s", "", iban).upper() if iban else None,
        reference=reference,
        remittance=reference_text,
        entry_ref=_value(template.entry_ref, text, "entry_ref"),
        account_iban=re.sub(r"\s", "", account).upper() if account else None,
    )


def _value(pattern: re.Pattern[str] | None, text: str, name: str) -> str | None:
    if pattern is None:
        return None
    m = pattern.search(text)
    if not m:
        return None
    if name in pattern.groupindex:
        value = m.group(name)
    elif pattern.groups:
        value = m.group(1)
    else:
        value = m.group()
    cleaned = " ".join((value or "").split()).strip(" :;,-")
    return cleaned or None


def parse_text_date(text: str, formats: tuple[str, ...]) -> date:
    """`02/03/2026` (per the template's formats), `2 mars 2026`, `March 2, 2026`."""
    cleaned = " ".join(text.split())
    for fmt in formats:
        try:
            return datetime.strptime(cleaned, fmt).date()
        except ValueError:
            continue
    m = _WORD_DATE.search(cleaned.lower())
    if m:
        day, month, year = (m.group(1), m.group(2), m.group(3)) if m.group(1) else (
            m.group(5), m.group(4), m.group(6))  # fmt: skip
        number = _MONTHS.get(month)
        if number:
            try:
                return date(int(year), number, int(day))
            except ValueError:
                pass
    raise ParseError(f"unreadable date {cleaned[:30]!r}", code="template_date")


def _domain(sender: str) -> str:
    return sender.rpartition("@")[2].lower() or "?"


class _TextExtractor(HTMLParser):
    _BLOCK = frozenset({"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "section"})
    _CELL = frozenset({"td", "th"})
    _SKIP = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self.skipping += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")
        elif tag in self._CELL:
            self.parts.append("\t")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Visible text of an HTML email: blocks become lines, table cells tab-separated."""
    extractor = _TextExtractor()
    extractor.feed(html[: MAX_BODY_CHARS * 5])
    extractor.close()
    lines = []
    for line in "".join(extractor.parts).splitlines():
        cells = [" ".join(cell.split()) for cell in line.split("\t")]
        joined = "\t".join(c for c in cells if c)
        if joined:
            lines.append(joined)
    return "\n".join(lines)
