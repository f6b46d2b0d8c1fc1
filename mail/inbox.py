"""The inbox watcher: bank mail in, payments recorded, message moved only after the commit.

Every way a message arrives (IMAP poll, IMAP IDLE, the local Maildir, a test) calls ONE
`process_message()`: size check → trust → parse → our account? → record (or quarantine, or keep for a
human) → an `Outcome`. The IMAP side runs entirely in a worker thread (imap-tools is
blocking and not thread-safe: one MailBox per thread); the database work it triggers is
handed back to the event loop message by message, and the message is moved to the
processed or quarantine folder only when that returned, i.e. after the commit.

    pass = login → refresh CAPABILITY (Dovecot shows MOVE only after login) → SELECT
           → UIDVALIDITY changed? restart at 0 (idempotency makes the rescan harmless)
           → UID SEARCH last+1:* (filter uid > last ourselves: N:* always matches the top)
           → for each batch: UID FETCH BODY.PEEK[] → process_message → UID MOVE → cursor
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import imaplib
import logging
import re
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Literal

from imap_tools import MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.errors import ImapToolsError
from imap_tools.mailbox import BaseMailBox
from imap_tools.utils import encode_folder

from storage.formatting import counted
from storage.mailbox import advance_cursor, mailbox_failed, mailbox_ok, open_cursor
from storage.payments import (
    RecordOutcome,
    account_is_ours,
    ingest_message,
    quarantine_message,
    store_unrecognised,
)

__all__ = [
    "ImapAccount",
    "InboxRules",
    "Outcome",
    "PassReport",
    "imap_pass",
    "maildir_pass",
    "message_headers",
    "process_message",
    "watch",
]

log = logging.getLogger(__name__)

Kind = Literal["processed", "quarantined", "unrecognised"]
FETCH_BATCH = 50
IDLE_MAX_SECONDS = 29 * 60
_UID_RE = re.compile(rb"UID (\d+)")


@dataclass(frozen=True)
class InboxRules:
    """Plain values `process_message` needs (built from the settings by the caller)."""

    allowed_senders: tuple[str, ...] = ()
    authserv_id: str | None = None
    templates_file: Path | None = None
    dns_lookup: Callable[..., Any] | None = None
    max_bytes: int = 15 * 1024 * 1024
    # OUR accounts (IBANs): a statement about any other account is quarantined, a notice
    # naming no account is left unmatched. Empty: nothing settles by itself.
    company_ibans: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImapAccount:
    host: str
    port: int
    user: str
    password: str = field(repr=False)
    security: Literal["tls", "starttls", "none"] = "tls"
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    quarantine_folder: str = "Quarantine"
    timeout: float = 30.0


@dataclass(frozen=True)
class Outcome:
    """What happened to one message."""

    kind: Kind
    message_id: str
    reason: str = ""
    record: RecordOutcome | None = None

    @property
    def summary(self) -> str:
        if self.record is not None:
            r = self.record
            return (
                f"{self.kind}: {r.recorded} recorded, {r.duplicates} already known, "
                f"{r.settled} settled, {r.unmatched} unmatched, {r.ignored} debits/reversals"
            )
        return f"{self.kind}: {self.reason}"


@dataclass
class PassReport:
    """What one pass over a mailbox did."""

    source: str
    outcomes: list[Outcome] = field(default_factory=list)
    uidvalidity: int | None = None
    rescanned: bool = False
    error: str | None = None

    def lines(self) -> list[str]:
        head = f"{self.source}: {counted(len(self.outcomes), 'message', 'messages')}"
        if self.rescanned:
            head += " (UIDVALIDITY changed: full rescan)"
        out = [head] + [f"  {o.message_id}: {o.summary}" for o in self.outcomes]
        if self.error:
            out.append(f"  error: {self.error}")
        return out

    def count(self, kind: Kind) -> int:
        return sum(1 for o in self.outcomes if o.kind == kind)


# ---------------------------------------------------------------- one message


def message_headers(raw: bytes) -> tuple[str, str, str]:
    """(Message-ID, sender address, subject); a missing Message-ID becomes a content hash."""
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw[: 256 * 1024], headersonly=True)
    message_id = " ".join(str(headers.get("Message-ID", "") or "").split())
    if not message_id:
        message_id = "sha256:" + hashlib.sha256(raw).hexdigest()
    sender = parseaddr(str(headers.get("From", "") or ""))[1].lower()
    subject = " ".join(decode_subject(str(headers.get("Subject", "") or "")).split())
    return message_id[:300], sender, subject


def decode_subject(value: str) -> str:
    """A Subject as people read it: RFC 2047 encoded words decoded (`=?utf-8?q?...?=`);
    an undecodable word is kept as written."""
    try:
        return str(make_header(decode_header(value)))
    except (HeaderParseError, LookupError, UnicodeDecodeError, ValueError):
        return value


Reasons = list[list[Any]]  # [[locale key, {params}], ...]: said in each reader's language


def _trust(raw: bytes, rules: InboxRules) -> tuple[bool, str, Reasons]:
    from mail.trust import check_trust

    verdict = check_trust(
        raw,
        allowed_senders=list(rules.allowed_senders),
        authserv_id=rules.authserv_id,
        dns_lookup=rules.dns_lookup,
    )
    keys: Reasons = [[f"trust.{verdict.code}", {"domain": verdict.domain or "?"}]]
    return bool(verdict.trusted), str(verdict.reason), keys


def _parse(raw: bytes, rules: InboxRules) -> tuple[list[Any], str, Reasons]:
    """(notices, reason, reason codes): the reason says what was refused or unreadable,
    also when other parts of the message were read (then it is kept on the row and told
    to people)."""
    from mail.parsers import parse_message

    kwargs: dict[str, Any] = {}
    if rules.templates_file is not None:
        kwargs["templates_file"] = rules.templates_file
    result = parse_message(raw, **kwargs)
    return list(result.notices), str(result.reason or ""), result.reason_keys


async def process_message(
    raw: bytes, *, folder: str, uid: int | None, rules: InboxRules, now: datetime | None = None
) -> Outcome:
    """Trust → parse → record. Returns once everything is committed."""
    now = now or datetime.now(UTC)
    message_id, sender, subject = message_headers(raw)
    meta: dict[str, Any] = {
        "message_id": message_id,
        "folder": folder,
        "uid": uid,
        "sender": sender,
        "subject": subject,
        "now": now,
    }
    if len(raw) > rules.max_bytes:
        size, limit = len(raw) // (1024 * 1024), rules.max_bytes // (1024 * 1024)
        reason = f"message too large ({size} MB > {limit} MB)"
        await quarantine_message(
            raw=raw, reason=reason, **meta, reasons=[["inbox.too_large", {"size": size, "limit": limit}]]
        )
        return Outcome("quarantined", message_id, reason)
    try:
        trusted, reason, keys = await asyncio.to_thread(_trust, raw, rules)
    except Exception as exc:  # a crash in the checker must never let mail through
        log.exception("trust check failed for %s", message_id)
        trusted, reason = False, f"trust check failed: {type(exc).__name__}"
        keys = [["inbox.check_failed", {}]]
    if not trusted:
        await quarantine_message(raw=raw, reason=reason, reasons=keys, **meta)
        return Outcome("quarantined", message_id, reason)
    try:
        notices, reason, keys = await asyncio.to_thread(_parse, raw, rules)
    except Exception as exc:
        log.warning("parsing %s failed: %s", message_id, type(exc).__name__)
        notices, reason = [], f"{type(exc).__name__}: {exc}"[:500]
        keys = [["inbox.unreadable", {}]]
    if not notices:
        await store_unrecognised(raw=raw, reason=reason or "nothing recognisable", reasons=keys, **meta)
        return Outcome("unrecognised", message_id, reason or "nothing recognisable")
    foreign = [
        n for n in notices if n.account_iban and not account_is_ours(n.account_iban, rules.company_ibans)
    ]
    if foreign:
        accounts = ", ".join(dict.fromkeys(str(n.account_iban) for n in foreign))
        why = f"statement for another account {accounts}"
        other = ["inbox.foreign_account", {"account": accounts}]
        if len(foreign) == len(notices):
            await quarantine_message(raw=raw, reason=why, reasons=[other], **meta)
            return Outcome("quarantined", message_id, why)
        notices = [n for n in notices if n not in foreign]
        reason = f"{reason}; {why}" if reason else f"partly read: {why}"
        keys = [*keys, other]
    del meta["now"]
    _, record = await ingest_message(
        notices, now=now, our_accounts=rules.company_ibans, refused=reason or None, reasons=keys, **meta
    )
    return Outcome("processed", message_id, reason, record=record)


# ---------------------------------------------------------------- IMAP


def _connect(account: ImapAccount) -> BaseMailBox:
    """Log in and refresh the capabilities (servers may announce MOVE only after login)."""
    mailbox: BaseMailBox
    if account.security == "none":
        mailbox = MailBoxUnencrypted(account.host, account.port, timeout=account.timeout)
    elif account.security == "starttls":
        mailbox = MailBoxStartTls(
            account.host, account.port, timeout=account.timeout, ssl_context=ssl.create_default_context()
        )
    else:
        mailbox = MailBox(
            account.host, account.port, timeout=account.timeout, ssl_context=ssl.create_default_context()
        )
    mailbox.login(account.user, account.password, initial_folder=None)
    typ, data = mailbox.client.capability()
    if typ == "OK" and data and data[-1]:
        mailbox.client.capabilities = tuple(data[-1].decode().upper().split())
    return mailbox


def _ensure_folder(mailbox: BaseMailBox, name: str) -> None:
    if not mailbox.folder.exists(name):
        mailbox.folder.create(name)


def _uidvalidity(mailbox: BaseMailBox, folder: str) -> int:
    status = mailbox.folder.status(folder, ["UIDVALIDITY"])
    return int(status["UIDVALIDITY"])


def _fetch(mailbox: BaseMailBox, uids: list[int]) -> Iterator[tuple[int, bytes]]:
    """Raw bytes exactly as stored (DKIM must see them untouched), without setting \\Seen."""
    typ, data = mailbox.client.uid("FETCH", ",".join(map(str, uids)), "(UID BODY.PEEK[])")
    if typ != "OK":
        raise imaplib.IMAP4.error(f"UID FETCH failed: {data!r}")
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            match = _UID_RE.search(item[0])
            if match:
                yield int(match.group(1)), item[1]


def _move(mailbox: BaseMailBox, uid: int, destination: str) -> None:
    if "MOVE" in mailbox.client.capabilities:
        typ, data = mailbox.client.uid(
            "MOVE",
            str(uid),
            encode_folder(destination),  # type: ignore[arg-type]
        )
        if typ != "OK":
            raise imaplib.IMAP4.error(f"UID MOVE failed: {data!r}")
        return
    # No MOVE: copy, flag, and expunge ONLY this UID (UIDPLUS), never the whole folder.
    mailbox.copy(str(uid), destination)
    mailbox.flag(str(uid), "\\Deleted", True)
    if "UIDPLUS" in mailbox.client.capabilities:
        mailbox.client.uid("EXPUNGE", str(uid))


def _run_in_loop(loop: asyncio.AbstractEventLoop, coro: Any) -> Any:
    return asyncio.run_coroutine_threadsafe(coro, loop).result()


def _imap_pass_thread(
    loop: asyncio.AbstractEventLoop,
    account: ImapAccount,
    rules: InboxRules,
    report: PassReport,
    limit: int | None,
) -> None:
    mailbox = _connect(account)
    try:
        for name in (account.processed_folder, account.quarantine_folder):
            _ensure_folder(mailbox, name)
        mailbox.folder.set(account.folder)
        validity = _uidvalidity(mailbox, account.folder)
        report.uidvalidity = validity
        last = _run_in_loop(loop, open_cursor(account.folder, validity))
        report.rescanned = last == 0
        typ, data = mailbox.client.uid("SEARCH", f"UID {last + 1}:*")
        if typ != "OK":
            raise imaplib.IMAP4.error(f"UID SEARCH failed: {data!r}")
        uids = sorted(u for u in (int(x) for x in (data[0] or b"").split()) if u > last)
        if limit is not None:
            uids = uids[:limit]
        done = last
        for i in range(0, len(uids), FETCH_BATCH):
            for uid, raw in _fetch(mailbox, uids[i : i + FETCH_BATCH]):
                outcome: Outcome = _run_in_loop(
                    loop, process_message(raw, folder=account.folder, uid=uid, rules=rules)
                )
                report.outcomes.append(outcome)
                target = (
                    account.processed_folder if outcome.kind == "processed" else account.quarantine_folder
                )
                _move(mailbox, uid, target)
                done = uid
            # One cursor write per batch: a crash before it only means a harmless re-read.
            _run_in_loop(loop, advance_cursor(account.folder, validity, done))
    finally:
        with contextlib.suppress(Exception):
            mailbox.logout()


async def imap_pass(
    account: ImapAccount, rules: InboxRules, *, limit: int | None = None, now: datetime | None = None
) -> PassReport:
    """One pass over the watched folder; a connection failure is recorded, not raised."""
    report = PassReport(source=f"imap://{account.user}@{account.host}:{account.port}/{account.folder}")
    loop = asyncio.get_running_loop()
    try:
        await asyncio.to_thread(_imap_pass_thread, loop, account, rules, report, limit)
    except (OSError, imaplib.IMAP4.error, ImapToolsError, EOFError) as exc:
        report.error = f"{type(exc).__name__}: {exc}"
        log.warning("mailbox %s: %s", account.host, report.error)
        await mailbox_failed(account.folder, now or datetime.now(UTC), report.error)
        return report
    await mailbox_ok(account.folder, now or datetime.now(UTC))
    return report


def _idle_thread(account: ImapAccount, timeout: float) -> bool:
    """Wait in IDLE for news (True) or the timeout (False); without IDLE, just sleep."""
    mailbox = _connect(account)
    try:
        if "IDLE" not in mailbox.client.capabilities:
            time.sleep(timeout)
            return False
        mailbox.folder.set(account.folder)
        return bool(mailbox.idle.wait(timeout=int(min(timeout, IDLE_MAX_SECONDS))))
    finally:
        with contextlib.suppress(Exception):
            mailbox.logout()


async def watch(
    account: ImapAccount,
    rules: InboxRules,
    *,
    poll_seconds: float,
    stop: asyncio.Event,
    on_report: Callable[[PassReport], None] | None = None,
) -> None:
    """The long-running watcher: pass, then IDLE (re-entered at least every 29 minutes) or
    sleep; failures back off exponentially up to 5 minutes."""
    failures = 0
    while not stop.is_set():
        report = await imap_pass(account, rules)
        if on_report is not None:
            on_report(report)
        if report.error:
            failures += 1
            delay = min(2.0**failures, 300.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            continue
        failures = 0
        try:
            await asyncio.to_thread(_idle_thread, account, min(poll_seconds, IDLE_MAX_SECONDS))
        except (OSError, imaplib.IMAP4.error, ImapToolsError, EOFError) as exc:
            log.warning("IDLE on %s failed: %s", account.host, exc)


# ---------------------------------------------------------------- local Maildir


def _maildir_files(inbox: Path) -> list[Path]:
    files = [p for p in inbox.glob("*.eml") if p.is_file()]
    for sub in ("new", "cur"):
        files += [p for p in (inbox / sub).glob("*") if p.is_file() and not p.name.startswith(".")]
    return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))


async def maildir_pass(root: Path, rules: InboxRules) -> PassReport:
    """The embedded default: `root/inbox` (new/, cur/ or *.eml) → `root/processed|quarantine`."""
    inbox = root / "inbox"
    for sub in ("inbox/new", "inbox/cur", "inbox/tmp", "processed", "quarantine"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    report = PassReport(source=f"maildir:{inbox}")
    for path in _maildir_files(inbox):
        raw = path.read_bytes()
        outcome = await process_message(raw, folder="maildir", uid=None, rules=rules)
        report.outcomes.append(outcome)
        target = root / ("processed" if outcome.kind == "processed" else "quarantine")
        path.replace(target / path.name)
    return report
