"""Benchmark: bank statements against a large ledger, and mail through a loopback Dovecot.

    .venv/bin/python -m bench.payments [--entries 10000] [--invoices 100000] [--messages 1000] [--quick]

1. A camt.053 of N credit entries against M open invoices: parse alone, then parse + match +
   settle end to end (one transaction), printed as entries/s (targets: >= 20,000/s parsing,
   >= 2,000/s end to end). Then the same with an MT940 in the Rabobank layout (EREF on
   every line), whose entries are identified by their fingerprint.
2. K messages (one camt.054 each) APPENDed to a throwaway Dovecot, then fetched, checked,
   recorded and moved by one `imap_pass` (target: <= 30 s for 1,000).
References printed in the same run: parsing alone for 1; for 2, the same messages fetched
bare by imap-tools (one FETCH of every body, nothing checked, recorded or moved).
Dovecot missing: part 2 is skipped, and fails the run under CI=true.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from tortoise.context import tortoise_test_context

from bench import machine
from mail.inbox import ImapAccount, imap_pass
from mail.parsers.camt import parse_camt
from mail.parsers.mt940 import parse_mt940
from storage.invoicing import rf_reference
from storage.models import (
    MODEL_MODULES,
    Contact,
    ContactKind,
    InboxMessage,
    InboxStatus,
    Invoice,
    InvoiceStatus,
    Payment,
    Role,
    User,
)
from storage.payments import record_notices
from tests.mail.bankmail import Entry, Tx, bank_mail, camt, rules
from tests.payment_fixtures import OUR_IBAN
from tests.services import DovecotServer

NOW = datetime(2026, 11, 27, 9, tzinfo=UTC)


async def _ledger(invoices: int) -> None:
    # The app opens SQLite in WAL mode (storage.db); do the same here.
    await Invoice._meta.db.execute_script("PRAGMA journal_mode=WAL;")
    owner = await User.create(name="bench", role=Role.SALES, telegram_id=1)
    contacts = [
        Contact(name=f"Client {i}", kind=ContactKind.COMPANY, owner_id=owner.id, search_key=f"client {i}")
        for i in range(1000)
    ]
    await Contact.bulk_create(contacts, batch_size=500)
    ids = [c.id for c in await Contact.all().only("id")]
    rows = []
    for seq in range(1, invoices + 1):
        number = f"F2026-{seq:05d}" if seq < 100000 else f"F2026-{seq}"
        rows.append(
            Invoice(
                series="F",
                year=2026,
                seq=seq,
                number=number,
                status=InvoiceStatus.ISSUED,
                contact_id=ids[seq % len(ids)],
                owner_id=owner.id,
                currency="EUR",
                issue_date=date(2026, 10, 1),
                due_date=date(2026, 10, 31),
                total_net_cents=10_000 + seq % 977,
                total_gross_cents=12_000 + seq % 977,
                rf_reference=rf_reference(number),
            )
        )
    await Invoice.bulk_create(rows, batch_size=1000)


def _statement(entries: int, invoices: int) -> bytes:
    rng = random.Random(7)
    chosen = rng.sample(range(1, invoices + 1), entries)
    items = []
    for seq in chosen:
        amount = f"{(12_000 + seq % 977) / 100:.2f}"
        number = f"F2026-{seq:05d}" if seq < 100000 else f"F2026-{seq}"
        items.append(
            Entry(amount, [Tx(amount, payer=f"Client {seq % 1000}", rf=rf_reference(number))], ref=f"B{seq}")
        )
    return camt("053", items)


def _mt940_statement(entries: int, invoices: int) -> bytes:
    """Rabobank layout: `EREF` on every line, no bank reference: every entry is identified
    by its fingerprint (the new identity rule's slow path). Other invoices than the camt's."""
    rng = random.Random(11)
    chosen = rng.sample(range(1, invoices + 1), entries * 2)
    camt_ones = set(random.Random(7).sample(range(1, invoices + 1), entries))
    lines = [":940:", ":20:940S261126", f":25:{OUR_IBAN}", ":28C:0", ":60F:C261125EUR0,00"]
    for seq in [s for s in chosen if s not in camt_ones][:entries]:
        cents = 12_000 + seq % 977
        number = f"F2026-{seq:05d}" if seq < 100000 else f"F2026-{seq}"
        lines += [
            f":61:2611261126C{cents // 100},{cents % 100:02d}N541EREF",
            "NL70ABNA0987654321",
            f":86:/EREF/26-11-2026 12:00 {seq:016d}/ORDP//NAME/Client {seq % 1000}"
            f"/REMI/Facture {number}/ISDT/2026-11-26",
        ]
    lines += [":62F:C261126EUR0,00", "-"]
    return "\r\n".join(lines).encode()


async def ledger_bench(entries: int, invoices: int, db_url: str) -> None:
    async with tortoise_test_context(MODEL_MODULES, db_url):
        t0 = time.perf_counter()
        await _ledger(invoices)
        print(f"ledger: {invoices} open invoices created in {time.perf_counter() - t0:.1f} s")
        xml = _statement(entries, invoices)
        print(f"statement: camt.053, {entries} credit entries, {len(xml) / 1e6:.1f} MB")
        parse_s = float("inf")
        for _ in range(3):  # best of three, as bench/payments_parse.py (best of seven)
            t0 = time.perf_counter()
            notices = parse_camt(xml).notices
            parse_s = min(parse_s, time.perf_counter() - t0)
        print(
            f"parse only (best of 3): {len(notices)} notices in {parse_s:.2f} s = "
            f"{len(notices) / parse_s:,.0f} entries/s (target >= 20,000)"
        )
        source = await InboxMessage.create(
            message_id="<bench@bank>", folder="INBOX", status=InboxStatus.PROCESSED
        )
        t0 = time.perf_counter()
        outcome = await record_notices(parse_camt(xml).notices, source=source, now=NOW)
        total_s = time.perf_counter() - t0
        paid = await Invoice.filter(status=InvoiceStatus.PAID).count()
        print(
            f"parse + match + settle: {outcome.settled} settled, {outcome.unmatched} unmatched "
            f"in {total_s:.2f} s = {entries / total_s:,.0f} entries/s (target >= 2,000); "
            f"{paid} invoices paid, {await Payment.all().count()} payments"
        )
        t0 = time.perf_counter()
        again = await record_notices(parse_camt(xml).notices, source=source, now=NOW)
        print(
            f"same statement again: {again.duplicates} duplicates, {again.recorded} recorded "
            f"in {time.perf_counter() - t0:.2f} s"
        )
        sta = _mt940_statement(entries, invoices)
        parse_s = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            mt = parse_mt940(sta)
            parse_s = min(parse_s, time.perf_counter() - t0)
        print(
            f"MT940 (Rabobank layout, EREF on every line, fingerprint identities) parse only "
            f"(best of 3): {len(mt)} notices in {parse_s:.2f} s = {len(mt) / parse_s:,.0f} entries/s"
        )
        t0 = time.perf_counter()
        outcome = await record_notices(parse_mt940(sta), source=source, now=NOW)
        total_s = time.perf_counter() - t0
        print(
            f"MT940 parse + match + settle: {outcome.settled} settled, {outcome.unmatched} "
            f"unmatched, {outcome.duplicates} taken for duplicates in {total_s:.2f} s = "
            f"{len(mt) / total_s:,.0f} entries/s (target >= 2,000)"
        )


async def imap_bench(messages: int, db_url: str) -> int:
    server = DovecotServer()
    try:
        server.start()
    except (OSError, TimeoutError) as exc:
        server.destroy()
        print(f"imap: Dovecot unavailable ({exc}); skipped")
        return 1 if os.environ.get("CI", "").lower() in ("1", "true", "yes") else 0
    try:
        from imap_tools import MailBoxUnencrypted

        async with tortoise_test_context(MODEL_MODULES, db_url):
            await _ledger(max(messages, 1000))
            t0 = time.perf_counter()
            with MailBoxUnencrypted("127.0.0.1", server.port).login(server.user, server.password) as mb:
                for seq in range(1, messages + 1):
                    amount = f"{(12_000 + seq % 977) / 100:.2f}"
                    xml = camt(
                        "054",
                        [Entry(amount, [Tx(amount, rf=rf_reference(f"F2026-{seq:05d}"))], ref=f"M{seq}")],
                    )
                    mb.append(bank_mail(attachments=[("avis.xml", xml, "application/xml")]), "INBOX")
            print(f"imap: {messages} messages appended in {time.perf_counter() - t0:.1f} s")
            t0 = time.perf_counter()
            with MailBoxUnencrypted("127.0.0.1", server.port).login(server.user, server.password) as mb:
                fetched = sum(1 for _ in mb.fetch(mark_seen=False, bulk=True))
            bare = time.perf_counter() - t0
            account = ImapAccount(
                host="127.0.0.1",
                port=server.port,
                user=server.user,
                password=server.password,
                security="none",
            )
            t0 = time.perf_counter()
            report = await imap_pass(account, rules())
            spent = time.perf_counter() - t0
            print(
                f"imap: {len(report.outcomes)} messages fetched, checked, recorded and moved in "
                f"{spent:.1f} s = {len(report.outcomes) / spent:,.0f} msg/s (target 1,000 in <= 30 s); "
                f"{report.count('processed')} processed, error={report.error}"
            )
            print(
                f"reference, same run: {fetched} messages fetched bare by imap-tools in {bare:.2f} s "
                f"({fetched / bare:,.0f} msg/s); ratio {spent / bare:.1f}"
            )
    finally:
        server.destroy()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000)
    parser.add_argument("--db", default=None, help="database URL (default: a SQLite file in /tmp)")
    parser.add_argument("--quick", action="store_true", help="500 entries, 2,000 invoices, 20 messages")
    args = parser.parse_args()
    if args.quick:
        args.entries, args.invoices, args.messages = 500, 2_000, 20
    print(machine())
    status = 0
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite://{Path(tmp) / 'bench.db'}"
        asyncio.run(ledger_bench(args.entries, args.invoices, url))
        url2 = args.db or f"sqlite://{Path(tmp) / 'bench_imap.db'}"
        if args.messages:
            status = asyncio.run(imap_bench(args.messages, url2))
    return status


if __name__ == "__main__":
    sys.exit(main())
