"""One whole bank email (RFC 822 bytes) → payment notices, or the reason there are none.

Walks the MIME tree: camt XML (also zipped) and MT940 attachments are read by their
parsers; when no attachment gave anything, the text (or HTML) body goes through the
sender's template. Attachments over the size limit are refused unread; a message with
nothing recognisable comes back with a human-readable reason, never silently empty.
"""

from __future__ import annotations

import io
import logging
import zipfile
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses
from functools import lru_cache
from pathlib import Path, PurePosixPath

from mail.parsers.camt import ZIP_MAX_MEMBERS, is_camt, parse_camt, read_zip_member
from mail.parsers.errors import ParseError, TooLarge, UnsafeDocument
from mail.parsers.mt940 import is_mt940, parse_mt940
from mail.parsers.text import BankTemplate, html_to_text, load_templates, parse_text
from storage.payments.notes import Note
from storage.payments.notices import PaymentNotice

__all__ = ["MAX_ATTACHMENT_BYTES", "ParseResult", "Problem", "parse_message"]

log = logging.getLogger(__name__)

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
_ZIP_TYPES = {"application/zip", "application/x-zip-compressed", "application/x-zip"}
_XML_TYPES = {"application/xml", "text/xml", "application/camt+xml"}
_UNKNOWN = "not a bank statement format this reader knows (camt.052/053/054, MT940)"
_MT940_EXT = {".sta", ".mt940", ".940", ".mt9", ".txt", ".dat", ".swi"}


@dataclass(frozen=True)
class Problem:
    """Why one part of a message was not read: a stable code plus an English sentence."""

    code: str  # translated as `mailparse.<code>` with the param `part`
    part: str  # the attachment's name (or "part N (type)"; zip members as "a.zip/b.xml")
    detail: str

    def __str__(self) -> str:
        what = self.part if self.part.startswith("part ") else f"attachment {self.part}"
        return f"{what} refused: {self.detail}"


@dataclass
class ParseResult:
    """What a message said: notices, what was read, and what was refused or ignored."""

    notices: list[PaymentNotice] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    warnings: list[Note] = field(default_factory=list)  # catalogue messages (payments.notes)
    text_reason: str | None = None

    @property
    def reason_keys(self) -> list[list[object]]:
        """The same as `reason`, as translatable codes: [[key, {params}], ...]."""
        keys: list[list[object]] = [[f"mailparse.{p.code}", {"part": p.part}] for p in self.problems]
        if not self.notices:
            keys.append(["inbox.nothing", {}] if not self.sources else ["inbox.no_booked_entry", {}])
        return keys

    @property
    def reason(self) -> str | None:
        """None when notices were read and nothing was refused; otherwise one paragraph
        for a human: what was refused, and why nothing was recognisable."""
        parts = [str(p) for p in self.problems]
        if not self.notices:
            if not self.sources:
                parts.append("no bank statement attachment (camt.053/054, MT940)")
                if self.ignored:
                    parts.append("ignored attachments: " + ", ".join(self.ignored))
                if self.text_reason:
                    parts.append(self.text_reason)
            else:
                parts.append(f"{', '.join(self.sources)}: no booked entry")
        if not parts:
            return None
        prefix = "nothing recognisable: " if not self.notices else "partly read: "
        return prefix + "; ".join(parts)


def parse_message(
    raw: bytes,
    *,
    templates: list[BankTemplate] | None = None,
    templates_file: Path | None = None,
    max_attachment_bytes: int = MAX_ATTACHMENT_BYTES,
) -> ParseResult:
    """Read every payment an email carries. Never raises on bad content: problems are
    reported in the result (`reason`). A bad templates file raises TemplateConfigError."""
    if templates is None:
        templates = _templates(templates_file)
    message = BytesParser(policy=policy.default).parsebytes(raw)
    result = ParseResult()
    bodies: list[tuple[str, str]] = []
    for index, part in enumerate(message.walk()):
        if part.is_multipart():
            continue
        name = part.get_filename() or ""
        ctype = part.get_content_type()
        label = name or f"part {index} ({ctype})"
        is_body = (
            ctype in ("text/plain", "text/html")
            and not name
            and part.get_content_disposition() != "attachment"
        )
        try:
            content = _payload(part, max_attachment_bytes)
            if is_body:
                text = _text_of(part, content)
                if ctype == "text/plain" and is_mt940(content):
                    _add(result, f"MT940 ({label})", parse_mt940(content))
                else:
                    bodies.append((ctype, text))
                continue
            decoration = ctype.startswith("image/") and (
                part.get_content_disposition() != "attachment" or bool(part.get("Content-ID"))
            )
            _read_attachment(result, label, name, ctype, content, max_attachment_bytes, decoration=decoration)
        except ParseError as exc:
            result.problems.append(Problem(exc.code, label, _sentence(exc)))
            log.info("refused %s: %s", label, exc.code)
    if not result.notices and not result.sources:
        _read_bodies(result, message, bodies, templates)
    return result


def _read_attachment(
    result: ParseResult,
    label: str,
    name: str,
    ctype: str,
    content: bytes,
    limit: int,
    *,
    decoration: bool = False,
) -> None:
    """Read one attachment. An inline image (a logo) is decoration and is ignored; any
    other attachment that is no statement is refused with the reason (never silently)."""
    ext = PurePosixPath(name.lower()).suffix
    if ext == ".zip" or ctype in _ZIP_TYPES or content[:4] == b"PK\x03\x04":
        _read_zip(result, label, content, limit)
    elif ext == ".xml" or ctype in _XML_TYPES or (is_camt(content) and b"<" in content[:100]):
        camt = parse_camt(content)
        result.warnings.extend(camt.warnings)
        _add(result, f"{camt.kind} ({label})", camt.notices)
    elif is_mt940(content) and (ext in _MT940_EXT or ctype.startswith(("text/", "application/"))):
        _add(result, f"MT940 ({label})", parse_mt940(content))
    elif decoration:
        result.ignored.append(label)
    else:
        raise ParseError(_UNKNOWN, code="unknown_format")


def _read_zip(result: ParseResult, label: str, content: bytes, limit: int) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise ParseError(f"not a readable zip archive ({exc})", code="bad_zip") from exc
    members = [i for i in archive.infolist() if not i.is_dir()]
    if len(members) > ZIP_MAX_MEMBERS:
        raise UnsafeDocument(f"zip archive with {len(members)} files refused", code="zip_bomb")
    for info in members:
        member_label = f"{label}/{info.filename}"
        ext = PurePosixPath(info.filename.lower()).suffix
        if ext not in {".xml", *_MT940_EXT}:
            result.problems.append(Problem("unknown_format", member_label, _UNKNOWN))
            continue
        try:
            data = read_zip_member(archive, info, max_bytes=limit)
            if ext == ".xml":
                camt = parse_camt(data)
                result.warnings.extend(camt.warnings)
                _add(result, f"{camt.kind} ({member_label})", camt.notices)
            elif is_mt940(data):
                _add(result, f"MT940 ({member_label})", parse_mt940(data))
            else:
                raise ParseError(_UNKNOWN, code="unknown_format")
        except ParseError as exc:
            result.problems.append(Problem(exc.code, member_label, _sentence(exc)))


def _read_bodies(
    result: ParseResult, message: Message, bodies: list[tuple[str, str]], templates: list[BankTemplate]
) -> None:
    if not bodies:
        result.text_reason = "no text body"
        return
    senders = getaddresses([str(v) for v in message.get_all("From", [])])
    sender = senders[0][1] if len(senders) == 1 else ""
    if not sender:
        result.text_reason = "no single From address"
        return
    subject = " ".join(str(message.get("Subject", "") or "").split())
    reasons: list[str] = []
    ordered = sorted(bodies, key=lambda b: b[0] != "text/plain")  # plain first, then HTML
    for ctype, text in ordered:
        body = html_to_text(text) if ctype == "text/html" else text
        read = parse_text(body, sender=sender, subject=subject, templates=templates)
        if read.notices:
            _add(result, f"template {read.template}", read.notices)
            return
        if read.reason and read.reason not in reasons:
            reasons.append(read.reason)
    result.text_reason = "; ".join(reasons) or None


def _add(result: ParseResult, source: str, notices: list[PaymentNotice]) -> None:
    """Record a document's notices; the same bank entry seen in two documents of one
    message (a camt.053 and a camt.054 of the same day) counts once."""
    result.sources.append(source)
    known = {(n.entry_ref, n.amount_cents, n.currency, n.direction) for n in result.notices if n.entry_ref}
    for notice in notices:
        key = (notice.entry_ref, notice.amount_cents, notice.currency, notice.direction)
        if notice.entry_ref and key in known:
            continue
        result.notices.append(notice)


def _payload(part: Message, limit: int) -> bytes:
    """The decoded content, refused before decoding when clearly over the limit."""
    encoded = part.get_payload()
    if isinstance(encoded, str):
        cte = str(part.get("Content-Transfer-Encoding", "")).lower()
        estimate = len(encoded) * 3 // 4 if "base64" in cte else len(encoded)
        if estimate > limit * 1.05:
            raise TooLarge(_too_large(estimate, limit), code="too_large")
    content = part.get_payload(decode=True)
    data = content if isinstance(content, bytes) else b""
    if len(data) > limit:
        raise TooLarge(_too_large(len(data), limit), code="too_large")
    return data


def _text_of(part: Message, content: bytes) -> str:
    charset = part.get_content_charset() or "utf-8"
    try:
        return content.decode(charset, errors="replace")
    except LookupError:
        return content.decode("utf-8", errors="replace")


def _too_large(size: int, limit: int) -> str:
    return f"{size / 1_048_576:.1f} MB is over the {limit / 1_048_576:.0f} MB limit"


def _sentence(exc: ParseError) -> str:
    return str(exc).rstrip(".")


def _templates(path: Path | None) -> list[BankTemplate]:
    """The templates of `path` (default file when None), re-read when the file changes."""
    if path is None:
        return _cached_templates(None, 0)
    try:
        stamp = Path(path).stat().st_mtime_ns
    except OSError:
        stamp = 0  # load_templates reports the missing file
    return _cached_templates(str(path), stamp)


@lru_cache(maxsize=4)
def _cached_templates(path: str | None, stamp: int) -> list[BankTemplate]:
    return load_templates(Path(path) if path else None)
