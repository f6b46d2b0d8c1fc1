"""Real-format bank files through the inbox, on SQLite and PostgreSQL: every entry recorded
once, returns reopen invoices, batches allocated only when exact, nothing refused in silence."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.delivery import render_alert
from mail.inbox import ImapAccount, Outcome, imap_pass, message_headers, process_message
from storage.models import (
    Alert,
    CollectionStatus,
    CollectionTask,
    InboxMessage,
    InboxStatus,
    Invoice,
    InvoiceStatus,
    OutboxEmail,
    OutboxStatus,
    Payment,
    PaymentDirection,
    PaymentStatus,
    Role,
    User,
)
from storage.payments import account_is_ours
from tests.mail.bankmail import AUTHSERV, BANK, Entry, Tx, bank_mail, camt, rules
from tests.mail.conftest import append, count
from tests.payment_fixtures import NOW, OUR_IBAN, client, issued, owner, rf
from tests.services import DovecotMailbox

SAMPLES = Path(__file__).parent / "samples"
RABO = "NL71RABO0123456789"
OCA_ACCOUNT = "NL77ABNA0574908765"
STA = "application/octet-stream"
XML = "application/xml"


def rabobank(day: int, invoice: str, amount: str = "25,00", number: str = "0") -> bytes:
    """One day's statement in the layout of samples/mt940/jejik-rabobank-iban.sta: `EREF`
    as customer reference on the SEPA line, the counterparty on the next line."""
    return (
        f":940:\r\n:20:940S2611{day:02d}\r\n:25:{RABO}\r\n:28C:{number}\r\n"
        f":60F:C2611{day - 1:02d}EUR000000001000,00\r\n"
        f":61:2611{day:02d}C000000000{amount}N541EREF            \r\nNL70ABNA0987654321\r\n"
        f":86:/EREF/{day:02d}-11-2026 12:00 0030000987654321/ORDP//NAME/ACME SA/REMI/Facture {invoice}"
        f"/ISDT/2026-11-{day:02d}\r\n"
        f":62F:C2611{day:02d}EUR000000001025,00\r\n"
    ).encode()


def our_rules(*more: str):
    return rules(company_ibans=(OUR_IBAN, RABO, *more))


async def _team() -> User:
    alice = await owner()
    await owner("root", Role.ADMIN)
    await owner("mia", Role.MANAGER)
    await owner("colin", Role.COLLECTIONS)
    return alice


async def _process(raw: bytes, extra: tuple[str, ...] = (), days: int = 0) -> Outcome:
    return await process_message(
        raw, folder="INBOX", uid=None, rules=our_rules(*extra), now=NOW + timedelta(days=days)
    )


async def _state(inv: Invoice) -> tuple[InvoiceStatus, int]:
    fresh = await Invoice.get(id=inv.id)
    return fresh.status, fresh.paid_cents


# ---------------------------------------------------------------- identity


async def test_a_rabobank_statement_resent_in_a_new_email_records_nothing_new(any_db: str) -> None:
    alice = await _team()
    inv = await issued(1, await client("ACME SA", alice), alice, 25_00)
    statement = rabobank(26, "F2026-00001")
    first = await _process(bank_mail(attachments=[("rabo.sta", statement, STA)]))
    again = await _process(bank_mail(attachments=[("rabo.sta", statement, STA)]), days=1)
    assert (first.record.recorded, first.record.settled) == (1, 1)
    assert (again.kind, again.record.recorded, again.record.duplicates) == ("processed", 0, 1)
    assert await Payment.all().count() == 1
    assert await _state(inv) == (InvoiceStatus.PAID, 25_00)


async def test_two_rabobank_statements_on_two_days_each_with_one_eref_payment_record_two(
    any_db: str,
) -> None:
    alice = await _team()
    acme = await client("ACME SA", alice)
    a, b = await issued(1, acme, alice, 25_00), await issued(2, acme, alice, 25_00)
    await _process(bank_mail(attachments=[("rabo.sta", rabobank(26, "F2026-00001"), STA)]))
    second = await _process(bank_mail(attachments=[("rabo.sta", rabobank(27, "F2026-00002"), STA)]), days=1)
    # Same EREF, same amount, same payer, same statement number "0": still two payments.
    assert (second.record.recorded, second.record.duplicates, second.record.settled) == (1, 0, 1)
    assert await Payment.all().count() == 2
    assert [await _state(a), await _state(b)] == [(InvoiceStatus.PAID, 25_00)] * 2


async def test_the_real_rabobank_sample_records_four_entries_once(any_db: str) -> None:
    await _team()
    data = (SAMPLES / "mt940/jejik-rabobank-iban.sta").read_bytes()
    first = await _process(bank_mail(attachments=[("rabo.sta", data, STA)]))
    again = await _process(bank_mail(attachments=[("rabo.sta", data, STA)]), days=1)
    assert (first.record.recorded, first.record.ignored) == (4, 4)  # four debits
    assert (again.record.recorded, again.record.duplicates) == (0, 4)
    assert await Payment.filter(account=RABO).count() == 4


async def test_the_asn_file_the_library_refuses_is_recorded_through_the_inbox(any_db: str) -> None:
    await _team()
    data = (SAMPLES / "mt940/wolph-asn.940.txt").read_bytes()
    outcome = await _process(
        bank_mail(attachments=[("0708271685.940.txt", data, "text/plain")]), ("NL81ASNB9999999999",)
    )
    assert outcome.kind == "processed"
    assert (outcome.record.recorded, outcome.record.ignored, outcome.record.unmatched) == (8, 5, 3)
    again = await _process(
        bank_mail(attachments=[("0708271685.940.txt", data, "text/plain")]), ("NL81ASNB9999999999",), days=1
    )
    assert (again.record.recorded, again.record.duplicates) == (0, 8)


async def test_a_real_camt054_resent_records_nothing_new_and_keys_on_the_bank_id(
    any_db: str,
) -> None:
    alice = await _team()
    inv = await issued(1, await client("Test Customer", alice), alice, 5_00)
    data = (SAMPLES / "camt/oca-test-camt054.xml").read_bytes()
    first = await _process(bank_mail(attachments=[("camt054.xml", data, XML)]), (OCA_ACCOUNT,))
    again = await _process(bank_mail(attachments=[("camt054.xml", data, XML)]), (OCA_ACCOUNT,), days=1)
    assert (first.record.settled, again.record.recorded, again.record.duplicates) == (1, 0, 1)
    payment = await Payment.get()
    assert payment.entry_ref == f"bank:{OCA_ACCOUNT}:15180015077602405"
    assert await _state(inv) == (InvoiceStatus.PAID, 5_00)


# ---------------------------------------------------------------- returns


GERMAN_DAY = """:20:STARTUMSE
:25:{iban}
:28C:000{n}/001
:60F:C26112{d}EUR1000,00
{lines}
:62F:C26112{d}EUR1000,00
-
"""


def german(n: int, day: int, lines: str) -> bytes:
    return GERMAN_DAY.format(iban=OUR_IBAN, n=n, d=day, lines=lines.strip()).encode()


async def test_an_mt940_storno_of_a_settled_invoice_reopens_it_and_tells_everyone(
    any_db: str,
) -> None:
    alice = await _team()
    inv = await issued(42, await client("ACME GmbH", alice), alice, 1_200_00)
    task = await CollectionTask.create(invoice=inv, assignee=alice, opened_at=NOW, level=1)
    paid = german(
        1,
        6,
        """
:61:2611261126C1200,00NTRFNONREF//BQ20261126001
:86:166?00GUTSCHRIFT?20EREF+F2026-00042?21SVWZ+Rechnung F2026-00042?31DE89370400440532013000?32ACME GmbH""",
    )
    storno = german(
        2,
        7,
        """
:61:2611271127RC1200,00NTRFNONREF//BQ20261127009
:86:159?00RUECKUEBERWEISUNG?20Retour F2026-00042?31DE89370400440532013000?32ACME GmbH""",
    )
    await _process(bank_mail(attachments=[("day1.sta", paid, STA)]))
    assert await _state(inv) == (InvoiceStatus.PAID, 1_200_00)
    assert (await CollectionTask.get(id=task.id)).status == CollectionStatus.CLOSED
    outcome = await _process(bank_mail(attachments=[("day2.sta", storno, STA)]), days=1)
    assert outcome.record.returned == 1
    assert await _state(inv) == (InvoiceStatus.ISSUED, 0)
    assert (await CollectionTask.get(id=task.id)).status == CollectionStatus.OPEN
    returned = await Payment.get(direction=PaymentDirection.REVERSAL)
    assert (returned.invoice_id, returned.matched_by, returned.return_code) == (inv.id, "return", "RV")
    alerts = await Alert.filter(kind="payment_returned").prefetch_related("user", "rerouted_from")
    assert sorted(a.user.name for a in alerts) == ["alice", "colin", "mia"]
    text, _ = render_alert(alerts[0], "fr")
    assert "contrepassé par la banque" in text and "F2026-00042" in text


def _camt_return(rf_ref: str, amount: str, reason: str = "AC04") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"><BkToCstmrDbtCdtNtfctn>'
        "<GrpHdr><MsgId>RET-MSG-1</MsgId><CreDtTm>2026-11-28T18:00:00</CreDtTm></GrpHdr>"
        f"<Ntfctn><Id>RET-N-1</Id><CreDtTm>2026-11-28T18:00:00</CreDtTm>"
        f"<Acct><Id><IBAN>{OUR_IBAN}</IBAN></Id><Ccy>EUR</Ccy></Acct>"
        f'<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>DBIT</CdtDbtInd>'
        "<Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-11-28</Dt></BookgDt>"
        "<AcctSvcrRef>RET-20261128-0001</AcctSvcrRef>"
        "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>RRTN</SubFmlyCd></Fmly></Domn></BkTxCd>"
        f"<NtryDtls><TxDtls><Refs><EndToEndId>E2E-77</EndToEndId></Refs>"
        f'<AmtDtls><TxAmt><Amt Ccy="EUR">{amount}</Amt></TxAmt></AmtDtls>'
        "<RltdPties><Dbtr><Nm>ACME SA</Nm></Dbtr></RltdPties>"
        f"<RmtInf><Strd><CdtrRefInf><Ref>{rf_ref}</Ref></CdtrRefInf></Strd></RmtInf>"
        f"<RtrInf><Rsn><Cd>{reason}</Cd></Rsn></RtrInf></TxDtls></NtryDtls></Ntry>"
        "</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>"
    ).encode()


async def test_a_full_return_of_an_invoice_emailed_to_the_client_puts_it_back_to_sent(
    any_db: str,
) -> None:
    alice = await _team()
    inv = await issued(8, await client("ACME SA", alice), alice, 500_00, status=InvoiceStatus.SENT)
    await OutboxEmail.create(
        dedupe_key="inv:8",
        message_id="<inv8@entonnoir>",
        to_addrs=["compta@acme.example"],
        subject="Facture F2026-00008",
        body_text="...",
        invoice=inv,
        status=OutboxStatus.SENT,
    )
    await _process(
        bank_mail(attachments=[("avis.xml", camt("054", [Entry("500.00", [Tx("500.00", rf=rf(8))])]), XML)])
    )
    assert await _state(inv) == (InvoiceStatus.PAID, 500_00)
    await _process(bank_mail(attachments=[("retour.xml", _camt_return(rf(8), "500.00"), XML)]), days=2)
    assert await _state(inv) == (InvoiceStatus.SENT, 0)


async def test_a_camt_return_ac04_of_one_of_two_credits_leaves_the_invoice_partly_paid(
    any_db: str,
) -> None:
    alice = await _team()
    inv = await issued(7, await client("ACME SA", alice), alice, 1_200_00)
    credits = camt(
        "054", [Entry("700.00", [Tx("700.00", rf=rf(7))]), Entry("500.00", [Tx("500.00", rf=rf(7))])]
    )
    await _process(bank_mail(attachments=[("avis.xml", credits, XML)]))
    assert await _state(inv) == (InvoiceStatus.PAID, 1_200_00)
    await _process(bank_mail(attachments=[("retour.xml", _camt_return(rf(7), "500.00"), XML)]), days=2)
    assert await _state(inv) == (InvoiceStatus.PARTIALLY_PAID, 700_00)
    alert = (
        await Alert.filter(kind="payment_returned", user__name="alice")
        .first()
        .prefetch_related("rerouted_from")
    )
    assert alert is not None
    english, _ = render_alert(alert, "en")
    french, _ = render_alert(alert, "fr")
    assert "the account is closed (AC04)" in english and "compte clôturé (AC04)" in french


async def test_real_returns_tied_to_no_invoice_wait_for_a_human_with_an_alert(any_db: str) -> None:
    await _team()
    data = (SAMPLES / "camt/oca-test-camt053.xml").read_bytes()
    outcome = await _process(bank_mail(attachments=[("camt053.xml", data, XML)]), (OCA_ACCOUNT,))
    assert outcome.record.recorded == 4
    held = await Payment.filter(direction=PaymentDirection.REVERSAL).order_by("amount_cents")
    assert [(p.status, p.return_code) for p in held] == [(PaymentStatus.UNMATCHED, "AC06")] * 2
    alerts = await Alert.filter(kind="payment_held")
    assert {a.params["id"] for a in alerts} == {p.id for p in held}
    assert "tied to no invoice" in alerts[0].params["reason"]
    alert = await Alert.get(id=alerts[0].id).prefetch_related("rerouted_from")
    french, _ = render_alert(alert, "fr")
    assert "Un paiement retourné (AC06) rattaché à aucune facture" in french
    assert ".." not in french


# ---------------------------------------------------------------- batches


def _batch(amount: str, *refs: str) -> bytes:
    """One entry naming several invoices, without the transactions' amounts (the layout of
    samples/camt/genkgo-camt054.v2.xml)."""
    txs = "".join(
        "<TxDtls><RltdPties><Dbtr><Nm>ACME SA</Nm></Dbtr></RltdPties>"
        f"<RmtInf><Ustrd>{ref}</Ustrd></RmtInf></TxDtls>"
        for ref in refs
    )
    return (
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"><BkToCstmrDbtCdtNtfctn>'
        "<GrpHdr><MsgId>B1</MsgId><CreDtTm>2026-11-26T18:00:00</CreDtTm></GrpHdr>"
        f"<Ntfctn><Id>BN-1</Id><CreDtTm>2026-11-26T18:00:00</CreDtTm>"
        f"<Acct><Id><IBAN>{OUR_IBAN}</IBAN></Id></Acct>"
        f'<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>'
        "<BookgDt><Dt>2026-11-26</Dt></BookgDt><AcctSvcrRef>BATCH-20261126-1</AcctSvcrRef>"
        f"<NtryDtls><Btch><NbOfTxs>{len(refs)}</NbOfTxs></Btch>{txs}</NtryDtls></Ntry>"
        "</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>"
    ).encode()


async def test_a_batch_is_allocated_when_the_open_amounts_add_up_exactly(any_db: str) -> None:
    alice = await _team()
    acme = await client("ACME SA", alice)
    a, b = await issued(1, acme, alice, 1_200_00), await issued(2, acme, alice, 350_00)
    outcome = await _process(
        bank_mail(
            attachments=[("batch.xml", _batch("1550.00", "Facture F2026-00001", "Facture F2026-00002"), XML)]
        )
    )
    assert outcome.record.settled == 2
    assert [await _state(a), await _state(b)] == [
        (InvoiceStatus.PAID, 1_200_00),
        (InvoiceStatus.PAID, 350_00),
    ]
    payment = await Payment.get()
    assert (payment.matched_by, payment.surplus_cents) == ("batch", 0)
    assert "without their amounts" in (payment.note or "")


async def test_a_batch_that_does_not_add_up_waits_with_its_candidates_and_the_warning(
    any_db: str,
) -> None:
    alice = await _team()
    acme = await client("ACME SA", alice)
    a, b = await issued(1, acme, alice, 1_200_00), await issued(2, acme, alice, 350_00)
    await _process(
        bank_mail(
            attachments=[("batch.xml", _batch("1500.00", "Facture F2026-00001", "Facture F2026-00002"), XML)]
        )
    )
    assert [await _state(a), await _state(b)] == [(InvoiceStatus.ISSUED, 0)] * 2
    payment = await Payment.get()
    assert payment.status == PaymentStatus.UNMATCHED
    assert "F2026-00001" in payment.note and "F2026-00002" in payment.note
    assert "without their amounts" in payment.note
    assert [n["key"] for n in payment.notes] == [
        "paynote.batch_without_amounts",
        "paynote.invoices_do_not_add_up",
    ]
    alert = (
        await Alert.filter(kind="payment_unmatched", user__name="colin")
        .prefetch_related("rerouted_from")
        .first()
    )
    assert alert is not None and alert.params["note_msgs"] == payment.notes
    text, _ = render_alert(alert, "fr")
    assert "regroupe 2 opérations sans leurs montants" in text
    assert "F2026-00002 (émise, reste dû 350,00\xa0€)" in text


# ---------------------------------------------------------------- refused parts


async def test_a_refused_attachment_beside_a_settling_one_leaves_its_reason_and_one_alert(
    any_db: str,
) -> None:
    alice = await _team()
    inv = await issued(1, await client("ACME SA", alice), alice, 100_00)
    good = camt("054", [Entry("100.00", [Tx("100.00", rf=rf(1))])])
    dtd = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><Document>&a;</Document>'
    foreign = camt("054", [Entry("5.00", [Tx("5.00")])], account="DE89370400440532013000")
    raw = bank_mail(
        attachments=[
            ("avis.xml", good, XML),
            ("evil.xml", dtd, XML),
            ("other.xml", foreign, XML),
            ("photo.bin", b"\x00\x01", STA),
        ]
    )
    outcome = await _process(raw)
    assert outcome.kind == "processed" and outcome.record.settled == 1
    assert await _state(inv) == (InvoiceStatus.PAID, 100_00)
    row = await InboxMessage.get(status=InboxStatus.PROCESSED)
    assert "evil.xml" in row.reason and "DE89370400440532013000" in row.reason
    assert [k[0] for k in row.reasons] == [
        "mailparse.xml_dtd",
        "mailparse.unknown_format",
        "inbox.foreign_account",
    ]
    assert "photo.bin" in row.reason
    alerts = await Alert.filter(kind="mail_partly_read").prefetch_related("user", "rerouted_from")
    assert sorted(a.user.name for a in alerts) == ["mia", "root"]  # one each
    french, _ = render_alert(alerts[0], "fr")
    assert "evil.xml refusée" in french and "autre compte" in french


async def test_a_long_reason_is_cut_in_the_alert_and_kept_whole_on_the_row(any_db: str) -> None:
    await _team()
    names = [(f"statement-{i:03d}-with-a-rather-long-name.xml", b"<x>", XML) for i in range(40)]
    await _process(bank_mail(attachments=names))
    row = await InboxMessage.get()
    assert len(row.reason) > 2000
    alert = await Alert.filter(kind="mail_unrecognised").first().prefetch_related("rerouted_from")
    assert alert is not None and len(alert.params["reason"]) <= 300
    text, _ = render_alert(alert, "en")
    assert "/payments quarantine" in text and len(text) < 1000


# ---------------------------------------------------------------- small things


def test_an_encoded_subject_is_decoded() -> None:
    raw = (
        b"From: alertes@bank.example\r\nMessage-ID: <s1@bank>\r\n"
        b"Subject: =?utf-8?q?Avis_de_cr=C3=A9dit_n=C2=B0_42?=\r\n\r\nbody\r\n"
    )
    assert message_headers(raw)[2] == "Avis de crédit n° 42"


async def test_a_text_notification_naming_our_masked_account_settles(any_db: str) -> None:
    alice = await _team()
    inv = await issued(42, await client("ACME SA", alice), alice, 1_200_00)
    body = (
        "Bonjour,\n\nVous avez reçu un virement sur votre compte.\n"
        "Compte crédité : FR76 **** 0189\nMontant : 1 200,00 €\nÉmetteur : ACME SA\n"
        "Libellé : Facture F2026-00042\nDate d'opération : 26/11/2026\n" + "x" * 3000
    )
    raw = bank_mail(sender="alertes@banque-exemple.fr", text=body, subject="Virement reçu")
    outcome = await process_message(
        raw,
        folder="INBOX",
        uid=None,
        now=NOW,
        rules=rules(allowed_senders=("banque-exemple.fr",), company_ibans=(OUR_IBAN,)),
    )
    assert (outcome.kind, outcome.record.settled) == ("processed", 1)
    assert await _state(inv) == (InvoiceStatus.PAID, 1_200_00)
    payment = await Payment.get()
    assert payment.account == "FR76****0189"
    assert payment.remittance is not None and len(payment.remittance) <= 1000
    assert (await InboxMessage.get()).subject == "Virement reçu"


def test_a_masked_own_account_is_recognised_by_its_visible_parts() -> None:
    ours = [OUR_IBAN]
    assert account_is_ours("FR76 **** 0189", ours)
    assert account_is_ours("FR76XXXXXXXXXXXXXXXXXXX0189", ours)
    assert not account_is_ours("FR76 **** 0143", ours)
    assert not account_is_ours("**** 0189", ours)  # too little to tell
    assert not account_is_ours("DE89 **** 0189", ours)


# ---------------------------------------------------------------- through Dovecot (IMAP)


async def test_through_imap_a_resent_statement_and_the_next_days_record_two_payments(
    db: str,
    dovecot: DovecotMailbox,
    account: ImapAccount,
) -> None:
    alice = await _team()
    acme = await client("ACME SA", alice)
    a, b = await issued(1, acme, alice, 25_00), await issued(2, acme, alice, 25_00)
    day1 = rabobank(26, "F2026-00001")
    append(
        dovecot,
        bank_mail(attachments=[("rabo.sta", day1, STA)]),
        bank_mail(attachments=[("rabo.sta", day1, STA)], subject="Fwd: relevé"),
        bank_mail(attachments=[("rabo.sta", rabobank(27, "F2026-00002"), STA)]),
    )
    report = await imap_pass(account, our_rules())
    assert report.error is None and report.count("processed") == 3
    assert [o.record.recorded for o in report.outcomes if o.record] == [1, 0, 1]
    assert await Payment.all().count() == 2
    assert [await _state(a), await _state(b)] == [(InvoiceStatus.PAID, 25_00)] * 2
    assert (count(dovecot, "INBOX"), count(dovecot, "Processed")) == (0, 3)


async def test_through_imap_a_result_of_ours_written_inside_the_message_is_quarantined(
    db: str,
    dovecot: DovecotMailbox,
    account: ImapAccount,
) -> None:
    alice = await _team()
    inv = await issued(1, await client("ACME SA", alice), alice, 100_00)
    genuine = bank_mail(
        trusted=False,
        attachments=[("avis.xml", camt("054", [Entry("100.00", [Tx("100.00", rf=rf(1))])]), XML)],
    )
    # The forger's own header sits under the Received header our server added.
    head, _, rest = genuine.partition(b"\r\n\tby " + AUTHSERV.encode())
    line_end = rest.index(b"\r\n") + 2
    forged = (
        head
        + b"\r\n\tby "
        + AUTHSERV.encode()
        + rest[:line_end]
        + f"Authentication-Results: {AUTHSERV}; dkim=pass header.d=bank.example; "
        f"spf=pass smtp.mailfrom={BANK}\r\n".encode()
        + rest[line_end:]
    )
    append(dovecot, forged)
    report = await imap_pass(account, our_rules())
    assert report.count("quarantined") == 1
    assert await _state(inv) == (InvoiceStatus.ISSUED, 0)
    row = await InboxMessage.get(status=InboxStatus.QUARANTINED)
    assert row.reasons[0][0] == "trust.ar_forged"
    assert count(dovecot, "Quarantine") == 1
