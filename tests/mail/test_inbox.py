"""The inbox watcher against a real Dovecot: bank mail in, invoices settled, forgeries quarantined."""

from __future__ import annotations

import zipfile
from datetime import timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

from imap_tools import MailBoxUnencrypted

from mail.inbox import ImapAccount, PassReport, imap_pass, maildir_pass, process_message
from storage.models import (
    Alert,
    InboxMessage,
    InboxStatus,
    Invoice,
    InvoiceStatus,
    MailboxState,
    Payment,
    PaymentStatus,
    Role,
)
from tests.mail.bankmail import AUTHSERV, BANK, Entry, Tx, bank_mail, camt, dns_lookup, rules
from tests.mail.conftest import append, count
from tests.payment_fixtures import NOW, client, issued, owner, rf
from tests.services import DovecotMailbox

XML = "application/xml"


async def _two_invoices() -> tuple[Invoice, Invoice]:
    alice = await owner()
    await owner("root", Role.ADMIN)
    acme = await client("ACME SA", alice)
    return await issued(1, acme, alice, 1_200_00), await issued(2, acme, alice, 350_00)


def _batched_camt054() -> bytes:
    return camt(
        "054", [Entry("1550.00", [Tx("1200.00", rf=rf(1)), Tx("350.00", ustrd="Facture F2026 00002")])]
    )


async def _status(*invoices: Invoice) -> list[tuple[InvoiceStatus, int]]:
    out = []
    for inv in invoices:
        fresh = await Invoice.get(id=inv.id)
        out.append((fresh.status, fresh.paid_cents))
    return out


async def test_camt054_with_two_batched_payments_settles_both_and_moves_the_mail(
    db: str, dovecot: DovecotMailbox, account: ImapAccount
) -> None:
    a, b = await _two_invoices()
    append(dovecot, bank_mail(attachments=[("avis.xml", _batched_camt054(), XML)]))
    report = await imap_pass(account, rules())
    assert report.error is None and report.count("processed") == 1
    assert await _status(a, b) == [(InvoiceStatus.PAID, 1_200_00), (InvoiceStatus.PAID, 350_00)]
    assert (count(dovecot, "INBOX"), count(dovecot, "Processed")) == (0, 1)
    assert await Alert.filter(kind="payment_received").count() == 2


async def test_the_move_is_a_real_uid_move_that_expunges_nothing_else(
    db: str, dovecot: DovecotMailbox, account: ImapAccount
) -> None:
    await _two_invoices()
    append(dovecot, b"From: someone@else\r\nSubject: keep me\r\n\r\nhi\r\n", flags=("\\Deleted",))
    with MailBoxUnencrypted("127.0.0.1", dovecot.port).login(dovecot.user, dovecot.password) as mb:
        validity = int(mb.folder.status("INBOX")["UIDVALIDITY"])
    # UID 1 was handled in an earlier pass (a person flagged it \Deleted since).
    await MailboxState.create(folder="INBOX", uidvalidity=validity, last_uid=1)
    append(dovecot, bank_mail(attachments=[("avis.xml", _batched_camt054(), XML)]))
    report = await imap_pass(account, rules())
    assert report.count("processed") == 1
    # A COPY + \Deleted + EXPUNGE fallback would have removed the other \Deleted message too.
    assert (count(dovecot, "INBOX"), count(dovecot, "Processed")) == (1, 1)


async def test_camt053_statement_settles_credits_and_records_debits(
    db: str, dovecot: DovecotMailbox, account: ImapAccount
) -> None:
    a, b = await _two_invoices()
    statement = camt(
        "053",
        [
            Entry("1200.00", [Tx("1200.00", rf=rf(1))]),
            Entry("350.00", [Tx("350.00", rf=rf(2))], credit=False),
        ],
        version="02",
    )
    append(dovecot, bank_mail(attachments=[("releve.xml", statement, XML)]))
    await imap_pass(account, rules())
    assert await _status(a, b) == [(InvoiceStatus.PAID, 1_200_00), (InvoiceStatus.ISSUED, 0)]
    assert await Payment.filter(status=PaymentStatus.IGNORED).count() == 1


async def test_zipped_camt_is_read(db: str, dovecot: DovecotMailbox, account: ImapAccount) -> None:
    a, b = await _two_invoices()
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("avis.xml", _batched_camt054())
    append(dovecot, bank_mail(attachments=[("avis.zip", buffer.getvalue(), "application/zip")]))
    await imap_pass(account, rules())
    assert await _status(a, b) == [(InvoiceStatus.PAID, 1_200_00), (InvoiceStatus.PAID, 350_00)]


async def test_partial_then_final_payment(db: str, dovecot: DovecotMailbox, account: ImapAccount) -> None:
    a, _ = await _two_invoices()
    append(
        dovecot,
        bank_mail(attachments=[("a.xml", camt("054", [Entry("200.00", [Tx("200.00", rf=rf(1))])]), XML)]),
    )
    await imap_pass(account, rules())
    assert await _status(a) == [(InvoiceStatus.PARTIALLY_PAID, 200_00)]
    append(
        dovecot,
        bank_mail(attachments=[("b.xml", camt("054", [Entry("1000.00", [Tx("1000.00", rf=rf(1))])]), XML)]),
    )
    await imap_pass(account, rules())
    assert await _status(a) == [(InvoiceStatus.PAID, 1_200_00)]
    balances = [
        al.params["balance_cents"] for al in await Alert.filter(kind="payment_received").order_by("id")
    ]
    assert balances == [1_000_00, 0]


async def test_the_same_mail_read_twice_counts_once(
    db: str, dovecot: DovecotMailbox, account: ImapAccount
) -> None:
    a, b = await _two_invoices()
    raw = bank_mail(attachments=[("avis.xml", _batched_camt054(), XML)])
    append(dovecot, raw)
    await imap_pass(account, rules())
    append(dovecot, raw)  # a person drags it back to the inbox
    report = await imap_pass(account, rules())
    assert report.outcomes[0].record is not None and report.outcomes[0].record.duplicates == 2
    assert await Payment.all().count() == 2
    assert await _status(a, b) == [(InvoiceStatus.PAID, 1_200_00), (InvoiceStatus.PAID, 350_00)]
    assert await InboxMessage.all().count() == 1
    assert (count(dovecot, "INBOX"), count(dovecot, "Processed")) == (0, 2)


async def test_uidvalidity_change_rescans_without_counting_twice(
    db: str, dovecot: DovecotMailbox, account: ImapAccount
) -> None:
    a, b = await _two_invoices()
    bank = ImapAccount(**{**account.__dict__, "folder": "Bank"})
    first = bank_mail(
        attachments=[("a.xml", camt("054", [Entry("200.00", [Tx("200.00", rf=rf(1))], ref="E-A")]), XML)]
    )
    second = bank_mail(
        attachments=[("b.xml", camt("054", [Entry("350.00", [Tx("350.00", rf=rf(2))], ref="E-B")]), XML)]
    )
    append(dovecot, b"Subject: filler\r\n\r\nx\r\n", b"Subject: filler\r\n\r\ny\r\n", folder="Bank")
    append(dovecot, first, folder="Bank")
    await imap_pass(bank, rules())
    old = await MailboxState.get(folder="Bank")
    assert old.last_uid == 3
    with MailBoxUnencrypted("127.0.0.1", dovecot.port).login(
        dovecot.user, dovecot.password, initial_folder=None
    ) as mb:
        mb.folder.delete("Bank")
        mb.folder.create("Bank")
    append(dovecot, first, second, folder="Bank")  # UIDs 1 and 2 again, below the old cursor
    report = await imap_pass(bank, rules())
    assert report.rescanned and report.uidvalidity != old.uidvalidity
    assert await _status(a, b) == [(InvoiceStatus.PARTIALLY_PAID, 200_00), (InvoiceStatus.PAID, 350_00)]
    assert await Payment.all().count() == 2


async def test_connection_killed_mid_pass_loses_and_doubles_nothing(
    db: str, dovecot: DovecotMailbox, account: ImapAccount
) -> None:
    a, b = await _two_invoices()
    killed: list[bool] = []

    def lookup_then_kill(name: bytes | str, timeout: int = 5) -> bytes | None:
        if not killed:  # the server dies while the first message is being processed
            killed.append(dovecot.kill_sessions() > 0)
        return dns_lookup(name, timeout)

    mails = [
        bank_mail(
            trusted=False,
            dkim_domain="bank.example",
            attachments=[(f"{n}.xml", camt("054", [Entry(amount, [Tx(amount, rf=rf(n))])]), XML)],
        )
        for n, amount in ((1, "1200.00"), (2, "350.00"))
    ]
    append(dovecot, *mails)
    report = await imap_pass(account, rules(dns_lookup=lookup_then_kill))
    assert killed == [True] and report.error is not None
    assert await MailboxState.filter(folder="INBOX", down_since__isnull=False).exists()
    again = await imap_pass(account, rules())
    assert again.error is None
    assert await _status(a, b) == [(InvoiceStatus.PAID, 1_200_00), (InvoiceStatus.PAID, 350_00)]
    assert await Payment.all().count() == 2
    assert (count(dovecot, "INBOX"), count(dovecot, "Processed")) == (0, 2)
    assert (await MailboxState.get(folder="INBOX")).down_since is None


async def _quarantined(
    dovecot: DovecotMailbox, account: ImapAccount, raw: bytes, invoice: Invoice
) -> InboxMessage:
    append(dovecot, raw)
    report = await imap_pass(account, rules())
    assert report.count("processed") == 0
    assert await _status(invoice) == [(InvoiceStatus.ISSUED, 0)]
    assert await Payment.all().count() == 0
    assert (count(dovecot, "INBOX"), count(dovecot, "Quarantine")) == (0, 1)
    return await InboxMessage.get()


async def test_spoofed_sender_is_quarantined_and_admins_are_told(
    db: str, dovecot: DovecotMailbox, account: ImapAccount
) -> None:
    a, _ = await _two_invoices()
    raw = bank_mail(
        sender="notifications@bank-example.evil", attachments=[("avis.xml", _batched_camt054(), XML)]
    )
    row = await _quarantined(dovecot, account, raw, a)
    assert row.status == InboxStatus.QUARANTINED and row.reason
    assert row.raw_message is not None and b"bank-example.evil" in row.raw_message
    assert await Alert.filter(kind="quarantined").count() == 1


async def test_valid_dkim_signature_from_the_wrong_domain_is_quarantined(
    db: str, dovecot: DovecotMailbox, account: ImapAccount
) -> None:
    a, _ = await _two_invoices()
    raw = bank_mail(
        trusted=False, dkim_domain="evil.example", attachments=[("avis.xml", _batched_camt054(), XML)]
    )
    row = await _quarantined(dovecot, account, raw, a)
    assert row.status == InboxStatus.QUARANTINED


async def test_dkim_signature_of_the_bank_is_trusted(
    db: str, dovecot: DovecotMailbox, account: ImapAccount
) -> None:
    a, b = await _two_invoices()
    append(
        dovecot,
        bank_mail(
            trusted=False, dkim_domain="bank.example", attachments=[("avis.xml", _batched_camt054(), XML)]
        ),
    )
    await imap_pass(account, rules())
    assert await _status(a, b) == [(InvoiceStatus.PAID, 1_200_00), (InvoiceStatus.PAID, 350_00)]


async def test_forged_authentication_results_below_ours_are_ignored(
    db: str, dovecot: DovecotMailbox, account: ImapAccount
) -> None:
    a, _ = await _two_invoices()
    raw = bank_mail(
        trusted=False,
        attachments=[("avis.xml", _batched_camt054(), XML)],
        auth_results=[
            f"Authentication-Results: {AUTHSERV}; dkim=none; spf=fail smtp.mailfrom={BANK}",
            f"Authentication-Results: {AUTHSERV}; dkim=pass header.d=bank.example; "
            f"spf=pass smtp.mailfrom={BANK}",
        ],
    )
    row = await _quarantined(dovecot, account, raw, a)
    assert row.status == InboxStatus.QUARANTINED


async def test_xml_bomb_is_refused_and_kept_for_a_human(
    db: str, dovecot: DovecotMailbox, account: ImapAccount
) -> None:
    a, _ = await _two_invoices()
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08">&lol3;</Document>'
    )
    row = await _quarantined(dovecot, account, bank_mail(attachments=[("avis.xml", bomb, XML)]), a)
    assert row.status == InboxStatus.UNRECOGNISED and row.reason


async def test_twenty_megabyte_attachment_is_quarantined_unread(
    db: str, dovecot: DovecotMailbox, account: ImapAccount
) -> None:
    a, _ = await _two_invoices()
    huge = bank_mail(
        attachments=[
            ("avis.xml", _batched_camt054(), XML),
            ("scan.bin", b"\0" * (20 * 1024 * 1024), "application/octet-stream"),
        ]
    )
    row = await _quarantined(dovecot, account, huge, a)
    assert "too large" in row.reason


async def test_mailbox_unreachable_for_15_minutes_alerts_admins_once(db: str) -> None:
    admin = await owner("root", Role.ADMIN)
    from tests.services import free_port

    dead = ImapAccount(
        host="127.0.0.1", port=free_port(), user="x", password="y", security="none", timeout=2.0
    )
    for minutes in (0, 10, 16, 30):
        report = await imap_pass(dead, rules(), now=NOW + timedelta(minutes=minutes))
        assert report.error
    alerts = await Alert.filter(kind="mailbox_down")
    assert [al.user_id for al in alerts] == [admin.id]


async def test_embedded_maildir_takes_dropped_eml_files(db: str, tmp_path: Path) -> None:
    a, b = await _two_invoices()
    inbox = tmp_path / "mail" / "inbox"
    inbox.mkdir(parents=True)
    (inbox / "avis.eml").write_bytes(bank_mail(attachments=[("a.xml", _batched_camt054(), XML)]))
    (inbox / "new").mkdir()
    (inbox / "new" / "1.host").write_bytes(bank_mail(sender="x@evil.example"))
    report = await maildir_pass(tmp_path / "mail", rules())
    assert sorted(o.kind for o in report.outcomes) == ["processed", "quarantined"]
    assert await _status(a, b) == [(InvoiceStatus.PAID, 1_200_00), (InvoiceStatus.PAID, 350_00)]
    assert (tmp_path / "mail" / "processed" / "avis.eml").exists()
    assert (tmp_path / "mail" / "quarantine" / "1.host").exists()
    assert not list(inbox.glob("*.eml"))


async def test_nothing_recognisable_is_kept_with_the_reason(db: str) -> None:
    await _two_invoices()
    outcome = await process_message(
        bank_mail(text="Bonjour, votre conseiller vous écrit."), folder="INBOX", uid=1, rules=rules()
    )
    assert outcome.kind == "unrecognised" and outcome.reason
    row = await InboxMessage.get()
    assert row.status == InboxStatus.UNRECOGNISED and row.reason == outcome.reason


MT940 = """:20:STARTUMSE
:25:FR7630006000011234567890189
:28C:00001/001
:60F:C261125EUR1000,00
:61:2611260126C1200,00NTRFNONREF//BQ20261126001
:86:166?00GUTSCHRIFT?20SVWZ+Rechnung F2026-00001?31DE89370400440532013000?32ACME SA
:61:2611260126D50,00NMSCNONREF
:86:805?00ENTGELT?20Kontofuehrung
:62F:C261126EUR2150,00
-
"""


async def test_mt940_statement_settles_the_credit_and_remembers_the_payer_iban(
    db: str, dovecot: DovecotMailbox, account: ImapAccount
) -> None:
    a, b = await _two_invoices()
    append(dovecot, bank_mail(attachments=[("releve.sta", MT940.encode(), "text/plain")]))
    report = await imap_pass(account, rules())
    assert report.count("processed") == 1
    assert await _status(a, b) == [(InvoiceStatus.PAID, 1_200_00), (InvoiceStatus.ISSUED, 0)]
    assert await Payment.filter(status=PaymentStatus.IGNORED).count() == 1
    from storage.models import PayerAccount

    assert await PayerAccount.filter(iban="DE89370400440532013000").exists()


FRENCH = """Bonjour,

Vous avez reçu un virement sur votre compte.

Compte crédité : FR76 3000 6000 0112 3456 7890 189
Montant : 350,00 EUR
Émetteur : ACME SA
Libellé : Règlement facture F2026-00002
Date d'opération : 26/11/2026

Cordialement,
Banque Exemple
"""


async def test_french_text_notification_settles_through_the_bank_template(
    db: str, dovecot: DovecotMailbox, account: ImapAccount
) -> None:
    a, b = await _two_invoices()
    sender = "alertes@banque-exemple.fr"
    append(dovecot, bank_mail(sender=sender, text=FRENCH, subject="Avis de virement reçu"))
    report = await imap_pass(account, rules(allowed_senders=(BANK, sender)))
    assert report.count("processed") == 1, report.lines()
    assert await _status(a, b) == [(InvoiceStatus.ISSUED, 0), (InvoiceStatus.PAID, 350_00)]
    payment = await Payment.get()
    assert (payment.payer_name, payment.matched_by) == ("ACME SA", "number")


async def test_the_watcher_wakes_up_from_idle_when_mail_arrives(
    db: str, dovecot: DovecotMailbox, account: ImapAccount
) -> None:
    import asyncio
    import time

    from mail.inbox import watch

    a, b = await _two_invoices()
    stop, idle, got_mail = asyncio.Event(), asyncio.Event(), asyncio.Event()

    def on_report(report: PassReport) -> None:
        (got_mail if report.outcomes else idle).set()

    task = asyncio.create_task(watch(account, rules(), poll_seconds=20, stop=stop, on_report=on_report))
    await asyncio.wait_for(idle.wait(), 10)  # the first pass found nothing: now in IDLE
    await asyncio.sleep(0.5)
    started = time.monotonic()
    append(dovecot, bank_mail(attachments=[("avis.xml", _batched_camt054(), XML)]))
    await asyncio.wait_for(got_mail.wait(), 15)
    woke_after = time.monotonic() - started
    stop.set()
    append(dovecot, b"Subject: wake up\r\n\r\n.\r\n")  # lets IDLE return so the loop sees stop
    await asyncio.wait_for(task, 20)
    assert woke_after < 10, "the new mail waited for the poll interval instead of IDLE"
    assert await _status(a, b) == [(InvoiceStatus.PAID, 1_200_00), (InvoiceStatus.PAID, 350_00)]


# ---------------------------------------------------------------- whose account?


async def test_a_genuine_camt_about_another_account_is_quarantined_and_settles_nothing(db: str) -> None:
    # A client of the same bank pays between its own accounts with our RF reference and
    # forwards the bank's authenticated notice: the bank is genuine, the account is not ours.
    a, b = await _two_invoices()
    other = "FR7630004000031234567890143"
    raw = bank_mail(
        attachments=[
            ("avis.xml", camt("054", [Entry("1200.00", [Tx("1200.00", rf=rf(1))])], account=other), XML)
        ]
    )
    outcome = await process_message(raw, folder="INBOX", uid=1, rules=rules())
    assert outcome.kind == "quarantined"
    assert outcome.reason == f"statement for another account {other}"
    assert await _status(a, b) == [(InvoiceStatus.ISSUED, 0), (InvoiceStatus.ISSUED, 0)]
    assert not await Payment.exists()
    row = await InboxMessage.get()
    assert (row.status, row.reason) == (InboxStatus.QUARANTINED, outcome.reason)
    assert await Alert.filter(kind="quarantined").exists()


async def test_an_mt940_statement_of_another_account_is_quarantined(db: str) -> None:
    a, b = await _two_invoices()
    statement = MT940.replace("FR7630006000011234567890189", "10020030/1234567890")
    raw = bank_mail(attachments=[("releve.sta", statement.encode(), "text/plain")])
    outcome = await process_message(raw, folder="INBOX", uid=1, rules=rules())
    assert (outcome.kind, outcome.reason) == (
        "quarantined",
        "statement for another account 10020030/1234567890",
    )
    assert await _status(a, b) == [(InvoiceStatus.ISSUED, 0), (InvoiceStatus.ISSUED, 0)]
    assert not await Payment.exists()


async def test_an_mt940_naming_our_account_by_bank_code_and_number_settles(db: str) -> None:
    a, _ = await _two_invoices()
    statement = MT940.replace("FR7630006000011234567890189", "30006/00001/12345678901")
    raw = bank_mail(attachments=[("releve.sta", statement.encode(), "text/plain")])
    outcome = await process_message(raw, folder="INBOX", uid=1, rules=rules())
    assert outcome.kind == "processed" and outcome.record is not None
    assert outcome.record.settled == 1
    assert await _status(a) == [(InvoiceStatus.PAID, 1_200_00)]


async def test_a_text_notification_naming_no_account_is_left_unmatched_for_a_human(db: str) -> None:
    a, b = await _two_invoices()
    await owner("mona", Role.MANAGER)
    sender = "alertes@banque-exemple.fr"
    text = "\n".join(line for line in FRENCH.splitlines() if not line.startswith("Compte"))
    raw = bank_mail(sender=sender, text=text, subject="Avis de virement reçu")
    outcome = await process_message(raw, folder="INBOX", uid=1, rules=rules(allowed_senders=(BANK, sender)))
    assert outcome.kind == "processed" and outcome.record is not None
    assert (outcome.record.settled, outcome.record.unmatched) == (0, 1)
    assert await _status(a, b) == [(InvoiceStatus.ISSUED, 0), (InvoiceStatus.ISSUED, 0)]
    payment = await Payment.get()
    assert (payment.status, payment.invoice_id) == (PaymentStatus.UNMATCHED, None)
    row = await InboxMessage.get()
    assert row.reason == "the message names no account: left for a human"
    held = await Alert.get(kind="payment_held")
    assert held.params["reason"] == row.reason


async def test_without_our_iban_configured_nothing_settles_by_itself(db: str) -> None:
    a, b = await _two_invoices()
    raw = bank_mail(attachments=[("avis.xml", _batched_camt054(), XML)])
    outcome = await process_message(raw, folder="INBOX", uid=1, rules=rules(company_ibans=()))
    assert outcome.kind == "quarantined"
    assert await _status(a, b) == [(InvoiceStatus.ISSUED, 0), (InvoiceStatus.ISSUED, 0)]


def test_inbox_rules_carry_the_company_iban_from_the_settings(settings: Any) -> None:
    from bot.jobs.inbox import inbox_rules

    assert inbox_rules(settings).company_ibans == (settings.company_iban,)


def test_the_imap_password_stays_out_of_reprs() -> None:
    account = ImapAccount(host="h", port=1, user="u", password="s3cret-pw")
    assert "s3cret-pw" not in repr(account)
