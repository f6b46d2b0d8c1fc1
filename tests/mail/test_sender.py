"""The outbox sender against a real SMTP server on loopback (STARTTLS + AUTH)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import cast

import pytest

from mail.sender import SmtpConfig, build_message, flush_outbox, message_bytes, message_data
from storage.models import (
    Alert,
    Contact,
    Invoice,
    InvoiceStatus,
    OutboxEmail,
    OutboxStatus,
    Role,
    User,
)
from storage.outbox import LEASE, Attachment, queue_email, requeue_failed
from storage.users import create_user
from tests.mail.smtp_server import LoopbackSmtp

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
PDF = b"%PDF-1.7\n% fake but exact bytes \xe2\x82\xac\n%%EOF\n"


@pytest.fixture
def smtp() -> Iterator[LoopbackSmtp]:
    server = LoopbackSmtp()
    server.start()
    yield server
    server.stop()


async def _queue(
    i: int, to: str = "client@acme.example", owner: User | None = None, invoice: Invoice | None = None
) -> OutboxEmail:
    queued = await queue_email(
        dedupe_key=f"mail:{i}",
        message_id=f"<invoice-{i}@entonnoir.example>",
        to=[to],
        subject=f"Facture F2026-{i:05d}",
        body_text=f"Bonjour,\nvoici la facture {i}.",
        body_html=f"<p>Bonjour,<br>voici la facture <b>{i}</b>.</p>",
        reply_to="olga@entonnoir.example",
        owner=owner,
        invoice=invoice,
        attachments=[Attachment(f"F2026-{i:05d}.pdf", "application/pdf", PDF)],
    )
    assert queued is not None
    return queued


async def _statuses() -> dict[str, int]:
    rows = cast(list[OutboxStatus], await OutboxEmail.all().values_list("status", flat=True))
    return {s.value: rows.count(s) for s in OutboxStatus if s in rows}


async def test_email_arrives_over_starttls_with_auth_text_html_and_attachment(
    db: str, smtp: LoopbackSmtp, tmp_path: Path
) -> None:
    owner = await create_user("olga", Role.SALES, telegram_id=11)
    client = await Contact.create(name="ACME", owner=owner)
    invoice = await Invoice.create(
        contact=client, owner=owner, status=InvoiceStatus.ISSUED, number="F2026-00001"
    )
    await _queue(1, owner=owner, invoice=invoice)

    result = await flush_outbox(smtp.config(tmp_path), NOW)

    assert (result.sent, result.retried, result.failed) == (1, 0, 0)
    [msg] = smtp.messages
    assert smtp.tls_seen == [True]
    assert smtp.envelopes == [("factures@entonnoir.example", ["client@acme.example"])]
    assert msg["Subject"] == "Facture F2026-00001"
    assert msg["Message-ID"] == "<invoice-1@entonnoir.example>"
    assert msg["Reply-To"] == "olga@entonnoir.example"
    assert "Entonnoir Démo" in str(msg["From"])
    body = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert body is not None and "voici la facture 1" in body.get_content()
    assert html is not None and "<b>1</b>" in html.get_content()
    [att] = list(msg.iter_attachments())
    assert att.get_filename() == "F2026-00001.pdf"
    assert att.get_content_type() == "application/pdf"
    assert att.get_content() == PDF
    assert (await Invoice.get(id=invoice.id)).status == InvoiceStatus.SENT
    assert await Alert.filter(user_id=owner.id, kind="email_sent").count() == 1


async def test_outage_loses_nothing_and_sends_each_email_exactly_once(
    db: str, smtp: LoopbackSmtp, tmp_path: Path
) -> None:
    config = smtp.config(tmp_path)
    smtp.stop()
    for i in range(20):
        await _queue(i)

    down = await flush_outbox(config, NOW)

    assert (down.sent, down.retried) == (0, 20)
    assert await _statuses() == {"pending": 20}
    assert "Connect" in down.errors[0] or "refused" in down.errors[0].lower()
    smtp.start()
    assert (await flush_outbox(config, NOW + timedelta(seconds=5))).sent == 0  # backoff
    up = await flush_outbox(config, NOW + timedelta(minutes=2))
    assert up.sent == 20
    assert await flush_outbox(config, NOW + timedelta(hours=3)) == up.__class__()
    ids = sorted(m["Message-ID"] for m in smtp.messages)
    assert ids == sorted(f"<invoice-{i}@entonnoir.example>" for i in range(20))
    assert await _statuses() == {"sent": 20}


async def test_a_crash_between_claim_and_smtp_loses_nothing(
    db: str, smtp: LoopbackSmtp, tmp_path: Path
) -> None:
    for i in range(3):
        await _queue(i)
    config = smtp.config(tmp_path)

    async def crash(row: OutboxEmail) -> None:
        raise SystemExit("killed")  # the process dies with rows claimed

    with pytest.raises(SystemExit):
        await flush_outbox(config, NOW, before_send=crash)
    assert await _statuses() == {"sending": 3}
    assert smtp.messages == []
    # Restarted before the lease ran out: the rows are still held, nothing is sent twice.
    assert (await flush_outbox(config, NOW + timedelta(minutes=1))).sent == 0
    after = await flush_outbox(config, NOW + LEASE + timedelta(seconds=1))
    assert after.sent == 3
    assert len(smtp.messages) == 3 and await _statuses() == {"sent": 3}


async def test_a_cancelled_sender_task_loses_nothing(db: str, smtp: LoopbackSmtp, tmp_path: Path) -> None:
    await _queue(1)
    await _queue(2)
    config = smtp.config(tmp_path)
    claimed = asyncio.Event()

    async def hang(row: OutboxEmail) -> None:
        claimed.set()
        await asyncio.sleep(60)

    task = asyncio.create_task(flush_outbox(config, NOW, before_send=hang))
    await claimed.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert smtp.messages == []
    assert (await flush_outbox(config, NOW + LEASE + timedelta(minutes=1))).sent == 2
    assert sorted(m["Message-ID"] for m in smtp.messages) == [
        "<invoice-1@entonnoir.example>",
        "<invoice-2@entonnoir.example>",
    ]


async def test_permanent_550_marks_failed_and_alerts_the_owner_with_the_reply(
    db: str, smtp: LoopbackSmtp, tmp_path: Path
) -> None:
    owner = await create_user("olga", Role.SALES, telegram_id=11)
    bad = await _queue(1, to="nobody@acme.example", owner=owner)
    good = await _queue(2, owner=owner)
    smtp.reject.add("nobody@acme.example")

    result = await flush_outbox(smtp.config(tmp_path), NOW)

    assert (result.sent, result.failed) == (1, 1)
    assert (await OutboxEmail.get(id=bad.id)).status == OutboxStatus.FAILED
    assert (await OutboxEmail.get(id=good.id)).status == OutboxStatus.SENT  # same connection
    alert = await Alert.get(user_id=owner.id, kind="email_failed")
    assert "550" in alert.params["error"] and "no such user" in alert.params["error"]
    assert alert.params["to"] == "nobody@acme.example"
    assert await flush_outbox(smtp.config(tmp_path), NOW + timedelta(days=2)) == result.__class__()


async def test_4xx_reply_is_retried_later(db: str, smtp: LoopbackSmtp, tmp_path: Path) -> None:
    row = await _queue(1, to="busy@acme.example")
    smtp.defer.add("busy@acme.example")

    result = await flush_outbox(smtp.config(tmp_path), NOW)

    assert (result.sent, result.retried, result.failed) == (0, 1, 0)
    again = await OutboxEmail.get(id=row.id)
    assert again.status == OutboxStatus.PENDING and again.last_error is not None
    assert again.last_error.startswith("451")
    smtp.defer.clear()
    assert (await flush_outbox(smtp.config(tmp_path), NOW + timedelta(minutes=1))).sent == 1


async def test_authentication_failure_535_is_retried_not_failed(
    db: str, smtp: LoopbackSmtp, tmp_path: Path
) -> None:
    owner = await create_user("olga", Role.SALES, telegram_id=11)
    await _queue(1, owner=owner)
    await _queue(2, owner=owner)

    result = await flush_outbox(smtp.config(tmp_path, password="wrong"), NOW)

    assert result.failed == 0 and result.retried == 2 and smtp.messages == []
    assert await _statuses() == {"pending": 2}
    assert not await Alert.filter(kind="email_failed").exists()
    [error] = set(await OutboxEmail.all().values_list("last_error", flat=True))
    assert str(error).startswith("535")
    # The password fixed: the next flush after the backoff sends both.
    later = await flush_outbox(smtp.config(tmp_path), NOW + timedelta(minutes=5))
    assert later.sent == 2 and await _statuses() == {"sent": 2}


async def test_mail_retry_requeues_failed_emails(db: str, smtp: LoopbackSmtp, tmp_path: Path) -> None:
    await _queue(1, to="nobody@refused.example")
    smtp.reject.add("nobody@refused.example")
    assert (await flush_outbox(smtp.config(tmp_path), NOW)).failed == 1
    smtp.reject.clear()  # the address fixed on the server's side

    assert await requeue_failed(NOW + timedelta(hours=1)) == 1

    after = await flush_outbox(smtp.config(tmp_path), NOW + timedelta(hours=1))
    assert after.sent == 1 and await _statuses() == {"sent": 1}


async def test_a_stop_ends_the_flush_and_leaves_nothing_sending(
    db: str, smtp: LoopbackSmtp, tmp_path: Path
) -> None:
    for i in range(10):
        await _queue(i)
    stop = asyncio.Event()

    async def stop_at_the_fourth(row: OutboxEmail) -> None:
        if row.dedupe_key == "mail:3":
            stop.set()  # SIGTERM arrives while the fourth email is in flight

    result = await flush_outbox(smtp.config(tmp_path), NOW, before_send=stop_at_the_fourth, stop=stop)

    assert result.sent == 4 and len(smtp.messages) == 4
    assert await _statuses() == {"sent": 4, "pending": 6}
    # The six given back were not counted as attempts and go out at the next flush.
    assert set(await OutboxEmail.filter(status=OutboxStatus.PENDING).values_list("attempts", flat=True)) == {
        0
    }
    assert (await flush_outbox(smtp.config(tmp_path), NOW)).sent == 6


async def test_a_long_batch_renews_its_lease(
    db: str, smtp: LoopbackSmtp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mail.sender

    for i in range(3):
        await _queue(i)
    clock = [0.0]
    monkeypatch.setattr(mail.sender.time, "monotonic", lambda: clock[0])
    seen: list[datetime] = []

    async def slow_server(row: OutboxEmail) -> None:
        clock[0] += 40.0  # each SMTP transaction takes 40 s: the batch outlives one lease
        seen.append((await OutboxEmail.get(id=row.id)).claimed_at)

    result = await flush_outbox(smtp.config(tmp_path), NOW, before_send=slow_server)

    assert result.sent == 3
    # The claim was renewed as the batch went on: another sender never saw it expire.
    assert seen[0] == NOW and seen[-1] > NOW + LEASE - timedelta(seconds=30)


async def test_without_smtp_host_emails_are_written_as_eml_files(db: str, tmp_path: Path) -> None:
    owner = await create_user("olga", Role.SALES, telegram_id=11)
    row = await _queue(7, owner=owner)
    folder = tmp_path / "var" / "mail" / "outbox"

    result = await flush_outbox(SmtpConfig(host=None, eml_dir=folder), NOW)

    assert result.sent == 1
    [path] = list(folder.glob("*.eml"))
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert msg["Subject"] == "Facture F2026-00007"
    assert [a.get_content() for a in msg.iter_attachments()] == [PDF]
    assert (await OutboxEmail.get(id=row.id)).status == OutboxStatus.SENT
    assert await Alert.filter(user_id=owner.id, kind="email_sent").count() == 1


async def test_one_connection_carries_the_whole_flush(db: str, smtp: LoopbackSmtp, tmp_path: Path) -> None:
    for i in range(5):
        await _queue(i)

    assert (await flush_outbox(smtp.config(tmp_path), NOW, batch=2)).sent == 5

    assert len(smtp.sessions) == 5 and len(set(smtp.sessions)) == 1


async def test_spliced_attachments_give_the_same_bytes_as_the_email_generator(db: str) -> None:
    row = await _queue(1)
    files = [
        ("F2026-00001.pdf", "application/pdf", os.urandom(40_000)),
        ("empty.bin", "application/octet-stream", b""),
        ("relevé é.txt", "text/plain", b".leading dot\r\nline\n"),
    ]
    fast = message_data(row, files, "Entonnoir Démo <f@entonnoir.example>", NOW)
    slow = message_bytes(build_message(row, files, "Entonnoir Démo <f@entonnoir.example>", NOW))

    def boundaries(data: bytes) -> bytes:
        return re.sub(rb"=+[0-9]+==", b"BOUNDARY", data)

    assert boundaries(fast) == boundaries(slow)
    assert b"\n" not in fast.replace(b"\r\n", b"")
    msg = email.message_from_bytes(fast, policy=email.policy.default)
    assert [a.get_payload(decode=True) for a in msg.iter_attachments()] == [f[2] for f in files]


async def test_emails_accepted_before_a_crash_are_recorded_and_never_resent(
    db: str, smtp: LoopbackSmtp, tmp_path: Path
) -> None:
    owner = await create_user("olga", Role.SALES, telegram_id=11)
    for i in range(5):
        await _queue(i, owner=owner)
    config = smtp.config(tmp_path)
    tried: list[int] = []

    async def crash_on_the_fourth(row: OutboxEmail) -> None:
        tried.append(row.id)
        if len(tried) == 4:
            raise SystemExit("killed")

    with pytest.raises(SystemExit):
        await flush_outbox(config, NOW, before_send=crash_on_the_fourth, record_every=10)

    assert len(smtp.messages) == 3
    assert await _statuses() == {"sent": 3, "sending": 2}
    assert await Alert.filter(user_id=owner.id, kind="email_sent").count() == 3
    after = await flush_outbox(config, NOW + LEASE + timedelta(seconds=1))
    assert after.sent == 2 and await _statuses() == {"sent": 5}
    assert len({m["Message-ID"] for m in smtp.messages}) == len(smtp.messages) == 5


async def test_the_message_is_an_email_message_seven_bit_clean_with_encoded_headers(db: str) -> None:
    row = await _queue(3)
    row.subject = "Relevé é\r\nBcc: x@evil.example"
    row.body_html = "<p>Échéance</p>"
    files = [("relevé é.pdf", "application/pdf", PDF)]
    msg = build_message(row, files, "Entonnoir Démo <f@entonnoir.example>", NOW)
    assert isinstance(msg, EmailMessage) and msg.policy == email.policy.SMTP
    data = message_data(row, files, "Entonnoir Démo <f@entonnoir.example>", NOW)
    assert data.isascii() and b"\n" not in data.replace(b"\r\n", b"")
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert parsed["Subject"] == "Relevé é Bcc: x@evil.example" and parsed["Bcc"] is None
    assert parsed["From"] == "Entonnoir Démo <f@entonnoir.example>"
    assert parsed["Message-ID"].startswith("<") and parsed["MIME-Version"] == "1.0"
    assert parsed.get_body(("html",)).get_content().strip() == "<p>Échéance</p>"
    assert [(a.get_filename(), a.get_content()) for a in parsed.iter_attachments()] == [("relevé é.pdf", PDF)]
