"""Outbox benchmark: queue 1,000 emails (PDF-sized attachment) and send them to a loopback
aiosmtpd over ONE connection (STARTTLS + AUTH, as in production), with the real claim /
mark bookkeeping in a SQLite file database.

    .venv/bin/python -m bench.emails [--emails 1000] [--attachment-kb 40] [--plain] [--quick]

Target: >= 100 emails/s. Not part of the test suite. Reference printed in the same run: bare
aiosmtplib sending the same number of equally sized messages, built once, over one connection
to a fresh server of the same kind (no outbox, no database), the floor of the transport.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import ssl
import tempfile
import time
from email.message import EmailMessage
from email.policy import SMTP
from multiprocessing.connection import Connection
from pathlib import Path

import aiosmtplib

from bench import machine
from mail.sender import SmtpConfig, flush_outbox
from storage.db import close_db, init_db
from storage.models import OutboxEmail, OutboxStatus, Role
from storage.outbox import Attachment, queue_email
from storage.users import create_user
from tests.mail.smtp_server import PASSWORD, USER, LoopbackSmtp


def serve(conn: Connection, plain: bool) -> None:
    """The SMTP server, in its own process (as a real one would be: no shared GIL)."""
    server = LoopbackSmtp(tls=not plain, auth=not plain)
    server.start()
    conn.send((server.port, server.ca_pem))
    cpu = time.process_time()
    conn.recv()
    cpu = time.process_time() - cpu
    ids = {m["Message-ID"] for m in server.messages}
    conn.send((len(server.raw), len(set(server.sessions)), len(ids), cpu))
    server.stop()


def start_server(plain: bool) -> tuple[Connection, mp.process.BaseProcess, int, bytes]:
    parent, child = mp.get_context("spawn").Pipe()
    proc = mp.get_context("spawn").Process(target=serve, args=(child, plain), daemon=True)
    proc.start()
    port, ca_pem = parent.recv()
    return parent, proc, port, ca_pem


async def reference(args: argparse.Namespace, payload: bytes) -> float:
    """Bare aiosmtplib: equally sized messages, serialised once, over one connection; seconds."""
    parent, proc, port, ca_pem = start_server(args.plain)
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "factures@entonnoir.example", "c@acme.example", "F"
    msg.set_content("Bonjour,\nveuillez trouver la facture ci-jointe.\n" * 5)
    msg.add_attachment(payload, maintype="application", subtype="pdf", filename="F.pdf")
    head, _, body = msg.as_bytes(policy=SMTP).partition(b"\r\n")  # serialised once
    head += b"\r\n"
    client = aiosmtplib.SMTP(
        hostname="127.0.0.1",
        port=port,
        start_tls=not args.plain,
        tls_context=ssl.create_default_context(cadata=ca_pem.decode()),
    )
    started = time.perf_counter()
    async with client:
        if not args.plain:
            await client.login(USER, PASSWORD)
        for i in range(args.emails):
            raw = head + f"Message-ID: <ref-{i}@entonnoir.example>\r\n".encode() + body
            await client.sendmail("factures@entonnoir.example", ["c@acme.example"], raw)
    elapsed = time.perf_counter() - started
    parent.send("stop")
    received = parent.recv()[0]
    proc.join(10)
    assert received == args.emails, received
    return elapsed


async def main(args: argparse.Namespace) -> None:
    print(machine())
    parent, child = mp.get_context("spawn").Pipe()
    proc = mp.get_context("spawn").Process(target=serve, args=(child, args.plain), daemon=True)
    proc.start()
    port, ca_pem = parent.recv()
    client_tls = ssl.create_default_context(cadata=ca_pem.decode())
    payload = os.urandom(args.attachment_kb * 1024)
    with tempfile.TemporaryDirectory() as tmp:
        await init_db(f"sqlite://{tmp}/bench.db", migrate=False, generate=True)
        try:
            owner = await create_user("olga", Role.SALES, telegram_id=11)
            started = time.perf_counter()
            for i in range(args.emails):
                await queue_email(
                    dedupe_key=f"bench:{i}",
                    message_id=f"<bench-{i}@entonnoir.example>",
                    to=[f"client{i}@acme.example"],
                    subject=f"Facture F2026-{i:05d}",
                    body_text="Bonjour,\nveuillez trouver la facture ci-jointe.\n" * 5,
                    body_html="<p>Bonjour,</p><p>veuillez trouver la facture ci-jointe.</p>" * 5,
                    owner=owner,
                    attachments=[Attachment(f"F2026-{i:05d}.pdf", "application/pdf", payload)],
                )
            queued = time.perf_counter() - started
            started, cpu, t0 = time.perf_counter(), time.process_time(), os.times()
            config = SmtpConfig(
                host="127.0.0.1",
                port=port,
                user=None if args.plain else USER,
                password=None if args.plain else PASSWORD,
                security="none" if args.plain else "starttls",
                tls_context=client_tls,
                eml_dir=Path(tmp) / "eml",
                mail_from="Entonnoir <factures@entonnoir.example>",
            )
            result = await flush_outbox(config)
            elapsed, cpu, t1 = time.perf_counter() - started, time.process_time() - cpu, os.times()
            sent = await OutboxEmail.filter(status=OutboxStatus.SENT).count()
        finally:
            await close_db()
            parent.send("stop")
            received, distinct, unique_ids, server_cpu = parent.recv()
            proc.join(10)
    print(f"queued {args.emails} emails in {queued:.2f} s ({args.emails / queued:.0f}/s)")
    print(f"flush: {result}")
    print(
        f"sent {sent}, received {received} ({unique_ids} distinct Message-IDs) "
        f"over {distinct} SMTP connection(s) "
        f"({'plain' if args.plain else 'STARTTLS + AUTH'}, {args.attachment_kb} KiB attachment)"
    )
    print(f"send rate: {received / elapsed:.0f} emails/s ({elapsed:.2f} s)  [target >= 100/s]")
    print(f"user {t1.user - t0.user:.2f} sys {t1.system - t0.system:.2f}")
    print(
        f"CPU during the flush: sender {cpu:.2f} s ({cpu / args.emails * 1000:.1f} ms/email, "
        f"i.e. {args.emails / cpu:.0f} emails per CPU-second); "
        f"SMTP server (whole run, other process) {server_cpu:.2f} s"
    )
    bare = await reference(args, payload)
    print(
        f"reference, bare aiosmtplib in the same run: {args.emails / bare:.0f} emails/s "
        f"({bare:.2f} s); ratio {elapsed / bare:.2f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=1000)
    parser.add_argument("--attachment-kb", type=int, default=40)
    parser.add_argument("--plain", action="store_true", help="no STARTTLS / AUTH")
    parser.add_argument("--quick", action="store_true", help="50 emails")
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.emails = 50
    asyncio.run(main(arguments))
